"""<pkg>.spark: a package whose predict() takes a DataFrame, scored on a real Spark.

The fast tests check which packages get a spark.py and the Spark types it is given.
The slow ones convert, with execution, the churn sample (predict takes a DataFrame
and returns an array) and a small notebook whose predict returns a DataFrame, then
score with a local[2] SparkSession: recorded inputs and a 20,000-row frame in four
partitions give what predict() called directly gives, a frame that breaks the data
contract fails before any job starts, and `python -m <pkg>.spark` scores a file.
The packages are imported from their src folders, by this process and (through
PYTHONPATH, set before the session starts) by Spark's Python workers.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from conftest import SAMPLES, import_replay, run_cli

from nb2prod.plan.serving import SparkPlan, serving_plan, spark_plan
from notebooks import code, write

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CHURN = "churn_classification"
FRAMES = "frame_scores"
#: Rows of the generated frame scored in several partitions.
LARGE_ROWS = 20_000

slow = pytest.mark.slow


# Which packages get spark.py, and with which types (no Spark needed)


def contract(source: dict[str, Any], output: dict[str, Any], **more: Any) -> Any:
    """A recorded data contract of predict()."""
    return {"input": source, "output": output, "example": [], **more}


ROWS = {
    "kind": "dataframe",
    "columns": [
        {"name": "id", "dtype": "str", "type": "str", "nullable": False},
        {"name": "x", "dtype": "float64", "type": "float", "nullable": True},
        {"name": "n", "dtype": "int64", "type": "int", "nullable": False},
        {"name": "note", "dtype": "str", "type": "str", "optional": True},
    ],
}


def test_a_dataframe_predict_with_an_array_result_gets_a_prediction_column() -> None:
    spark = spark_plan(
        serving_plan(contract(ROWS, {"kind": "array", "ndim": 1, "type": "int"}))
    )
    assert spark == SparkPlan(
        columns=(
            ("id", "str", True),
            ("x", "float", True),
            ("n", "int", True),
            ("note", "str", False),
        ),
        output_columns=(),
        prediction="LongType()",
    )


@pytest.mark.parametrize(
    ("output", "spark_type"),
    [
        ({"kind": "array", "ndim": 1, "type": "float"}, "DoubleType()"),
        ({"kind": "series", "type": "bool"}, "BooleanType()"),
        ({"kind": "list", "type": "str"}, "StringType()"),
        ({"kind": "array", "ndim": 2, "type": "float"}, "ArrayType(T.DoubleType())"),
    ],
)
def test_the_prediction_type_follows_the_recorded_result(
    output: dict[str, Any], spark_type: str
) -> None:
    spark = spark_plan(serving_plan(contract(ROWS, output)))
    assert spark is not None
    assert spark.prediction == spark_type


def test_a_dataframe_result_gets_its_columns_from_the_recorded_example() -> None:
    example = [
        {"id": "a", "score": 1.0, "high": False, "rank": 10, "gap": None},
        {"id": "b", "score": 2, "high": True, "rank": 20, "gap": None},
    ]
    spark = spark_plan(
        serving_plan(contract(ROWS, {"kind": "dataframe"}, example_output=example))
    )
    assert spark is not None
    assert spark.output_columns == (
        ("id", "StringType()"),
        ("score", "DoubleType()"),
        ("high", "BooleanType()"),
        ("rank", "LongType()"),
        ("gap", "DoubleType()"),  # all missing: a float column in pandas
    )


@pytest.mark.parametrize(
    ("source", "output", "more"),
    [
        ({"kind": "list", "type": "str"}, {"kind": "list", "type": "str"}, {}),
        (ROWS, {"kind": "list", "type": "Any"}, {}),
        (ROWS, {"kind": "scalar", "type": "float"}, {}),
        (ROWS, {"kind": "dataframe"}, {"example_output": []}),
        (
            ROWS,
            {"kind": "dataframe"},
            {"example_output": [{"when": "2024-05-01T00:00:00"}]},
        ),
    ],
    ids=["list-input", "untyped-list", "scalar", "no-rows", "datetime-column"],
)
def test_no_spark_module_without_a_frame_input_and_a_typed_result(
    source: dict[str, Any], output: dict[str, Any], more: dict[str, Any]
) -> None:
    assert spark_plan(serving_plan(contract(source, output, **more))) is None


# Scoring on Spark


@dataclass(frozen=True)
class Package:
    """A converted package, imported in this process."""

    root: Path
    spark: ModuleType  # <pkg>.spark
    predict: Any
    cases: ModuleType  # tests/_replay/casefile.py
    compare: ModuleType  # tests/_replay/compare.py

    def recorded_inputs(self) -> list[pd.DataFrame]:
        """The frames the notebook passed to predict()."""
        frames = []
        for case_file in sorted(self.root.glob("tests/cases/predict/*/case.json")):
            case = json.loads(case_file.read_text("utf-8"))
            frames.append(self.cases.load(case["args"][0], case_file.parent))
        assert frames, "no recorded predict() calls"
        return frames

    def assert_equal(self, expected: Any, actual: Any) -> None:
        outcome = self.compare.compare(expected, actual, self.compare.Tolerance())
        assert outcome.equal, f"{outcome.where}: {outcome.detail}"


#: Set to 1 to skip, rather than fail, the Spark tests where Spark cannot run.
ALLOW_SKIP = "NB2PROD_ALLOW_SPARK_SKIP"


def spark_missing() -> str | None:
    """What keeps a local Spark from running here, or None."""
    if shutil.which("java") is None:
        return "Spark needs Java: no `java` on PATH (install a JRE 17 or newer)"
    for module, why in (("pyspark", "Spark"), ("pyarrow", "Spark's mapInPandas")):
        try:
            importlib.import_module(module)
        except ImportError:
            return f"{why} needs {module}: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def spark_runs() -> None:
    """Fail the Spark tests, before converting anything, where Spark cannot run.

    A green run must mean Spark scoring was tested: they are skipped only when
    NB2PROD_ALLOW_SPARK_SKIP=1 says so.
    """
    missing = spark_missing()
    if missing is None:
        return
    if os.environ.get(ALLOW_SKIP) == "1":
        pytest.skip(f"{missing} ({ALLOW_SKIP}=1)")
    pytest.fail(f"{missing}; or set {ALLOW_SKIP}=1 to skip the Spark tests")


@pytest.fixture(scope="module")
def out(spark_runs: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spark_packages")


@pytest.fixture(scope="module")
def churn_root(out: Path) -> Path:
    result = run_cli("convert", SAMPLES / f"{CHURN}.ipynb", "--out", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    return out / CHURN


@pytest.fixture(scope="module")
def frames_root(out: Path) -> Path:
    """A package whose predict() returns a DataFrame."""
    notebook = write(
        out / f"{FRAMES}.ipynb",
        code(
            "import pandas as pd\n"
            "rows = pd.DataFrame({'id': ['a', 'b', 'c'], 'x': [0.5, 1.5, 2.5], "
            "'n': [1, 2, 3]})"
        ),
        code(
            "import pandas as pd\n\n\n"
            "def predict(frame: pd.DataFrame) -> pd.DataFrame:\n"
            '    """A score, a flag and a rank per row."""\n'
            "    return pd.DataFrame({'id': frame['id'], 'score': frame['x'] * "
            "frame['n'], 'high': frame['x'] > 1, 'rank': frame['n'] * 10})",
            "nb2prod:predict",
        ),
        code("predict(rows)"),
    )
    result = run_cli("convert", notebook, "--out", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    return out / FRAMES


@pytest.fixture(scope="module")
def spark(churn_root: Path, frames_root: Path) -> Iterator[SparkSession]:
    """A local[2] session whose Python workers import both packages."""
    from pyspark.sql import SparkSession

    sources = [str(churn_root / "src"), str(frames_root / "src")]
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    with pytest.MonkeyPatch.context() as patch:
        # The workers get the environment the JVM starts with, so set it first.
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        patch.setenv("PYTHONPATH", os.pathsep.join([*sources, *inherited]))
        for source in sources:
            patch.syspath_prepend(source)
        session = (
            SparkSession.builder.master("local[2]")
            .appName("nb2prod-test-spark")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            session.stop()
            for name in list(sys.modules):
                if name.split(".")[0] in (CHURN, FRAMES):
                    del sys.modules[name]


def package(root: Path) -> Package:
    name = root.name
    replay = import_replay(f"_spark_{name}_replay", root)
    return Package(
        root=root,
        spark=importlib.import_module(f"{name}.spark"),
        predict=importlib.import_module(f"{name}.predict").predict,
        cases=replay[0],
        compare=replay[1],
    )


@pytest.fixture(scope="module")
def churn(spark: SparkSession, churn_root: Path) -> Package:
    return package(churn_root)


@pytest.fixture(scope="module")
def frames(spark: SparkSession, frames_root: Path) -> Package:
    return package(frames_root)


def largest_input(churn: Package) -> pd.DataFrame:
    return max(churn.recorded_inputs(), key=len).reset_index(drop=True)


@slow
def test_recorded_inputs_score_as_predict_does(
    spark: SparkSession, churn: Package
) -> None:
    for frame in churn.recorded_inputs():
        scored = churn.spark.score(spark.createDataFrame(frame)).toPandas()
        assert list(scored.columns) == [*frame.columns, "prediction"]
        churn.assert_equal(frame.reset_index(drop=True), scored[list(frame.columns)])
        churn.assert_equal(churn.predict(frame), scored["prediction"].to_numpy())


@slow
def test_a_large_frame_in_several_partitions_scores_as_predict_does(
    spark: SparkSession, churn: Package
) -> None:
    rows = largest_input(churn)
    large = rows.iloc[[i % len(rows) for i in range(LARGE_ROWS)]]
    large = large.reset_index(drop=True).assign(row=range(LARGE_ROWS))
    frame = spark.createDataFrame(large).repartition(4)
    assert frame.rdd.getNumPartitions() == 4
    scored = churn.spark.score(frame).toPandas()
    scored = scored.sort_values("row").reset_index(drop=True)
    assert len(scored) == LARGE_ROWS
    churn.assert_equal(churn.predict(large), scored["prediction"].to_numpy())


def jobs_run(spark: SparkSession) -> set[int]:
    return set(spark.sparkContext.statusTracker().getJobIdsForGroup())


@slow
def test_a_missing_column_fails_before_any_job_runs(
    spark: SparkSession, churn: Package
) -> None:
    frame = spark.createDataFrame(largest_input(churn)).drop("contract")
    before = jobs_run(spark)
    with pytest.raises(churn.spark.ContractError) as raised:
        churn.spark.score(frame)
    assert "missing column(s): contract" in str(raised.value)
    assert jobs_run(spark) == before


@slow
def test_a_mistyped_column_fails_naming_it(spark: SparkSession, churn: Package) -> None:
    frame = spark.createDataFrame(largest_input(churn))
    frame = frame.withColumn("tenure_months", frame["tenure_months"].cast("string"))
    before = jobs_run(spark)
    with pytest.raises(churn.spark.ContractError, match="tenure_months is string"):
        churn.spark.score(frame)
    assert jobs_run(spark) == before


@slow
def test_an_optional_column_may_be_left_out(
    spark: SparkSession, churn: Package
) -> None:
    rows = largest_input(churn).drop(
        columns=["customer_id", "churned"], errors="ignore"
    )
    scored = churn.spark.score(spark.createDataFrame(rows)).toPandas()
    churn.assert_equal(churn.predict(rows), scored["prediction"].to_numpy())


@slow
def test_a_missing_value_where_the_notebook_had_none_is_never_scored(
    spark: SparkSession, churn: Package
) -> None:
    from pyspark.sql import functions as F

    column = churn.spark.NOT_NULL[0]
    frame = spark.createDataFrame(largest_input(churn))
    first = frame.first()
    assert first is not None
    blank = F.when(F.col(column) == first[column], None).otherwise(F.col(column))
    frame = frame.withColumn(column, blank)
    rejected = churn.spark.rejects(frame).toPandas()
    assert len(rejected) >= 1
    assert set(rejected["reason"]) == {f"{column}: missing"}
    assert churn.spark.rejects(frame.filter(~churn.spark.broken(frame))).count() == 0
    with pytest.raises(Exception, match="where the notebook's data had"):
        churn.spark.score(frame).collect()


@slow
def test_a_dataframe_result_keeps_its_columns_and_types(
    spark: SparkSession, frames: Package
) -> None:
    rows = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(1_000)],
            "x": [i / 7 for i in range(1_000)],
            "n": list(range(1_000)),
        }
    )
    scored = frames.spark.score(spark.createDataFrame(rows))
    assert scored.dtypes == [
        ("id", "string"),
        ("score", "double"),
        ("high", "boolean"),
        ("rank", "bigint"),
    ]
    for frame in [*frames.recorded_inputs(), rows]:
        result = frames.spark.score(spark.createDataFrame(frame)).toPandas()
        frames.assert_equal(frames.predict(frame).reset_index(drop=True), result)


@slow
def test_csv_is_read_by_column_name_and_written(
    spark: SparkSession, churn: Package, tmp_path: Path
) -> None:
    rows = largest_input(churn)
    rows[rows.columns[::-1]].to_csv(tmp_path / "in.csv", index=False)
    module = churn.spark
    scored = module.score(module.read(spark, str(tmp_path / "in.csv"), "csv"))
    module.write(scored, str(tmp_path / "out.csv"), "csv", overwrite=False)
    parts = sorted((tmp_path / "out.csv").glob("part-*.csv"))
    written = pd.concat([pd.read_csv(part) for part in parts], ignore_index=True)
    churn.assert_equal(churn.predict(rows), written["prediction"].to_numpy())


@dataclass(frozen=True)
class Command:
    """One run of `python -m <pkg>.spark`."""

    folder: Path
    returncode: int
    output: str  # stdout and stderr


@pytest.fixture(scope="module")
def commands(
    churn: Package, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Command]:
    """The command on a good and on a bad Parquet file, run side by side.

    Each starts its own JVM (most of its time); their workers' Python is left for
    the command to choose.
    """
    rows = largest_input(churn)
    inputs = {"good": rows, "bad": rows.drop(columns=["support_calls"])}
    environment = {k: v for k, v in os.environ.items() if k != "PYSPARK_PYTHON"}
    environment["PYTHONPATH"] = str(churn.root / "src")
    started = {}
    for name, frame in inputs.items():
        folder = tmp_path_factory.mktemp(f"spark_command_{name}")
        frame.to_parquet(folder / "in.parquet", index=False)  # Spark needs pyarrow
        command = [
            sys.executable, "-m", f"{CHURN}.spark", "in.parquet", "out.parquet",
            *(["--master", "local[1]"] if name == "good" else []),
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started[name] = (folder, process)
    done = {}
    for name, (folder, process) in started.items():
        try:
            output, _ = process.communicate(timeout=180)
        finally:
            process.kill()
        done[name] = Command(folder, process.returncode, output)
    return done


@slow
def test_the_command_scores_a_parquet_file(
    churn: Package, commands: dict[str, Command]
) -> None:
    command = commands["good"]
    assert command.returncode == 0, command.output
    rows = largest_input(churn)
    scored = pd.read_parquet(command.folder / "out.parquet")  # a folder of parts
    assert list(scored.columns) == [*rows.columns, "prediction"]
    churn.assert_equal(churn.predict(rows), scored["prediction"].to_numpy())


@slow
def test_the_command_names_a_missing_column(commands: dict[str, Command]) -> None:
    command = commands["bad"]
    assert command.returncode == 2, command.output
    assert "missing column(s): support_calls" in command.output
    assert not (command.folder / "out.parquet").exists()
