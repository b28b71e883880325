"""Speed of the static commands against a baseline users know, on growing notebooks.

Generates notebooks with 10, 100, 300 and 1,000 tagged feature cells plus as many
untagged cells (realistic bodies: docstrings, comments, pandas calls), and times, as
whole processes, in the same run:
  * jupyter nbconvert --to script              (the baseline)
  * nb2prod convert --no-execute, cold         (empty cache, into an empty folder)
  * nb2prod convert --no-execute, warm         (cache filled, into an empty folder)
  * nb2prod check                              (on the unchanged package)
It prints medians, the ratios to the baseline, CPU time (user + system, children
included, and its ratio: steadier than wall time on a shared machine), peak memory
(and its ratio), and the growth per cell between the two largest sizes.

    python benchmarks/static.py [--sizes 10 100 300 1000] [--runs 3]

Targets (issue 15): cold <= 1.5x nbconvert at 300 cells and <= 2x at 1,000; warm
<= 0.5x; check <= 0.08x at 1,000 cells; peak memory <= 2x nbconvert's.
"""

from __future__ import annotations

import argparse
import json
import os
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


#: One measurement: wall seconds, peak memory (MiB), CPU seconds (user + system).
Sample = tuple[float, int, float]


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    """Seconds, peak memory (MiB) and CPU seconds of one whole process."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M %U %S", *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    memory, user, system = done.stderr.strip().splitlines()[-1].split()
    return seconds, int(memory) // 1024, float(user) + float(system)


def measure(size: int, runs: int, work: Path) -> dict[str, Sample]:
    path = work / f"features_{size}.ipynb"
    path.write_text(json.dumps(notebook(size)))
    nbconvert = [str(BIN / "jupyter"), "nbconvert", "--to", "script", "--log-level", "ERROR",
                 str(path), "--output-dir", str(work / "script")]  # fmt: skip
    # As the console script runs it, but from whatever nb2prod is importable (a
    # worktree on PYTHONPATH), not from the one installed in the environment.
    nb2prod = [sys.executable, "-m", "nb2prod"]
    out = work / "out"
    convert = [*nb2prod, "convert", str(path), "--no-execute", "--out", str(out)]
    results: dict[str, list[Sample]] = {
        "nbconvert": [],
        "cold": [],
        "warm": [],
        "check": [],
    }
    for run in range(runs):
        env = {**os.environ, "NB2PROD_CACHE_DIR": str(work / f"cache-{size}-{run}")}
        env.pop("NB2PROD_NO_CACHE", None)
        results["nbconvert"].append(timed(nbconvert, work, env))
        shutil.rmtree(out, ignore_errors=True)
        results["cold"].append(timed(convert, work, env))
        shutil.rmtree(out, ignore_errors=True)
        results["warm"].append(timed(convert, work, env))
        results["check"].append(
            timed([*nb2prod, "check", str(path), "--out", str(out)], work, env)
        )
    return {
        name: (
            statistics.median(t for t, _, _ in values),
            max(m for _, m, _ in values),
            statistics.median(c for _, _, c in values),
        )
        for name, values in results.items()
    }


#: Targets as (command, size or None for every size): largest ratio to nbconvert.
TARGETS = {
    ("cold", 300): 1.5,
    ("cold", 1000): 2.0,
    ("warm", None): 0.5,
    ("check", 1000): 0.08,
}
MEMORY_TARGET = 2.0


def target(name: str, size: int) -> float | None:
    return TARGETS.get((name, size), TARGETS.get((name, None)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 300, 1000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print(
        f"{'cells':>6} {'command':<10} {'median s':>9} {'x nbconvert':>12} {'target':>7}"
        f" {'cpu s':>6} {'x cpu':>6} {'peak MiB':>9} {'x mem':>6}"
    )
    measured: dict[int, dict[str, Sample]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            results = measure(size, args.runs, Path(folder))
            measured[size] = results
            base_time, base_memory, base_cpu = results["nbconvert"]
            for name, (seconds, memory, cpu) in results.items():
                goal = target(name, size)
                ratio = seconds / base_time
                verdict = (
                    ""
                    if goal is None
                    else f"{goal:.2f}x" + (" ok" if ratio <= goal else " NO")
                )
                print(
                    f"{size:>6} {name:<10} {seconds:>9.2f} {ratio:>11.2f}x {verdict:>7}"
                    f" {cpu:>6.2f} {cpu / base_cpu:>5.2f}x {memory:>9} {memory / base_memory:>5.2f}x"
                )
    sizes = sorted(measured)
    if len(sizes) >= 2:
        small, large = sizes[-2], sizes[-1]
        print(f"growth per tagged cell between {small} and {large} cells (ms):")
        for name in ("nbconvert", "cold", "warm", "check"):
            slope = (measured[large][name][0] - measured[small][name][0]) / (
                large - small
            )
            print(f"  {name:<10} {slope * 1000:>7.2f}")
    print(
        "targets: cold <= 1.5x at 300 cells, <= 2x at 1,000; warm <= 0.5x;"
        f" check <= 0.08x at 1,000; memory <= {MEMORY_TARGET:.0f}x"
    )


if __name__ == "__main__":
    main()
