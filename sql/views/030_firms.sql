-- The firm dimension. A firm is known by the name it files under, which drifts: case, punctuation,
-- "&" or "and", a conversion to an LLC, a merger. Names that differ only in case, punctuation and
-- spacing are one firm automatically; expectations/firm_aliases.csv (table firm_aliases) folds the
-- rest. Where no alias applies, the firm is called by the spelling it used most recently.

CREATE VIEW firm_names AS
WITH filed AS (
    SELECT firm AS firm_as_filed, min(end_date) AS first_filed, max(end_date) AS last_filed,
           count(*) AS n_filings,
           trim(regexp_replace(regexp_replace(upper(replace(firm, '&', ' AND ')), '[^A-Z0-9 ]', '', 'g'),
                               ' +', ' ', 'g')) AS name_key
    FROM filings
    GROUP BY firm
), alias_keys AS (
    SELECT DISTINCT trim(regexp_replace(regexp_replace(upper(replace(name, '&', ' AND ')), '[^A-Z0-9 ]', '', 'g'),
                                        ' +', ' ', 'g')) AS name_key, firm
    FROM (SELECT alias AS name, firm FROM firm_aliases UNION ALL SELECT firm AS name, firm FROM firm_aliases) names
)
SELECT f.firm_as_filed,
       coalesce(a.firm, first_value(f.firm_as_filed) OVER (
           PARTITION BY f.name_key ORDER BY f.last_filed DESC, f.firm_as_filed)) AS firm,
       f.name_key, f.first_filed, f.last_filed, f.n_filings
FROM filed f
LEFT JOIN alias_keys a ON a.name_key = f.name_key;

CREATE VIEW firms AS
SELECT firm,
       count(*) AS n_names,
       string_agg(firm_as_filed, ' | ' ORDER BY firm_as_filed) AS names_filed,
       min(first_filed) AS first_filed,
       max(last_filed) AS last_filed,
       CAST(sum(n_filings) AS BIGINT) AS n_filings
FROM firm_names
GROUP BY firm;

-- The latest version of each (firm, end date, statement) with firms folded: the same order as
-- latest_statements (AMENDED first, then the later submit date, more values, larger filing_id), over
-- every name the firm filed under, so when one firm filed a day under two names the newer one wins.
CREATE VIEW firm_statements AS
SELECT filing_id, firm, firm_as_filed, end_date, submit_date, status, statement,
       requirement, funds, excess, target, excess_over_target
FROM (
    SELECT fs.filing_id, n.firm, fs.firm AS firm_as_filed, fs.end_date, fs.submit_date, fs.status, fs.statement,
           fs.requirement, fs.funds, fs.excess, fs.target, fs.excess_over_target,
           row_number() OVER (
               PARTITION BY n.firm, fs.end_date, fs.statement
               ORDER BY CASE WHEN fs.status = 'AMENDED' THEN 1 ELSE 0 END DESC,
                        fs.submit_date DESC NULLS LAST,
                        fs.n_values DESC,
                        fs.filing_id DESC
           ) AS version_rank
    FROM filing_statements fs
    JOIN firm_names n ON n.firm_as_filed = fs.firm
    WHERE fs.statement <> 'cover'
) ranked
WHERE version_rank = 1;
