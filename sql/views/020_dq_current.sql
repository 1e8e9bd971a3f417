-- The findings that stand now: for each End Date, the results of the most recent completed run that
-- covered it (an AMENDED filing that fixed a break, validated again, no longer shows it).

CREATE VIEW dq_current AS
SELECT r.*
FROM dq_results r
JOIN dq_runs u ON u.run_id = r.run_id AND u.status = 'completed'
WHERE NOT EXISTS (
    SELECT 1 FROM dq_runs later
    WHERE later.status = 'completed'
      AND later.started_at > u.started_at
      AND (later.date_from IS NULL OR r.end_date >= later.date_from)
      AND (later.date_to IS NULL OR r.end_date <= later.date_to)
);
