-- Question: how is each job doing right now? One row per job — deleted jobs included (is_deleted: the
-- job's state is 2, listed jobs of every state; or it left the latest listing) and jobs known only from
-- their runs (NULL name) — with its last run and last success, the Error runs since that success,
-- 7/30-day volumes, success rates, run/queue time percentiles, and recovered_failures_30d: Error runs
-- in the 30-day window whose retry from the point of failure succeeded (view run_retries).
-- "Now" is the start of the latest load (view as_of); windows are (as_of - 7 or 30 days, as_of] on
-- created_at. success_rate = Success / (Success + Error): cancelled and open runs count in runs_7d/30d
-- but not in the rate (NULL when there is no Success or Error run). consecutive_failures counts Error
-- runs created after the latest successful run (all Error runs if it never succeeded); Cancelled runs
-- neither break nor extend a streak. Percentiles are quantile_cont (interpolated) over runs in the
-- 30-day window that have the value (run_seconds needs a started and finished run).
CREATE OR REPLACE VIEW dbt_cloud.job_health AS
WITH now AS (
    SELECT as_of FROM dbt_cloud.as_of
),
latest_listing AS (
    SELECT max(last_seen_at) AS seen_at FROM dbt_cloud.jobs
),
job_ids AS (
    SELECT id AS job_id FROM dbt_cloud.jobs
    UNION
    SELECT DISTINCT job_definition_id FROM dbt_cloud.runs WHERE job_definition_id IS NOT NULL
),
ranked AS (
    SELECT
        r.*,
        row_number() OVER (PARTITION BY r.job_definition_id ORDER BY r.created_at DESC, r.id DESC) AS recency
    FROM dbt_cloud.runs_enriched AS r
),
last_success AS (
    SELECT job_definition_id AS job_id, max(created_at) AS created_at, max(finished_at) AS finished_at
    FROM dbt_cloud.runs_enriched
    WHERE status = 10
    GROUP BY 1
),
recovered AS (
    SELECT rr.job_definition_id AS job_id, count(DISTINCT rr.failed_run_id) AS failures
    FROM dbt_cloud.run_retries AS rr
    CROSS JOIN now AS n
    WHERE rr.recovered AND rr.failed_created_at > n.as_of - INTERVAL 30 DAY AND rr.failed_created_at <= n.as_of
    GROUP BY 1
),
per_job AS (
    SELECT
        r.job_definition_id AS job_id,
        max(r.created_at) AS last_run_at,
        max(r.status_name) FILTER (WHERE r.recency = 1) AS last_status_name,
        max(r.project_name) FILTER (WHERE r.recency = 1) AS last_project_name,
        max(r.environment_name) FILTER (WHERE r.recency = 1) AS last_environment_name,
        count(*) FILTER (WHERE r.status = 20 AND (s.created_at IS NULL OR r.created_at > s.created_at))
            AS consecutive_failures,
        count(*) FILTER (WHERE r.created_at > n.as_of - INTERVAL 7 DAY AND r.created_at <= n.as_of) AS runs_7d,
        count(*) FILTER (WHERE r.status = 10 AND r.created_at > n.as_of - INTERVAL 7 DAY AND r.created_at <= n.as_of)
            AS successes_7d,
        count(*) FILTER (WHERE r.status IN (10, 20) AND r.created_at > n.as_of - INTERVAL 7 DAY
            AND r.created_at <= n.as_of) AS decided_7d,
        count(*) FILTER (WHERE r.created_at > n.as_of - INTERVAL 30 DAY AND r.created_at <= n.as_of) AS runs_30d,
        count(*) FILTER (WHERE r.status = 10 AND r.created_at > n.as_of - INTERVAL 30 DAY
            AND r.created_at <= n.as_of) AS successes_30d,
        count(*) FILTER (WHERE r.status IN (10, 20) AND r.created_at > n.as_of - INTERVAL 30 DAY
            AND r.created_at <= n.as_of) AS decided_30d,
        quantile_cont(r.run_seconds, 0.5) FILTER (WHERE r.created_at > n.as_of - INTERVAL 30 DAY
            AND r.created_at <= n.as_of) AS p50_run_seconds_30d,
        quantile_cont(r.run_seconds, 0.95) FILTER (WHERE r.created_at > n.as_of - INTERVAL 30 DAY
            AND r.created_at <= n.as_of) AS p95_run_seconds_30d,
        quantile_cont(r.queued_seconds, 0.95) FILTER (WHERE r.created_at > n.as_of - INTERVAL 30 DAY
            AND r.created_at <= n.as_of) AS p95_queued_seconds_30d
    FROM ranked AS r
    CROSS JOIN now AS n
    LEFT JOIN last_success AS s ON s.job_id = r.job_definition_id
    GROUP BY 1
)
SELECT
    i.job_id,
    j.name AS job_name,
    coalesce(p.name, pj.last_project_name) AS project_name,
    coalesce(e.name, pj.last_environment_name) AS environment_name,
    coalesce(j.state = 2 OR j.last_seen_at < (SELECT seen_at FROM latest_listing), j.id IS NULL) AS is_deleted,
    pj.last_run_at,
    pj.last_status_name,
    s.finished_at AS last_success_at,
    date_diff('microsecond', s.finished_at, (SELECT as_of FROM now)) / 3.6e9 AS hours_since_success,
    coalesce(pj.consecutive_failures, 0) AS consecutive_failures,
    coalesce(pj.runs_7d, 0) AS runs_7d,
    pj.successes_7d / nullif(pj.decided_7d, 0) AS success_rate_7d,
    coalesce(pj.runs_30d, 0) AS runs_30d,
    pj.successes_30d / nullif(pj.decided_30d, 0) AS success_rate_30d,
    pj.p50_run_seconds_30d,
    pj.p95_run_seconds_30d,
    pj.p95_queued_seconds_30d,
    coalesce(rc.failures, 0) AS recovered_failures_30d
FROM job_ids AS i
LEFT JOIN dbt_cloud.jobs AS j ON j.id = i.job_id
LEFT JOIN per_job AS pj ON pj.job_id = i.job_id
LEFT JOIN last_success AS s ON s.job_id = i.job_id
LEFT JOIN recovered AS rc ON rc.job_id = i.job_id
LEFT JOIN dbt_cloud.projects AS p ON p.id = j.project_id
LEFT JOIN dbt_cloud.environments AS e ON e.id = j.environment_id;
