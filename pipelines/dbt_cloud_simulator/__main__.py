"""`python -m dbt_cloud_simulator`: serve a synthetic account until SIGTERM/SIGINT.

Prints one JSON line (`base_url`, `account_id`, `token`, `runs`) on stdout once the port is bound, so
a parent process (the benchmark) can read where to connect without parsing logs.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import datetime

from .simulator import DbtCloudSimulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m dbt_cloud_simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--runs", type=int, default=3000, help="runs in the synthetic history")
    parser.add_argument("--jobs", type=int, default=120, help="jobs in the account")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same account)")
    parser.add_argument("--latency-ms", type=float, default=0, help="sleep this long in every request")
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        default=None,
        help="the account's present, ISO 8601 with a time zone (default: now, to the minute)",
    )
    parser.add_argument("--token", default="sim-token", help="the API token clients must send")
    parser.add_argument("--account-id", type=int, default=70403)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.now is not None and args.now.tzinfo is None:
        raise SystemExit("--now needs a time zone, e.g. 2026-11-20T12:00:00+00:00")
    sim = DbtCloudSimulator(
        runs=args.runs,
        jobs=args.jobs,
        seed=args.seed,
        now=args.now,
        token=args.token,
        account_id=args.account_id,
        latency_ms=args.latency_ms,
        port=args.port,
    ).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    info = {"base_url": sim.base_url, "account_id": sim.account_id, "token": sim.token, "runs": args.runs}
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
