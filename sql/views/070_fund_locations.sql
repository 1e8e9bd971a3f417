-- Where customer funds sit, per firm, End Date and account class: the fund lines of the latest
-- filings summed by the location the catalog gives them (expectations/line_items.csv, column
-- location): bank, clearing_org, other_fcm, foreign_broker, other_depository, options (open option
-- values held for customers), on_hand. share_pct is the location's share of the lines' sum.
-- Filter it by firm or End Date (it is computed from the values of the statements asked for).

CREATE VIEW fund_locations AS
SELECT s.firm, s.end_date, s.statement, l.location,
       CAST(sum(v.value) AS BIGINT) AS amount,
       count(v.value) AS n_lines,
       CAST(100.0 * sum(v.value) / nullif(sum(sum(v.value)) OVER (PARTITION BY s.firm, s.end_date, s.statement), 0)
            AS FLOAT8) AS share_pct
FROM firm_statements s
JOIN seg_values v ON v.filing_id = s.filing_id AND v.statement = s.statement
JOIN (SELECT DISTINCT statement, code, location FROM form_lines WHERE location IS NOT NULL) l
  ON l.statement = v.statement AND l.code = v.code
GROUP BY s.firm, s.end_date, s.statement, l.location;
