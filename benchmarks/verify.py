"""How much nb2prod's instrumentation adds to a plain papermill run of a notebook.

In one process and one run, several times each, it times:
  * plain      papermill.execute_notebook on the notebook (same kernel);
  * recorded   nb2prod's instrumented run of the same notebook (papermill + recorder);
  * replay     replaying the recorded calls against the converted package;
  * verify     the whole `nb2prod verify` command, as a user runs it.
and prints the medians and the ratio recorded/plain.

    python benchmarks/verify.py [--notebook sample_notebooks/churn_classification.ipynb] [--runs 3]

Target: recorded at most 1.10x plain; the replay comes on top.
"""

from __future__ import annotations

import argparse
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
        command = [sys.executable, "-m", "nb2prod"]
        subprocess.run(
            [*command, "convert", str(notebook), "--out", work],
            check=True,
            capture_output=True,
        )
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
            "nb2prod verify": median_time(verify, args.runs),
        }
    print(f"notebook: {notebook.name}; {args.runs} runs each; medians")
    for label, (median, times) in results.items():
        print(
            f"  {label:<16} {median:6.2f} s   ({', '.join(f'{t:.2f}' for t in times)})"
        )
    ratio = results["recorded run"][0] / results["plain papermill"][0]
    print(f"  recorded / plain {ratio:6.2f}x   (target 1.10x; the replay comes on top)")


if __name__ == "__main__":
    main()
