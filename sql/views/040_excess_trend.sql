-- Excess over time: one row per firm, End Date and account class, from the latest filings.
--   requirement  7060 | 7360 | 8590          funds   7180 | 7770 (7370 in the summary era) | 8720
--   excess       7190 | 7380 | 8730          target  7194 | 7780 | 8760 (management target, from 2015)
--   excess_over_target as filed (7198 | 7785 | 8770), or excess - target where it was not filed
-- deficiency: excess below zero; below_target: excess not negative but under the management target
-- (NULL where no target was filed, as before 2015).
-- The figures are the statement rows' own (filing_statements, filled from the lines the catalog's
-- figure column names).
-- excess_pct is 100 * excess / requirement (NULL when the requirement is 0). excess_change is the
-- change from the firm's previous filing day (previous_end_date); the rolling figures cover the
-- firm's last 20 filing days (business days on which it filed), this one included.

CREATE VIEW excess_trend AS
WITH latest AS (
    SELECT firm, end_date, statement, filing_id, requirement, funds, excess, target,
           excess_over_target AS filed_over_target
    FROM firm_statements
)
SELECT firm, end_date, statement, filing_id, requirement, funds, excess,
       CASE WHEN requirement <> 0 THEN CAST(100.0 * excess / requirement AS FLOAT8) END AS excess_pct,
       target,
       coalesce(filed_over_target, excess - target) AS excess_over_target,
       excess < 0 AS deficiency,
       excess >= 0 AND coalesce(filed_over_target, excess - target) < 0 AS below_target,
       lag(end_date) OVER (PARTITION BY firm, statement ORDER BY end_date) AS previous_end_date,
       excess - lag(excess) OVER (PARTITION BY firm, statement ORDER BY end_date) AS excess_change,
       CAST(avg(excess) OVER (PARTITION BY firm, statement ORDER BY end_date
                              ROWS BETWEEN 19 PRECEDING AND CURRENT ROW) AS FLOAT8) AS excess_mean_20d,
       min(excess) OVER (PARTITION BY firm, statement ORDER BY end_date
                         ROWS BETWEEN 19 PRECEDING AND CURRENT ROW) AS excess_min_20d
FROM latest;
