-- Question: how much did each job run each day, and how did it go? One row per UTC day (of created_at)
-- and job, for days with runs: counts by outcome, and minutes spent running and waiting in the queue.
CREATE OR REPLACE VIEW dbt_cloud.daily_runs AS
SELECT
    CAST(created_at AT TIME ZONE 'UTC' AS DATE) AS day,
    job_definition_id AS job_id,
    max(job_name) AS job_name,
    max(project_name) AS project_name,
    max(environment_name) AS environment_name,
    count(*) AS runs,
    count(*) FILTER (WHERE status = 10) AS successes,
    count(*) FILTER (WHERE status = 20) AS errors,
    count(*) FILTER (WHERE status = 30) AS cancellations,
    coalesce(sum(run_seconds), 0) / 60.0 AS run_minutes,
    coalesce(sum(queued_seconds), 0) / 60.0 AS queued_minutes
FROM dbt_cloud.runs_enriched
GROUP BY 1, 2;
