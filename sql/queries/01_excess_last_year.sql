-- How has each firm's excess moved over the last year, in dollars and as a share of what it owes?
-- One row per firm and account class: first and latest excess in the year to the newest End Date in
-- the warehouse, the change, and the lowest, average and highest excess %.
WITH recent AS (
    SELECT * FROM excess_trend
    WHERE end_date > CAST((SELECT max(end_date) FROM excess_trend) - INTERVAL '1 year' AS DATE)
      AND requirement > 0
), ends AS (
    SELECT firm, statement,
           min(end_date) AS first_day, max(end_date) AS last_day,
           min(excess_pct) AS lowest_pct, avg(excess_pct) AS average_pct, max(excess_pct) AS highest_pct,
           count(*) AS days
    FROM recent
    GROUP BY firm, statement
)
SELECT e.firm, e.statement, e.first_day, e.last_day, e.days,
       f.excess AS first_excess, l.excess AS last_excess, l.excess - f.excess AS change,
       round(CAST(e.lowest_pct AS DECIMAL(38, 10)), 2) AS lowest_pct,
       round(CAST(e.average_pct AS DECIMAL(38, 10)), 2) AS average_pct,
       round(CAST(e.highest_pct AS DECIMAL(38, 10)), 2) AS highest_pct
FROM ends e
JOIN recent f ON f.firm = e.firm AND f.statement = e.statement AND f.end_date = e.first_day
JOIN recent l ON l.firm = e.firm AND l.statement = e.statement AND l.end_date = e.last_day
ORDER BY e.statement, e.lowest_pct, e.firm;
