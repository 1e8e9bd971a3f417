-- Reference data the analyst views join to, loaded from the reviewed files in expectations/ each time
-- their content changes (like dbt seeds): the line-item catalog and the firm-name aliases.

CREATE TABLE IF NOT EXISTS form_lines (
    statement      VARCHAR(12)  NOT NULL,             -- segregation | secured | swaps | cover
    line           VARCHAR(12)  NOT NULL,
    code           VARCHAR(4)   NOT NULL,
    label          VARCHAR      NOT NULL,
    sign           VARCHAR(8),                        -- positive | negative | either
    location       VARCHAR(20),                       -- where the money sits (fund lines only)
    required_from  DATE,
    required_to    DATE
);

CREATE TABLE IF NOT EXISTS firm_aliases (
    alias          VARCHAR      NOT NULL,             -- a name a firm filed under
    firm           VARCHAR      NOT NULL              -- the one name the analyst views use for it
);
