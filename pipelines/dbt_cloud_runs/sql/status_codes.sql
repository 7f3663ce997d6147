-- Question: what does a run's numeric `status` mean? A lookup for BI joins.
-- `status` (1, 2, 3, 10, 20, 30), `status_name` as dbt Cloud shows it, `is_final` (false while a run
-- can still change: Queued, Starting, Running).
CREATE OR REPLACE VIEW dbt_cloud.status_codes AS
SELECT *
FROM (
    VALUES
        (1::BIGINT, 'Queued', false),
        (2::BIGINT, 'Starting', false),
        (3::BIGINT, 'Running', false),
        (10::BIGINT, 'Success', true),
        (20::BIGINT, 'Error', true),
        (30::BIGINT, 'Cancelled', true)
) AS codes(status, status_name, is_final);
