"""The package as a user installs it: a wheel, in a fresh venv, run from another directory.

The views (`dbt_cloud_runs/sql/*.sql`), the report template and `py.typed` must ship inside the
wheel, and its console script must load the demo account with every view created. Dependencies come
from the test environment's site-packages (added to the fresh venv by a `.pth` line, which does not
carry over this checkout's editable install), so the test needs no network.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_views_and_its_command_runs_the_demo_elsewhere(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)]
        + [str(REPO_ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("dbt_cloud_runs-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    views = sorted(Path(name).stem for name in names if name.startswith("dbt_cloud_runs/sql/"))
    assert "job_health" in views and "as_of" in views
    assert "dbt_cloud_runs/py.typed" in names

    target = tmp_path / "venv"
    venv.create(target, with_pip=True)  # ensurepip: pip comes from the standard library, offline
    python = target / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    where = subprocess.run(
        [str(python), "-c", "import dbt_cloud_runs; print(dbt_cloud_runs.__file__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert where.startswith(purelib), f"the wheel's copy is imported, not the checkout: {where}"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    demo = subprocess.run(
        [str(target / "bin" / "dbt-cloud-runs"), "--demo"],
        cwd=elsewhere,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DLT_DATA_DIR": str(tmp_path / "dlt")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Traceback" not in demo.stderr
    with duckdb.connect(str(elsewhere / "dbt_runs_demo.duckdb"), read_only=True) as con:
        created = {
            row[0]
            for row in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE schema_name = 'dbt_cloud'"
            ).fetchall()
        }
    assert set(views) <= created, "every view of the wheel was created"
