"""A throwaway PostgreSQL server for tests: `initdb` a cluster in a temp dir, start it on a free port.

pytest-postgresql would do the same with more moving parts (a plugin, its own config, psycopg 3); this
is the handful of lines the tests need. The server binaries are looked up on PATH, then in Debian's
`/usr/lib/postgresql/<version>/bin`. PostgreSQL refuses to run as root, so under root the binaries run
as the `postgres` system user (`runuser -u postgres --`), which must be able to write the cluster dir.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"
PASSWORD = "pipeline-test"
DATABASE = "postgres"


def find_bin_dir() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`, or None when PostgreSQL's server is not installed."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name, reverse=True)
    return next((d for d in candidates if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running cluster on 127.0.0.1:`port`, superuser `postgres` with a password."""

    bin_dir: Path
    root: Path
    port: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def dsn(self, database: str = DATABASE) -> str:
        """The DSN dlt takes in DESTINATION__POSTGRES__CREDENTIALS."""
        return f"postgresql://{SUPERUSER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh, empty database (one per test keeps tests apart on the shared server); its DSN."""
        import psycopg2

        connection = psycopg2.connect(self.dsn())
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.dsn(name)

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )

    def start(self) -> PostgresServer:
        self.port = _free_port()
        password_file = self.root / "password"
        password_file.write_text(PASSWORD)
        if os.geteuid() == 0:
            shutil.chown(self.root, user=SUPERUSER)
            shutil.chown(password_file, user=SUPERUSER)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=md5",
            f"--pwfile={password_file}",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        return self

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")


def start_server() -> PostgresServer | None:
    """Start a server in a fresh temp dir; None when no PostgreSQL server binaries are installed."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="dbt_runs_pg_"))
    root.chmod(0o755)
    return PostgresServer(bin_dir=bin_dir, root=root).start()
