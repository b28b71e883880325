"""How much nb2prod's instrumentation adds to a plain papermill run of a notebook.

In one process and one run, several times each, it times:
  * plain      papermill.execute_notebook on the notebook (same kernel);
  * recorded   nb2prod's instrumented run of the same notebook (papermill + recorder);
  * replay     replaying the recorded calls against the package's source with
               nb2prod's own Python (``--isolation none``);
  * clean env  entering the package's clean environment from the cache (installing
               the package with ``--no-deps`` into a temporary target);
  * clean replay  the replay with that environment's Python;
  * verify     the whole `nb2prod verify` command, as a user runs it (clean env);
  * convert    the whole `nb2prod convert` command (clean env, warm cache);
and prints the medians, the ratio recorded/plain and convert/plain. The first
convert builds the clean environment in an empty nb2prod cache: its time (cold
build) is printed separately (uv's own download cache stays as it is).

    python benchmarks/verify.py [--notebook sample_notebooks/churn_classification.ipynb] [--runs 3]

Targets: recorded at most 1.10x plain; convert with a warm environment cache at
most 1.5x plain.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import papermill

from nb2prod.generation import prepare
from nb2prod.notebook.read import read_notebook
from nb2prod.run.environment import clean_environment
from nb2prod.run.execute import _kernel, execute
from nb2prod.run.replay import replay
from nb2prod.settings import RunOptions, job_for
from nb2prod.standalone.compare import Tolerance

REPO = Path(__file__).resolve().parent.parent


def median_time(
    action: Callable[[int], object], runs: int
) -> tuple[float, list[float]]:
    times = []
    for run in range(runs):
        started = time.perf_counter()
        action(run)
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--notebook",
        type=Path,
        default=REPO / "sample_notebooks/churn_classification.ipynb",
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    notebook = args.notebook.resolve()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        os.environ["NB2PROD_CACHE_DIR"] = str(folder / "cache")  # cold: empty
        os.environ["NB2PROD_ISOLATION"] = "venv"
        command = [sys.executable, "-m", "nb2prod"]

        def convert(run: int) -> None:
            subprocess.run(
                [*command, "convert", str(notebook), "--out", work],
                check=True,
                capture_output=True,
            )

        cold = median_time(convert, 1)
        prepared = prepare(job_for(notebook, out=folder), read_notebook(notebook))
        plan, cells = prepared.plan, prepared.cells

        def plain(run: int) -> None:
            with _kernel(None) as kernel:
                papermill.execute_notebook(
                    str(notebook), str(folder / f"plain{run}.ipynb"), kernel_name=kernel,
                    progress_bar=False, cwd=str(notebook.parent),
                )  # fmt: skip

        def recorded(run: int) -> None:
            execute(plan, cells, folder / f"run{run}", RunOptions({}))

        def replayed(run: int) -> None:
            cases = folder / plan.package / "tests" / "cases"
            replay(folder / plan.package / "src", plan.package, cases, Tolerance())

        def entered(run: int) -> None:
            with clean_environment(folder / plan.package):
                pass

        def clean_replay(run: int) -> None:
            cases = folder / plan.package / "tests" / "cases"
            with clean_environment(folder / plan.package) as environment:
                replay(
                    environment.site, plan.package, cases, Tolerance(),
                    environment.python, clean=True,
                )  # fmt: skip

        def verify(run: int) -> None:
            subprocess.run(
                [*command, "verify", str(notebook), "--out", work],
                check=True,
                capture_output=True,
            )

        results = {
            "plain papermill": median_time(plain, args.runs),
            "recorded run": median_time(recorded, args.runs),
            "replay": median_time(replayed, args.runs),
            "clean env": median_time(entered, args.runs),
            "clean replay": median_time(clean_replay, args.runs),
            "nb2prod verify": median_time(verify, args.runs),
            "nb2prod convert": median_time(convert, args.runs),
            "first convert": cold,
        }
    print(f"notebook: {notebook.name}; {args.runs} runs each; medians")
    for label, (median, times) in results.items():
        print(
            f"  {label:<16} {median:6.2f} s   ({', '.join(f'{t:.2f}' for t in times)})"
        )
    plain = results["plain papermill"][0]
    ratio = results["recorded run"][0] / plain
    print(f"  recorded / plain {ratio:6.2f}x   (target 1.10x; the replay comes on top)")
    ratio = results["nb2prod convert"][0] / plain
    print(
        f"  convert / plain  {ratio:6.2f}x   (whole command, warm clean env; target 1.5x)"
    )
    ratio = results["first convert"][0] / plain
    print(
        f"  first / plain    {ratio:6.2f}x   (builds the clean env: cold nb2prod cache)"
    )


if __name__ == "__main__":
    main()
