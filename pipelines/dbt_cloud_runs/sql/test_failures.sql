-- Question: which tests failed or warned, where and when? One row per test result with status fail, warn or error,
-- with its job, environment, project, the number of failing rows and dbt's message; newest run first.
CREATE OR REPLACE VIEW dbt_cloud.test_failures AS
SELECT
    rr.run_id,
    coalesce(r.job_definition_id, rr.job_definition_id) AS job_id,
    j.name AS job_name,
    e.name AS environment_name,
    p.name AS project_name,
    rr.unique_id,
    rr.name AS test_name,
    rr.status,
    rr.failures,
    rr.message,
    r.created_at AS run_created_at,
    r.href
FROM dbt_cloud.run_results AS rr
LEFT JOIN dbt_cloud.runs AS r ON r.id = rr.run_id
LEFT JOIN dbt_cloud.jobs AS j ON j.id = coalesce(r.job_definition_id, rr.job_definition_id)
LEFT JOIN dbt_cloud.environments AS e ON e.id = coalesce(r.environment_id, rr.environment_id)
LEFT JOIN dbt_cloud.projects AS p ON p.id = coalesce(r.project_id, rr.project_id)
WHERE rr.resource_type = 'test'
    AND rr.status IN ('fail', 'warn', 'error')
ORDER BY
    coalesce(r.created_at, rr.execute_started_at, rr.compile_started_at, rr.generated_at) DESC NULLS LAST,
    rr.run_id DESC,
    rr.unique_id;
