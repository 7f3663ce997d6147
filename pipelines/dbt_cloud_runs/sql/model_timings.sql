-- Question: which models got slower? Per model and job: how often it ran and its median / p95 execution time over the
-- last 30 days, the median of the 30 days before, the change in percent, and how it ended last time.
-- A result is dated by its run's created_at (by its own execute/compile start when the run is not stored);
-- "now" is the start of the latest load (dbt_cloud.as_of). runs_30d counts executions that were not
-- skipped; the percentiles use successful executions only (an error stops early, a skip takes 0 s).
-- Percentiles are interpolated (quantile_cont), in seconds rounded to ms; change_pct is
-- 100 * (p50 30d - p50 previous 30d) / p50 previous 30d, NULL without a previous median.
-- Documents of commands that compile without building (docs generate, compile, show...) are left out: dbt
-- Cloud keeps the last step's run_results.json, and with "generate docs" on that step is `dbt docs generate`.
-- Lists the models that appeared in a run of the job in the last 30 days, slowest median first.
CREATE OR REPLACE VIEW dbt_cloud.model_timings AS
WITH results AS (
    SELECT
        coalesce(r.job_definition_id, rr.job_definition_id) AS job_id,
        coalesce(r.environment_id, rr.environment_id) AS environment_id,
        rr.run_id,
        rr.unique_id,
        rr.name AS model_name,
        rr.status,
        rr.execution_time,
        coalesce(r.created_at, rr.execute_started_at, rr.compile_started_at, rr.generated_at) AS run_at,
        n.as_of
    FROM dbt_cloud.run_results AS rr
    LEFT JOIN dbt_cloud.runs AS r ON r.id = rr.run_id
    CROSS JOIN dbt_cloud.as_of AS n
    WHERE rr.resource_type = 'model'
        AND coalesce(rr.command, '') NOT IN ('generate', 'compile', 'show', 'list', 'ls', 'parse')
),
windowed AS (
    SELECT
        *,
        run_at > as_of - INTERVAL 30 DAY AND run_at <= as_of AS in_30d,
        run_at > as_of - INTERVAL 60 DAY AND run_at <= as_of - INTERVAL 30 DAY AS in_prev_30d
    FROM results
    WHERE run_at <= as_of
),
per_model AS (
    SELECT
        job_id,
        unique_id,
        arg_max(model_name, run_at) AS model_name,
        arg_max(environment_id, run_at) AS last_environment_id,
        count(*) FILTER (WHERE in_30d) AS results_30d,
        count(*) FILTER (WHERE in_30d AND status IS DISTINCT FROM 'skipped') AS runs_30d,
        quantile_cont(execution_time, 0.5) FILTER (WHERE in_30d AND status = 'success') AS p50_30d,
        quantile_cont(execution_time, 0.95) FILTER (WHERE in_30d AND status = 'success') AS p95_30d,
        quantile_cont(execution_time, 0.5) FILTER (WHERE in_prev_30d AND status = 'success') AS p50_prev_30d,
        arg_max(status, run_at) AS last_status,
        max(run_at) AS last_run_at
    FROM windowed
    GROUP BY job_id, unique_id
)
SELECT
    m.job_id,
    j.name AS job_name,
    e.name AS environment_name,
    m.unique_id,
    m.model_name,
    m.runs_30d,
    round(m.p50_30d, 3) AS p50_execution_seconds_30d,
    round(m.p95_30d, 3) AS p95_execution_seconds_30d,
    m.last_status,
    m.last_run_at,
    round(m.p50_prev_30d, 3) AS p50_execution_seconds_prev_30d,
    CASE
        WHEN m.p50_prev_30d > 0 AND m.p50_30d IS NOT NULL
            THEN round(100.0 * (m.p50_30d - m.p50_prev_30d) / m.p50_prev_30d, 1)
    END AS change_pct
FROM per_model AS m
LEFT JOIN dbt_cloud.jobs AS j ON j.id = m.job_id
LEFT JOIN dbt_cloud.environments AS e ON e.id = coalesce(j.environment_id, m.last_environment_id)
WHERE m.results_30d > 0
ORDER BY m.p50_30d DESC NULLS LAST, m.job_id, m.unique_id;
