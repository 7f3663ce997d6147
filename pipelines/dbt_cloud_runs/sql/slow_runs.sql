-- Question: which jobs got slower? Jobs whose median successful run time in the last 7 days is at least
-- 1.5x their median over the 4 weeks before. Windows on created_at: this week (as_of - 7 days, as_of],
-- previous weeks (as_of - 35 days, as_of - 7 days]; only Success runs count, and a job needs at least 3
-- of them in each window. slowdown_ratio = p50 this week / p50 previous weeks; slowest first.
CREATE OR REPLACE VIEW dbt_cloud.slow_runs AS
WITH now AS (
    SELECT as_of FROM dbt_cloud.as_of
),
windows AS (
    SELECT
        r.job_definition_id AS job_id,
        count(*) FILTER (WHERE r.created_at > n.as_of - INTERVAL 7 DAY) AS runs_this_week,
        quantile_cont(r.run_seconds, 0.5) FILTER (WHERE r.created_at > n.as_of - INTERVAL 7 DAY)
            AS p50_run_seconds_this_week,
        count(*) FILTER (WHERE r.created_at <= n.as_of - INTERVAL 7 DAY) AS runs_previous_weeks,
        quantile_cont(r.run_seconds, 0.5) FILTER (WHERE r.created_at <= n.as_of - INTERVAL 7 DAY)
            AS p50_run_seconds_previous_weeks
    FROM dbt_cloud.runs_enriched AS r
    CROSS JOIN now AS n
    WHERE r.status = 10
        AND r.run_seconds IS NOT NULL
        AND r.created_at > n.as_of - INTERVAL 35 DAY
        AND r.created_at <= n.as_of
    GROUP BY 1
)
SELECT
    w.job_id,
    j.name AS job_name,
    p.name AS project_name,
    e.name AS environment_name,
    w.runs_this_week,
    w.p50_run_seconds_this_week,
    w.runs_previous_weeks,
    w.p50_run_seconds_previous_weeks,
    w.p50_run_seconds_this_week / nullif(w.p50_run_seconds_previous_weeks, 0) AS slowdown_ratio
FROM windows AS w
LEFT JOIN dbt_cloud.jobs AS j ON j.id = w.job_id
LEFT JOIN dbt_cloud.projects AS p ON p.id = j.project_id
LEFT JOIN dbt_cloud.environments AS e ON e.id = j.environment_id
WHERE w.runs_this_week >= 3
    AND w.runs_previous_weeks >= 3
    AND w.p50_run_seconds_this_week >= 1.5 * w.p50_run_seconds_previous_weeks
ORDER BY slowdown_ratio DESC, w.job_id;
