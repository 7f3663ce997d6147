-- Question: what happened in each run, in words? One row per run with its job, project and
-- environment names, status name, trigger, and queue and run times in seconds.
-- queued_seconds = started_at - created_at (waiting plus preparation; NULL until started);
-- run_seconds = finished_at - started_at (NULL until finished, or for runs cancelled before starting).
-- A run whose job, project or environment is unknown still appears, with NULL names. job_deleted is
-- true when the job is deleted in dbt Cloud: its state is 2 (jobs are listed in every state, so even a
-- job deleted before the first load has its name and state here), or it left the latest jobs listing.
-- retrying_run_id links a retry and the failed run it retries (view run_retries).
CREATE OR REPLACE VIEW dbt_cloud.runs_enriched AS
WITH latest_listing AS (
    SELECT max(last_seen_at) AS seen_at FROM dbt_cloud.jobs
)
SELECT
    r.id,
    r.job_definition_id,
    j.name AS job_name,
    coalesce(r.project_id, j.project_id) AS project_id,
    p.name AS project_name,
    coalesce(r.environment_id, j.environment_id) AS environment_id,
    e.name AS environment_name,
    r.status,
    s.status_name,
    s.is_final,
    r.trigger__cause AS trigger_cause,
    t.trigger_kind,
    r.created_at,
    r.dequeued_at,
    r.started_at,
    r.finished_at,
    date_diff('microsecond', r.created_at, r.started_at) / 1e6 AS queued_seconds,
    date_diff('microsecond', r.started_at, r.finished_at) / 1e6 AS run_seconds,
    r.git_branch,
    r.git_sha,
    r.status_message,
    r.dbt_version,
    r.href,
    r.retrying_run_id,
    coalesce(j.state = 2 OR j.last_seen_at < (SELECT seen_at FROM latest_listing), false) AS job_deleted
FROM dbt_cloud.runs AS r
LEFT JOIN dbt_cloud.jobs AS j ON j.id = r.job_definition_id
LEFT JOIN dbt_cloud.projects AS p ON p.id = coalesce(r.project_id, j.project_id)
LEFT JOIN dbt_cloud.environments AS e ON e.id = coalesce(r.environment_id, j.environment_id)
LEFT JOIN dbt_cloud.status_codes AS s ON s.status = r.status
LEFT JOIN dbt_cloud.run_triggers AS t ON t.run_id = r.id;
