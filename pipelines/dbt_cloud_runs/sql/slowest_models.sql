-- Question: where does the warehouse time go? Models ranked by their total execution time over the last 7 days, per
-- job (a model built by two jobs is listed once per job); skipped executions are not counted.
-- A result is dated by its run's created_at (by its own execute/compile start when the run is not stored);
-- "now" is the start of the latest load (dbt_cloud.as_of). Seconds are rounded to ms. Documents of commands
-- that compile without building (docs generate, compile, show...) are left out: those are compile times.
-- rank 1 is the largest total; ties share a rank. Filter with WHERE rank <= 20 for a top list.
CREATE OR REPLACE VIEW dbt_cloud.slowest_models AS
WITH results AS (
    SELECT
        coalesce(r.job_definition_id, rr.job_definition_id) AS job_id,
        rr.unique_id,
        rr.name AS model_name,
        rr.execution_time,
        coalesce(r.created_at, rr.execute_started_at, rr.compile_started_at, rr.generated_at) AS run_at
    FROM dbt_cloud.run_results AS rr
    LEFT JOIN dbt_cloud.runs AS r ON r.id = rr.run_id
    CROSS JOIN dbt_cloud.as_of AS n
    WHERE rr.resource_type = 'model'
        AND coalesce(rr.command, '') NOT IN ('generate', 'compile', 'show', 'list', 'ls', 'parse')
        AND rr.status IS DISTINCT FROM 'skipped'
        AND coalesce(r.created_at, rr.execute_started_at, rr.compile_started_at, rr.generated_at)
            > n.as_of - INTERVAL 7 DAY
        AND coalesce(r.created_at, rr.execute_started_at, rr.compile_started_at, rr.generated_at) <= n.as_of
),
per_model AS (
    SELECT
        job_id,
        unique_id,
        arg_max(model_name, run_at) AS model_name,
        count(*) AS runs_7d,
        coalesce(sum(execution_time), 0) AS total_seconds,
        avg(execution_time) AS avg_seconds,
        max(execution_time) AS max_seconds
    FROM results
    GROUP BY job_id, unique_id
)
SELECT
    rank() OVER (ORDER BY m.total_seconds DESC) AS rank,
    m.unique_id,
    m.model_name,
    m.job_id,
    j.name AS job_name,
    m.runs_7d,
    round(m.total_seconds, 3) AS total_execution_seconds_7d,
    round(m.avg_seconds, 3) AS avg_execution_seconds_7d,
    round(m.max_seconds, 3) AS max_execution_seconds_7d
FROM per_model AS m
LEFT JOIN dbt_cloud.jobs AS j ON j.id = m.job_id
ORDER BY rank, m.job_id, m.unique_id;
