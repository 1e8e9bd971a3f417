-- Every day a firm held less than it owed customers (excess below zero), newest first, with the
-- requirement, the shortfall as a share of it, the day before and the filing to look at.
SELECT t.end_date, t.firm, t.statement, t.requirement, t.funds, t.excess,
       round(CAST(t.excess_pct AS DECIMAL(38, 10)), 2) AS excess_pct,
       t.previous_end_date, t.excess - t.excess_change AS previous_excess,
       t.filing_id, f.source_path
FROM excess_trend t
JOIN filings f ON f.filing_id = t.filing_id
WHERE t.deficiency
ORDER BY t.end_date DESC, t.firm, t.statement;
