-- Question: which runs failed, and why? Runs that ended in Error, newest first, with job, project and
-- environment names, dbt Cloud's status message, what triggered the run, and a link to it.
CREATE OR REPLACE VIEW dbt_cloud.failures AS
SELECT
    id AS run_id,
    job_definition_id AS job_id,
    job_name,
    project_name,
    environment_name,
    status_message,
    trigger_cause,
    trigger_kind,
    created_at,
    finished_at,
    run_seconds,
    git_branch,
    href
FROM dbt_cloud.runs_enriched
WHERE status = 20
ORDER BY finished_at DESC NULLS LAST, id DESC;
