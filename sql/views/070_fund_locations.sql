-- Where customer funds sit, per firm, End Date and account class: the fund lines of the latest
-- filings summed by the location the catalog gives them (expectations/line_items.csv, column
-- location): bank, clearing_org, other_fcm, foreign_broker, other_depository, options (open option
-- values held for customers), on_hand. share_pct is the location's share of the lines' sum.

CREATE VIEW fund_locations AS
WITH by_location AS (
    SELECT v.filing_id, v.statement, l.location, sum(v.value) AS amount, count(v.value) AS n_lines
    FROM seg_values v
    JOIN (SELECT DISTINCT statement, code, location FROM form_lines WHERE location IS NOT NULL) l
      ON l.statement = v.statement AND l.code = v.code
    GROUP BY v.filing_id, v.statement, l.location
)
SELECT s.firm, s.end_date, s.statement, b.location,
       CAST(b.amount AS BIGINT) AS amount,
       b.n_lines,
       CAST(100.0 * b.amount / nullif(sum(b.amount) OVER (PARTITION BY s.firm, s.end_date, s.statement), 0)
            AS FLOAT8) AS share_pct
FROM firm_statements s
JOIN by_location b ON b.filing_id = s.filing_id AND b.statement = s.statement;
