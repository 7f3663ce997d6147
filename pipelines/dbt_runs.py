"""Entry point: `python pipelines/dbt_runs.py --help`.

Loads dbt Cloud run history into DuckDB (or any dlt destination) and (re)creates the SQL views; its
subcommands trigger, watch and cancel jobs. Everything lives in the `dbt_cloud_runs` package beside
this file, which Python finds because it runs from this folder.
"""

import sys

from dbt_cloud_runs.cli import main

if __name__ == "__main__":
    sys.exit(main())
