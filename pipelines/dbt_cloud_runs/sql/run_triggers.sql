-- Question: how was each run started — by the scheduler, by someone in the UI, through the API, or by a
-- pull request (CI)? "How many of our runs are scheduled" is one GROUP BY trigger_kind away.
-- Rules, first match wins, on the trigger that dbt Cloud stores with the run:
--   pull_request  a GitHub/GitLab/Azure pull request id is set, or the cause mentions a pull/merge request
--   scheduled     the cause mentions the scheduler ("Kicked off by the scheduler", "Scheduled ...")
--   manual        the cause says it came from the UI ("Kicked off from UI by jane@example.com")
--   other         no cause at all
--   api           anything else: API callers write their own cause ("Kicked off from Airflow")
CREATE OR REPLACE VIEW dbt_cloud.run_triggers AS
SELECT
    r.id AS run_id,
    r.job_definition_id AS job_id,
    j.name AS job_name,
    r.trigger__cause AS trigger_cause,
    CASE
        WHEN r.trigger__github_pull_request_id IS NOT NULL
            OR r.trigger__gitlab_merge_request_id IS NOT NULL
            OR r.trigger__azure_pull_request_id IS NOT NULL
            OR r.trigger__cause ILIKE '%pull request%'
            OR r.trigger__cause ILIKE '%merge request%' THEN 'pull_request'
        WHEN r.trigger__cause ILIKE '%scheduler%'
            OR r.trigger__cause ILIKE '%scheduled%'
            OR r.trigger__cause ILIKE 'schedule%' THEN 'scheduled'
        WHEN r.trigger__cause ILIKE '%from UI%' THEN 'manual'
        WHEN r.trigger__cause IS NULL OR trim(r.trigger__cause) = '' THEN 'other'
        ELSE 'api'
    END AS trigger_kind,
    r.created_at
FROM dbt_cloud.runs AS r
LEFT JOIN dbt_cloud.jobs AS j ON j.id = r.job_definition_id;
