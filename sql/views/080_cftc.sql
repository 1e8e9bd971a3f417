-- The CFTC's monthly "Financial Data for FCMs" file set against the daily filings.
--
-- cftc_firms: each firm name of the file and the firm of the dimension it is (names keyed as in
-- 030_firms.sql: case, punctuation, accents, "Inc"/"Inc.", "&"/"and", expectations/firm_aliases.csv);
-- firm is NULL for a name no daily filing or alias knows.
--
-- cftc_reconciliation: every month-end figure of a firm the warehouse holds filings of in that month,
-- beside the same figure of its daily filing: the latest version (AMENDED first, then the later submit
-- date) of the filing for the last business day on or before the row's as-of date in its month
-- (cftc_as_of_days; month-ends fall on weekends and holidays). difference = daily_value - cftc_value;
-- daily_value is NULL where the firm filed that month but not that statement on that day. Measures:
--   requirement 7060 | 7360 | 8590     funds  7180 | 7770 (7370) | 8720
--   excess      7190 | 7380 | 8730     target 7194 | 7780 | 8760
-- A measure the file does not have (an earlier year's layout, or a blank cell) yields no row.
--
-- cftc_compared: cftc_reconciliation's rows with the id of the daily filing each was compared with (the
-- reconciliation check reads it, to name the filing a finding is about).
--
-- cftc_coverage: each firm in the file that holds customer funds (a required amount above zero) and
-- the number of business days in that month the warehouse holds its daily filings for (0 when none).

CREATE VIEW cftc_firms AS
SELECT c.cftc_firm, fk.firm
FROM (SELECT DISTINCT firm AS cftc_firm FROM cftc_fcm_monthly) c
JOIN firm_name_keys k ON k.name = c.cftc_firm
LEFT JOIN firm_keys fk ON fk.name_key = k.name_key;

CREATE VIEW cftc_compared AS
WITH matched AS (
    SELECT c.*, m.firm AS dimension_firm, d.business_day AS daily_end_date
    FROM cftc_fcm_monthly c
    JOIN cftc_firms m ON m.cftc_firm = c.firm
    LEFT JOIN cftc_as_of_days d ON d.as_of_date = coalesce(c.firm_as_of_date, c.as_of_date)
    WHERE m.firm IS NOT NULL
), figures AS (
    SELECT m.firm AS cftc_firm, m.dimension_firm AS firm, m.as_of_date, m.daily_end_date, x.statement, x.measure,
           CASE x.statement || ' ' || x.measure
               WHEN 'segregation requirement' THEN m.seg_required
               WHEN 'segregation funds' THEN m.seg_assets
               WHEN 'segregation excess' THEN m.seg_excess
               WHEN 'segregation target' THEN m.seg_target
               WHEN 'secured requirement' THEN m.secured_required
               WHEN 'secured funds' THEN m.secured_funds
               WHEN 'secured excess' THEN m.secured_excess
               WHEN 'secured target' THEN m.secured_target
               WHEN 'swaps requirement' THEN m.swaps_required
               WHEN 'swaps funds' THEN m.swaps_funds
               WHEN 'swaps excess' THEN m.swaps_excess
               WHEN 'swaps target' THEN m.swaps_target
           END AS cftc_value
    FROM matched m
    CROSS JOIN (VALUES ('segregation', 'requirement'), ('segregation', 'funds'), ('segregation', 'excess'),
                       ('segregation', 'target'), ('secured', 'requirement'), ('secured', 'funds'),
                       ('secured', 'excess'), ('secured', 'target'), ('swaps', 'requirement'),
                       ('swaps', 'funds'), ('swaps', 'excess'), ('swaps', 'target')) AS x(statement, measure)
    WHERE EXISTS (SELECT 1 FROM firm_months fm
                  WHERE fm.firm = m.dimension_firm
                    AND fm.month = CAST(date_trunc('month', m.daily_end_date) AS DATE))
), compared AS (
    SELECT f.*, s.filing_id AS daily_filing_id,
           CASE f.measure
               WHEN 'requirement' THEN s.requirement
               WHEN 'funds' THEN s.funds
               WHEN 'excess' THEN s.excess
               WHEN 'target' THEN s.target
           END AS daily_value
    FROM figures f
    LEFT JOIN firm_statements s ON s.firm = f.firm AND s.end_date = f.daily_end_date AND s.statement = f.statement
    WHERE f.cftc_value IS NOT NULL
)
SELECT cftc_firm, firm, as_of_date, daily_end_date, statement, measure, cftc_value, daily_value,
       daily_value - cftc_value AS difference, daily_filing_id
FROM compared;

CREATE VIEW cftc_reconciliation AS
SELECT cftc_firm, firm, as_of_date, daily_end_date, statement, measure, cftc_value, daily_value, difference
FROM cftc_compared;

CREATE VIEW cftc_coverage AS
SELECT c.as_of_date, c.firm AS cftc_firm, m.firm, c.seg_required, c.secured_required, c.swaps_required,
       coalesce(fm.daily_filings, 0) AS daily_filings
FROM cftc_fcm_monthly c
LEFT JOIN cftc_firms m ON m.cftc_firm = c.firm
LEFT JOIN firm_months fm ON fm.firm = m.firm AND fm.month = CAST(date_trunc('month', c.as_of_date) AS DATE)
WHERE coalesce(c.seg_required, 0) > 0 OR coalesce(c.secured_required, 0) > 0 OR coalesce(c.swaps_required, 0) > 0;
