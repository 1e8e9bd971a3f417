-- What did the CFTC's month-end file not show? Per firm, account class and month: the excess % on
-- the month's last filing (what the monthly file reports) beside the lowest excess % during the
-- month, and the days below target or in deficiency that the month-end figure hides. Months where
-- the low point was well below the month-end come first.
WITH days AS (
    SELECT t.*, CAST(date_trunc('month', t.end_date) AS DATE) AS month,
           row_number() OVER (PARTITION BY t.firm, t.statement, CAST(date_trunc('month', t.end_date) AS DATE)
                              ORDER BY t.end_date DESC) AS from_end
    FROM excess_trend t
    WHERE t.requirement > 0
)
SELECT firm, statement, month,
       max(end_date) AS month_end,
       round(CAST(max(excess_pct) FILTER (WHERE from_end = 1) AS DECIMAL(38, 10)), 2) AS month_end_pct,
       round(CAST(min(excess_pct) AS DECIMAL(38, 10)), 2) AS lowest_pct,
       round(CAST(max(excess_pct) FILTER (WHERE from_end = 1) - min(excess_pct) AS DECIMAL(38, 10)), 2) AS hidden_dip_pts,
       count(*) FILTER (WHERE below_target AND from_end > 1) AS hidden_below_target_days,
       count(*) FILTER (WHERE deficiency AND from_end > 1) AS hidden_deficiency_days
FROM days
GROUP BY firm, statement, month
ORDER BY hidden_deficiency_days DESC, hidden_below_target_days DESC, hidden_dip_pts DESC, firm, statement, month;
