-- The newest version of each (firm, end date, statement): AMENDED over INITIAL, then the later submit
-- date, whatever order the files arrived in. Between two files with the same status and submit date
-- the one with more values wins (a truncated copy never hides a complete one), then the larger
-- filing_id, so the answer never depends on load order. Each row carries the statement's headline
-- figures (requirement, funds, excess, target, excess over target; NULL for the cover page). Values keep
-- the PDF page they are printed on (NULL for text and HTML filings).

CREATE VIEW latest_statements AS
SELECT filing_id, firm, end_date, submit_date, status, statement, n_values,
       requirement, funds, excess, target, excess_over_target
FROM (
    SELECT fs.*,
           row_number() OVER (
               PARTITION BY firm, end_date, statement
               ORDER BY CASE WHEN status = 'AMENDED' THEN 1 ELSE 0 END DESC,
                        submit_date DESC NULLS LAST,
                        n_values DESC,
                        filing_id DESC
           ) AS version_rank
    FROM filing_statements fs
) ranked
WHERE version_rank = 1;

CREATE VIEW seg_values_latest AS
SELECT v.filing_id, v.firm, v.end_date, v.submit_date, v.status, v.statement, v.line, v.label, v.code, v.value,
       v.page
FROM seg_values v
JOIN latest_statements l ON l.filing_id = v.filing_id AND l.statement = v.statement;
