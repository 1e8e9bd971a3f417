-- Which firms hold most of the industry's customer funds, and is that changing? The ten largest
-- firms by share of the segregation requirement on the newest day, beside their share a year
-- earlier (the nearest earlier day on which both were filed), largest first.
WITH newest AS (
    SELECT max(end_date) AS day FROM firm_share_daily WHERE statement = 'segregation'
), year_before AS (
    SELECT max(end_date) AS day FROM firm_share_daily, newest
    WHERE statement = 'segregation' AND end_date <= CAST(newest.day - INTERVAL '1 year' AS DATE)
)
SELECT n.firm, n.size_rank, round(CAST(n.share_pct AS DECIMAL(38, 10)), 2) AS share_pct,
       round(CAST(y.share_pct AS DECIMAL(38, 10)), 2) AS share_pct_year_before,
       round(CAST(n.share_pct - y.share_pct AS DECIMAL(38, 10)), 2) AS change_pts,
       n.requirement
FROM firm_share_daily n
JOIN newest ON n.end_date = newest.day
LEFT JOIN year_before ON TRUE
LEFT JOIN firm_share_daily y ON y.firm = n.firm AND y.statement = 'segregation' AND y.end_date = year_before.day
WHERE n.statement = 'segregation' AND n.size_rank <= 10
ORDER BY n.size_rank, n.firm;
