-- The firm dimension. A firm is known by the name it files under, which drifts: case, punctuation,
-- accents, "&" or "and", a conversion to an LLC, a merger. Names that differ only in case, punctuation,
-- accents and spacing share a name key and are one firm automatically; expectations/firm_aliases.csv
-- (table firm_aliases) folds the rest. Where no alias applies, the firm is called by the spelling it
-- used most recently. The names of the CFTC's monthly file are keyed the same way, so they find their
-- firm too.

-- Every name the warehouse knows (filed, in the aliases file, in the CFTC file) and its name key.
CREATE VIEW firm_name_keys AS
SELECT name,
       trim(regexp_replace(regexp_replace(upper(translate(replace(name, '&', ' AND '),
                                                          'àáâãäåçèéêëìíîïñòóôõöøùúûüýÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ',
                                                          'aaaaaaceeeeiiiinoooooouuuuyAAAAAACEEEEIIIINOOOOOOUUUUY')),
                                          '[^A-Z0-9 ]', '', 'g'), ' +', ' ', 'g')) AS name_key
FROM (SELECT firm AS name FROM filings GROUP BY firm  -- grouped first: the planner then knows how few there are
      UNION SELECT alias FROM firm_aliases
      UNION SELECT firm FROM firm_aliases
      UNION SELECT firm FROM cftc_fcm_monthly GROUP BY firm) names;

-- The firm each name key stands for: an alias's firm, else the most recent spelling filed under the key.
CREATE VIEW firm_keys AS
WITH filed AS (
    SELECT firm, max(end_date) AS last_filed FROM filings GROUP BY firm
), aliased AS (
    SELECT k.name_key, min(a.firm) AS firm
    FROM firm_aliases a
    JOIN firm_name_keys k ON k.name = a.alias OR k.name = a.firm
    GROUP BY k.name_key
), spelled AS (
    SELECT name_key, firm
    FROM (SELECT k.name_key, f.firm,
                 row_number() OVER (PARTITION BY k.name_key ORDER BY f.last_filed DESC, f.firm) AS recency
          FROM filed f
          JOIN firm_name_keys k ON k.name = f.firm) ranked
    WHERE recency = 1
)
SELECT coalesce(a.name_key, s.name_key) AS name_key, coalesce(a.firm, s.firm) AS firm
FROM aliased a
FULL JOIN spelled s ON s.name_key = a.name_key;

CREATE VIEW firm_names AS
WITH filed AS (
    SELECT firm AS firm_as_filed, min(end_date) AS first_filed, max(end_date) AS last_filed,
           count(*) AS n_filings
    FROM filings
    GROUP BY firm
)
SELECT f.firm_as_filed, fk.firm, k.name_key, f.first_filed, f.last_filed, f.n_filings
FROM filed f
JOIN firm_name_keys k ON k.name = f.firm_as_filed
JOIN firm_keys fk ON fk.name_key = k.name_key;

CREATE VIEW firms AS
SELECT firm,
       count(*) AS n_names,
       string_agg(firm_as_filed, ' | ' ORDER BY firm_as_filed) AS names_filed,
       min(first_filed) AS first_filed,
       max(last_filed) AS last_filed,
       CAST(sum(n_filings) AS BIGINT) AS n_filings
FROM firm_names
GROUP BY firm;

-- The business days each firm filed for, per month (amendments not counted twice).
CREATE VIEW firm_months AS
SELECT n.firm, CAST(date_trunc('month', f.end_date) AS DATE) AS month, count(DISTINCT f.end_date) AS daily_filings
FROM filings f
JOIN firm_names n ON n.firm_as_filed = f.firm
GROUP BY n.firm, CAST(date_trunc('month', f.end_date) AS DATE);

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
