-- Question: which failed runs were retried from the point of failure, and did the retry work? One row
-- per retried failure: the failed run, its retry, the retry's status, and how long recovery took.
-- A retry is linked to its failed run by the runs' retrying_run_id (dbt Cloud, since 2023). Which of
-- the two runs carries the link is read from the data rather than assumed (see docs/tables.md): of two
-- linked runs, the one created first is the failure and the other its retry. recovered is true when
-- the retry succeeded; NULL while it is still open. minutes_to_recover = retry finished - failure
-- finished, for recovered failures only.
CREATE OR REPLACE VIEW dbt_cloud.run_retries AS
WITH links AS (
    SELECT
        CASE WHEN (a.created_at, a.id) <= (b.created_at, b.id) THEN a.id ELSE b.id END AS failed_run_id,
        CASE WHEN (a.created_at, a.id) <= (b.created_at, b.id) THEN b.id ELSE a.id END AS retry_run_id
    FROM dbt_cloud.runs AS a
    JOIN dbt_cloud.runs AS b ON b.id = a.retrying_run_id
    WHERE a.retrying_run_id IS NOT NULL AND a.retrying_run_id <> a.id
),
pairs AS (
    SELECT DISTINCT failed_run_id, retry_run_id FROM links
)
SELECT
    f.id AS failed_run_id,
    f.job_definition_id,
    f.job_name,
    f.project_name,
    f.environment_name,
    f.created_at AS failed_created_at,
    f.finished_at AS failed_finished_at,
    f.status_message AS failed_status_message,
    r.id AS retry_run_id,
    r.created_at AS retry_created_at,
    r.finished_at AS retry_finished_at,
    r.status AS retry_status,
    r.status_name AS retry_status_name,
    CASE WHEN r.is_final THEN r.status = 10 END AS recovered,
    CASE WHEN r.status = 10 THEN date_diff('microsecond', f.finished_at, r.finished_at) / 6e7 END
        AS minutes_to_recover,
    r.href AS retry_href
FROM pairs AS p
JOIN dbt_cloud.runs_enriched AS f ON f.id = p.failed_run_id
JOIN dbt_cloud.runs_enriched AS r ON r.id = p.retry_run_id
WHERE f.status = 20;
