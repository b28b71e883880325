"""Shared test helpers: run the CLI in-process and read what it printed."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

# The CLI's tables wrap at the console's width, which rich fixes when the console is
# made if COLUMNS is set then: pytest-xdist's workers start with COLUMNS=80. Without
# it the width is read at each print, so a test can set COLUMNS for its own output.
os.environ.pop("COLUMNS", None)

import pytest
from typer.testing import CliRunner

from nb2prod.cli.app import app

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_notebooks"


#: The slowest test files, longest first (from --durations): xdist hands test files to
#: its workers in collection order, so that starting these first keeps one worker from
#: finishing the run alone on a long file. Only the order changes.
SLOWEST_FIRST = (
    "test_interfaces",
    "test_package_e2e",
    "test_contract",
    "test_execution",
    "test_clean_env",
    "test_precommit",
    "test_hostile_names",
    "test_fast_scopes",
    "test_commands_as_written",
)


#: Run last: a local Spark's JVM outlives its session and keeps using a share of a
#: core until the worker exits, which slows every test run after it in that worker.
LAST = ("test_spark",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest files first, Spark's last; every file's tests stay together and
    in order."""
    others = len(SLOWEST_FIRST)  # every file in neither list, in collection order
    rank = {name: place for place, name in enumerate(SLOWEST_FIRST)}
    rank.update({name: others + 1 + place for place, name in enumerate(LAST)})
    items.sort(key=lambda item: rank.get(item.path.stem, others))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep nb2prod's cache inside the test session (never the user's).

    Converts replay only the direct calls here: a server start, two batch runs and a
    Spark session per convert would cost minutes over the suite. tests/test_interfaces.py
    asks for the interfaces through [tool.nb2prod], which wins over the variable.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NB2PROD_CACHE_DIR", str(tmp_path_factory.mktemp("nb2prod-cache")))
        patch.setenv("NB2PROD_INTERFACES", "direct")
        # Replays run in nb2prod's own environment unless a test asks for a clean
        # one (--isolation venv, tests/test_clean_env.py): a venv per convert is slow.
        patch.setenv("NB2PROD_ISOLATION", "none")
        yield


@dataclass(frozen=True)
class Run:
    """What one CLI invocation did."""

    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path) -> Run:
    """Run ``nb2prod ARGS`` in this process."""
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def passes_alone(test: str) -> None:
    """Run ``test`` (a pytest node id) alone in a fresh process and check it passed.

    For a test of code that forks a helper only from a process without other threads:
    an earlier test in this process may have left one (a Spark session's py4j).
    """
    alone = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            test,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "1 passed" in alone.stdout


def import_replay(alias: str, package_root: Path) -> tuple[ModuleType, ModuleType]:
    """A generated package's copied case files and comparators (``tests/_replay``),
    imported under ``alias`` so that several packages' copies can live in one process.
    """
    folder = package_root / "tests" / "_replay"
    spec = importlib.util.spec_from_file_location(
        alias, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    cases = importlib.import_module(f"{alias}.casefile")
    compare = importlib.import_module(f"{alias}.compare")
    return cases, compare
