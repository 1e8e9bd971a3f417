-- Which firms ran close to or below their own management target, or below zero, and how often?
-- Over the last year: days in deficiency, days below target, and days within 10% above target
-- ("close"), per firm and account class, worst first. Targets are on the form from 2015.
SELECT firm, statement,
       count(*) AS days,
       count(*) FILTER (WHERE deficiency) AS deficiency_days,
       count(*) FILTER (WHERE below_target) AS below_target_days,
       count(*) FILTER (WHERE NOT deficiency AND excess_over_target >= 0
                          AND excess_over_target < 0.1 * target) AS close_to_target_days,
       min(excess_over_target) AS worst_excess_over_target,
       min(end_date) FILTER (WHERE below_target OR deficiency) AS first_bad_day,
       max(end_date) FILTER (WHERE below_target OR deficiency) AS last_bad_day
FROM excess_trend
WHERE end_date > CAST((SELECT max(end_date) FROM excess_trend) - INTERVAL '1 year' AS DATE)
  AND target IS NOT NULL
GROUP BY firm, statement
ORDER BY deficiency_days DESC, below_target_days DESC, close_to_target_days DESC, firm, statement;
