-- The industry per day and account class. firm_share_daily: each firm's share of the day's total
-- requirement (what FCMs owe customers) and its size rank. industry_daily: totals across the firms
-- that filed that day, excess as a share of the total requirement, and concentration: the
-- Herfindahl-Hirschman index of requirement shares (0-10,000; above 2,500 is "highly concentrated"
-- in the antitrust agencies' terms) and the shares of the five and ten largest firms.

CREATE VIEW firm_share_daily AS
SELECT firm, end_date, statement, requirement, funds, excess,
       CAST(100.0 * requirement / nullif(sum(requirement) OVER (PARTITION BY end_date, statement), 0)
            AS FLOAT8) AS share_pct,
       rank() OVER (PARTITION BY end_date, statement ORDER BY requirement DESC) AS size_rank
FROM excess_trend
WHERE requirement IS NOT NULL;

CREATE VIEW industry_daily AS
SELECT end_date, statement,
       count(*) AS n_firms,
       CAST(sum(requirement) AS BIGINT) AS total_requirement,
       CAST(sum(funds) AS BIGINT) AS total_funds,
       CAST(sum(excess) AS BIGINT) AS total_excess,
       CAST(100.0 * sum(excess) / nullif(sum(requirement), 0) AS FLOAT8) AS excess_pct,
       CAST(sum(share_pct * share_pct) AS FLOAT8) AS hhi,
       CAST(coalesce(sum(share_pct) FILTER (WHERE size_rank <= 5), 0) AS FLOAT8) AS top5_share_pct,
       CAST(coalesce(sum(share_pct) FILTER (WHERE size_rank <= 10), 0) AS FLOAT8) AS top10_share_pct,
       count(*) FILTER (WHERE excess < 0) AS n_deficient
FROM firm_share_daily
GROUP BY end_date, statement;
