-- Question: what moment do the time-relative views treat as "now"?
-- One row, one column `as_of`: the start time of the latest load (`loads.as_of`) or of the latest load
-- that found nothing new (`load_checks.checked_at`), so answers stay the same between loads and can be
-- reproduced; before any load, the current time.
CREATE OR REPLACE VIEW dbt_cloud.as_of AS
SELECT coalesce(
    (SELECT max(moment) FROM (
        SELECT max(as_of) AS moment FROM dbt_cloud.loads
        UNION ALL
        SELECT max(checked_at) AS moment FROM dbt_cloud.load_checks
    ) AS moments),
    current_timestamp
) AS as_of;
