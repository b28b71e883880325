"""`nb2prod check` on an up-to-date package answers from the lock's hashes alone.

Most of its time is interpreter start and imports, so the fast path must not import
what only generation needs: libcst (a third of a second) and black.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from conftest import REPO, run_cli

from notebooks import from_percent

GOLDEN = Path(__file__).parent / "golden"


def test_check_on_an_up_to_date_package_imports_neither_libcst_nor_black(
    tmp_path: Path,
) -> None:
    notebook = tmp_path / "features.ipynb"
    text = (GOLDEN / "features_only" / "notebook.txt").read_text()
    nbformat.write(from_percent(text), str(notebook))
    out = tmp_path / "out"
    assert run_cli("convert", notebook, "--no-execute", "--out", out).exit_code == 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nb2prod", "check", str(notebook),
         "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout
    imported = {
        line.split("|")[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "nb2prod.output.fastcheck" in imported  # the log is the real one
    assert not {m for m in imported if m.split(".")[0] in {"libcst", "black"}}
