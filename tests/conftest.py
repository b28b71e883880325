"""Shared test helpers: run the CLI in-process and read what it printed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from nb2prod.cli import app

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_notebooks"


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
