"""<pkg>.spark.score on a local Spark against predict() on one pandas frame.

In one run it:
  * converts the churn sample (or uses --package DIR, a generated package folder
    whose predict takes a DataFrame) and builds a 1,000,000-row frame from the
    rows of the recorded predict() calls;
  * times predict() on the whole frame in this process (the baseline), and on the
    same frame cut into Arrow-batch-sized chunks (what each Spark task does);
  * starts a local[2] SparkSession whose Python workers import the package, reads
    the frame from Parquet into Spark's memory (one partition per core, cached,
    untimed), then times, each written to
    Spark's no-op sink: score() the first time (Python workers start, import the
    package and load the artifacts), score() again (median of --runs), the same
    mapInPandas with an identity function instead of predict() (Arrow conversion
    both ways and task scheduling), and a plain pass over the cached frame;
  * checks that Spark's predictions add up to the direct call's, and prints the
    figures, the ratio warm score() / predict() and what the time goes to.

    python benchmarks/spark.py [--package DIR] [--rows 1000000] [--runs 3]

Target: score() on local[2] within 2x of predict() on the whole pandas frame.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # servers.py: shared with the tests
from servers import convert_sample  # noqa: E402

#: Target: warm score() seconds over predict() seconds on the whole frame.
TARGET_RATIO = 2.0


def spark_module(root: Path) -> ModuleType:
    """The package's spark module, imported from ROOT/src."""
    found = sorted((root / "src").glob("*/spark.py"))
    if len(found) != 1:
        sys.exit(f"{root}: expected one src/<package>/spark.py, found {len(found)}")
    sys.path.insert(0, str(root / "src"))
    return importlib.import_module(f"{found[0].parent.name}.spark")


def recorded_rows(root: Path) -> pd.DataFrame:
    """The frames of every recorded predict() call, as one frame."""
    sys.path.insert(0, str(root / "tests"))  # the package's copied helpers: _replay
    cases = importlib.import_module("_replay.casefile")
    parts = []
    for case_file in sorted(root.glob("tests/cases/predict/*/case.json")):
        case = json.loads(case_file.read_text("utf-8"))
        parts.append(cases.load(case["args"][0], case_file.parent))
    if not parts:
        sys.exit(f"{root}: no recorded predict() calls in tests/cases")
    # Only the columns every call had: calls that lacked one would leave it missing.
    shared = [c for c in parts[0].columns if all(c in part for part in parts)]
    return pd.concat([part[shared] for part in parts], ignore_index=True)


def repeated(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    copies = math.ceil(rows / len(frame))
    return pd.concat([frame] * copies, ignore_index=True).iloc[:rows]


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_seconds(action: Callable[[], object], runs: int) -> float:
    return statistics.median(seconds(action) for _ in range(runs))


def identity(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas without predict(): what moving the batches costs."""
    yield from batches


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--package", type=Path, help="a generated package folder")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to score")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (median)")
    parser.add_argument("--master", default="local[2]", help="Spark master")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nb2prod-bench-spark-") as temp:
        root = args.package or convert_sample(Path(temp))
        run(root, args.rows, args.runs, args.master, Path(temp))


def run(root: Path, rows: int, runs: int, master: str, temp: Path) -> None:
    module = spark_module(root)
    predict: Callable[[Any], Any] = module.predict
    frame = repeated(recorded_rows(root), rows)
    print(f"{root.name}: {len(frame):,} rows, {len(frame.columns)} columns")

    predict(frame.iloc[:100])  # loads the artifacts: Spark's warm runs have them too
    direct = median_seconds(lambda: predict(frame), runs)
    chunk_rows = 10_000  # spark.sql.execution.arrow.maxRecordsPerBatch's default
    chunks = [frame.iloc[i : i + chunk_rows] for i in range(0, len(frame), chunk_rows)]
    chunked = median_seconds(lambda: [predict(chunk) for chunk in chunks], runs)
    expected = int(pd.Series(predict(frame)).sum())

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(root / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    from pyspark.sql import SparkSession

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(master)
        .appName("nb2prod-bench-spark")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    try:
        # Read from Parquet, as a job would; spark.createDataFrame of a large pandas
        # frame holds it all in the driver's 1 GiB heap and crawls.
        frame.to_parquet(temp / "input.parquet", index=False)
        partitions = spark.sparkContext.defaultParallelism  # one per core
        data = spark.read.parquet(str(temp / "input.parquet"))
        data = data.repartition(partitions).cache()
        data.count()  # materialise the cache: reading the data is not scoring

        def noop(result: Any) -> Callable[[], None]:
            return lambda: result.write.format("noop").mode("overwrite").save()

        cold = seconds(noop(module.score(data)))
        warm = median_seconds(noop(module.score(data)), runs)
        moved = median_seconds(noop(data.mapInPandas(identity, data.schema)), runs)
        scan = median_seconds(noop(data), runs)
        scored = module.score(data).agg({"prediction": "sum"}).first()
        assert scored is not None
        total = int(scored[0])
    finally:
        spark.stop()
    if total != expected:
        sys.exit(f"Spark's predictions sum to {total:,}, predict()'s to {expected:,}")

    ratio = warm / direct
    print(f"Spark session start ({master}): {startup:.2f} s (not counted)")
    print(f"cached frame: {partitions} partitions, batches of {chunk_rows:,} rows")
    print()
    print(f"{'':<48} {'seconds':>8}")
    print(f"{'predict() on the whole pandas frame':<48} {direct:8.2f}")
    print(f"{'predict() on 10,000-row chunks, one process':<48} {chunked:8.2f}")
    print(f"{'score(), first run (workers start, load)':<48} {cold:8.2f}")
    print(f"{'score(), warm':<48} {warm:8.2f}")
    print(f"{'  identity mapInPandas (Arrow both ways, tasks)':<48} {moved:8.2f}")
    print(f"{'  plain pass over the cached frame':<48} {scan:8.2f}")
    print()
    print(f"Spark's predictions add up to predict()'s ({total:,} of {rows:,})")
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(
        f"warm score() / predict(): {ratio:.2f}x (target <= {TARGET_RATIO}x: {verdict})"
    )
    in_python = max(warm - moved, 0.0)
    print(
        f"of warm score()'s {warm:.2f} s: moving batches through Arrow and the "
        f"tasks {moved:.2f} s ({moved / warm:.0%}), predict() in the workers "
        f"about {in_python:.2f} s ({in_python / warm:.0%}) on "
        f"{partitions} partitions in parallel; the first run adds "
        f"{cold - warm:.2f} s of worker start-up and artifact loading"
    )


if __name__ == "__main__":
    main()
