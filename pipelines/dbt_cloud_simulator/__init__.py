"""A local simulator of the dbt Cloud Administrative API v2 (see docs/simulator.md).

A real HTTP server on 127.0.0.1 serving a deterministic synthetic account, with controls for time,
faults and triggered runs, for the demo mode, end-to-end tests and the benchmark.
"""

from .simulator import DbtCloudSimulator

__all__ = ["DbtCloudSimulator"]
