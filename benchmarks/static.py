"""Speed of the static commands against a baseline users know, on growing notebooks.

Generates notebooks with 10, 100 and 300 tagged feature cells plus as many untagged
cells (realistic bodies: docstrings, comments, pandas calls), and times, as whole
processes, in the same run:
  * jupyter nbconvert --to script          (the baseline)
  * nb2prod convert --no-execute            (into an empty folder)
  * nb2prod check                           (on the unchanged package)
It prints medians, the ratios to the baseline and peak memory.

    python benchmarks/static.py [--sizes 10 100 300] [--runs 3]

Targets on the 300-cell notebook: convert at most 1.5x nbconvert, check at most 0.35x.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def feature_cell(index: int) -> str:
    return f'''import numpy as np
import pandas as pd


def feature_{index}(frame: pd.DataFrame) -> pd.Series:
    """Ratio {index}: column a over column b, smoothed and clipped.

    The smoothing keeps tiny denominators from exploding the ratio.
    """
    # Guard against division by zero with a small epsilon.
    ratio = frame["a"] / (frame["b"].abs() + 1e-9)
    smoothed = ratio.rolling(window=3, min_periods=1).mean()
    return smoothed.clip(lower=-{index + 1}, upper={index + 1}).fillna(0.0)
'''


def untagged_cell(index: int) -> str:
    return f"""# Exploration {index}
sample = frame.sample(n=5, random_state={index})
summary = sample.describe()
feature_{index}(frame).head()
"""


def notebook(size: int) -> dict[str, object]:
    cells: list[dict[str, object]] = [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "id": "setup",
         "source": "import pandas as pd\nframe = pd.DataFrame({'a': range(10), 'b': range(1, 11)})"},
    ]  # fmt: skip
    for index in range(size):
        cells.append(
            {"cell_type": "markdown", "metadata": {}, "id": f"m{index}",
             "source": f"## Feature {index}\nWhy this ratio matters."}
        )  # fmt: skip
        cells.append(
            {"cell_type": "code", "metadata": {"tags": ["nb2prod:feature"]}, "id": f"f{index}",
             "execution_count": None, "outputs": [], "source": feature_cell(index)}
        )  # fmt: skip
        cells.append(
            {"cell_type": "code", "metadata": {}, "id": f"u{index}", "execution_count": None,
             "outputs": [], "source": untagged_cell(index)}
        )  # fmt: skip
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "language": "python",
                "display_name": "Python 3",
            }
        },
        "cells": cells,
    }


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """Seconds and peak memory (MiB) of one whole process."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) // 1024


def measure(size: int, runs: int, work: Path) -> dict[str, tuple[float, int]]:
    path = work / f"features_{size}.ipynb"
    path.write_text(json.dumps(notebook(size)))
    nbconvert = [str(BIN / "jupyter"), "nbconvert", "--to", "script", "--log-level", "ERROR",
                 str(path), "--output-dir", str(work / "script")]  # fmt: skip
    nb2prod = [str(BIN / "nb2prod")]
    out = work / "out"
    results: dict[str, list[tuple[float, int]]] = {
        "nbconvert": [],
        "convert": [],
        "check": [],
    }
    for _ in range(runs):
        results["nbconvert"].append(timed(nbconvert, work))
        shutil.rmtree(out, ignore_errors=True)
        results["convert"].append(
            timed(
                [*nb2prod, "convert", str(path), "--no-execute", "--out", str(out)],
                work,
            )
        )
        results["check"].append(
            timed([*nb2prod, "check", str(path), "--out", str(out)], work)
        )
    return {
        name: (statistics.median(t for t, _ in values), max(m for _, m in values))
        for name, values in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 300])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'tagged cells':>12} {'command':<10} {'median s':>9} {'x nbconvert':>12} {'peak MiB':>9}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            results = measure(size, args.runs, Path(folder))
            baseline = results["nbconvert"][0]
            for name, (seconds, memory) in results.items():
                print(
                    f"{size:>12} {name:<10} {seconds:>9.2f} {seconds / baseline:>11.2f}x {memory:>9}"
                )
    print("targets (300 cells): convert <= 1.50x, check <= 0.35x")


if __name__ == "__main__":
    main()
