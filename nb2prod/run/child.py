"""The children that replay recorded calls: what they see besides the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from nb2prod import standalone
from nb2prod.errors import Nb2ProdError
from nb2prod.standalone.compare import Tolerance

#: The name the copy of nb2prod's stdlib-only modules is imported under in a child.
SUPPORT = "_nb2prod_replay"


def child_environment(work: str, site: Path, clean: bool) -> dict[str, str]:
    """The environment of a child that runs the package found in ``site`` with a copy
    of nb2prod's stdlib-only modules (:mod:`nb2prod.standalone`) put in ``work`` as
    :data:`SUPPORT`, and never nb2prod itself, nor its site-packages when ``clean``."""
    shutil.copytree(
        Path(standalone.__file__).parent,
        Path(work) / SUPPORT,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(site.resolve()), work])
    if clean:
        env["PYTHONNOUSERSITE"] = "1"
    return env


def run_child(
    module: str,
    positional: list[str],
    options: list[str],
    site: Path,
    what: str,
    python: Path | None = None,
    *,
    clean: bool = False,
    timeout: float | None = None,
) -> Any:
    """``python -m <copy>.MODULE POSITIONAL... OUTPUT OPTIONS...`` (a module of
    :mod:`nb2prod.standalone`) with the package importable from ``site``: the JSON
    it wrote to OUTPUT. Raises :class:`Nb2ProdError` saying ``what`` failed, with
    the child's error output, when it exits badly or writes nothing, and
    :class:`subprocess.TimeoutExpired` after ``timeout`` seconds.
    """
    with tempfile.TemporaryDirectory(prefix="nb2prod-child-") as work:
        output = Path(work) / "output.json"
        command = [
            str(python or sys.executable), "-m", f"{SUPPORT}.{module}",
            *positional, str(output), *options,
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=work, env=child_environment(work, site, clean),
            capture_output=True, text=True, check=False, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if done.returncode != 0 or not output.is_file():
            raise Nb2ProdError(f"{what} failed:\n{done.stderr.strip()[-4000:]}")
        return json.loads(output.read_text("utf-8"))


def tolerance_options(tolerance: Tolerance) -> list[str]:
    """The comparators' tolerance as a child's options."""
    return ["--rtol", repr(tolerance.rtol), "--atol", repr(tolerance.atol)]
