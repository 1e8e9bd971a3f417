-- Where do firms hold customer money? For each firm's latest segregation statement: the share of
-- segregated funds at banks, clearing organizations, other FCMs, in open options and on hand.
WITH latest AS (
    SELECT firm, max(end_date) AS end_date FROM firm_statements WHERE statement = 'segregation' GROUP BY firm
)
SELECT f.firm, f.end_date,
       sum(f.amount) AS total,
       round(CAST(sum(f.share_pct) FILTER (WHERE f.location = 'bank') AS DECIMAL(38, 10)), 1) AS bank_pct,
       round(CAST(sum(f.share_pct) FILTER (WHERE f.location = 'clearing_org') AS DECIMAL(38, 10)), 1) AS clearing_org_pct,
       round(CAST(sum(f.share_pct) FILTER (WHERE f.location = 'other_fcm') AS DECIMAL(38, 10)), 1) AS other_fcm_pct,
       round(CAST(sum(f.share_pct) FILTER (WHERE f.location = 'options') AS DECIMAL(38, 10)), 1) AS options_pct,
       round(CAST(sum(f.share_pct) FILTER (WHERE f.location = 'on_hand') AS DECIMAL(38, 10)), 1) AS on_hand_pct
FROM fund_locations f
JOIN latest l ON l.firm = f.firm AND l.end_date = f.end_date
WHERE f.statement = 'segregation'
GROUP BY f.firm, f.end_date
ORDER BY total DESC, f.firm;
