-- Second database and roles for the production stack: Airflow's metadata lives in "airflow", the
-- warehouse in "dailyseg" (loader role writes, analyst role reads the views).
CREATE ROLE dailyseg LOGIN PASSWORD 'dailyseg';
CREATE DATABASE dailyseg OWNER dailyseg;
