-- Question: what moment do the time-relative views treat as "now"?
-- One row, one column `as_of`: the start time of the latest load (`loads.as_of`), so answers stay the
-- same between loads and can be reproduced; before any load, the current time.
CREATE OR REPLACE VIEW dbt_cloud.as_of AS
SELECT coalesce((SELECT max(as_of) FROM dbt_cloud.loads), current_timestamp) AS as_of;
