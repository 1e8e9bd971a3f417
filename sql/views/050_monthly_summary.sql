-- Month-end figures in the shape of the CFTC's monthly "Financial Data for FCMs", from the daily
-- filings: for each firm and month, each account class's last filing of the month (as_of_* says
-- which day that was; it is the month's last business day unless the firm did not file then).
--   seg_assets 7180, seg_required 7060, seg_excess 7190, seg_target_residual_interest 7194
--   secured_funds 7770 (7370), secured_required 7360, secured_excess 7380
--   swaps_funds 8720, swaps_required 8590, swaps_excess 8730

CREATE VIEW monthly_summary AS
WITH month_end AS (
    SELECT t.*, CAST(date_trunc('month', t.end_date) AS DATE) AS month,
           row_number() OVER (PARTITION BY t.firm, t.statement, CAST(date_trunc('month', t.end_date) AS DATE)
                              ORDER BY t.end_date DESC) AS from_end
    FROM excess_trend t
)
SELECT firm, month,
       max(end_date) AS as_of,
       max(funds) FILTER (WHERE statement = 'segregation') AS seg_assets,
       max(requirement) FILTER (WHERE statement = 'segregation') AS seg_required,
       max(excess) FILTER (WHERE statement = 'segregation') AS seg_excess,
       max(target) FILTER (WHERE statement = 'segregation') AS seg_target_residual_interest,
       max(funds) FILTER (WHERE statement = 'secured') AS secured_funds,
       max(requirement) FILTER (WHERE statement = 'secured') AS secured_required,
       max(excess) FILTER (WHERE statement = 'secured') AS secured_excess,
       max(funds) FILTER (WHERE statement = 'swaps') AS swaps_funds,
       max(requirement) FILTER (WHERE statement = 'swaps') AS swaps_required,
       max(excess) FILTER (WHERE statement = 'swaps') AS swaps_excess,
       max(end_date) FILTER (WHERE statement = 'segregation') AS as_of_segregation,
       max(end_date) FILTER (WHERE statement = 'secured') AS as_of_secured,
       max(end_date) FILTER (WHERE statement = 'swaps') AS as_of_swaps
FROM month_end
WHERE from_end = 1
GROUP BY firm, month;
