"""convert and verify replay predict's recorded calls through every interface the
package has: a real uvicorn server (HTTP), ``python -m <pkg>.batch`` through CSV and
Parquet files (columns in another order, an extra column first), and Spark.

Each notebook converts once (module-scoped), with the interfaces asked for in its
folder's ``[tool.nb2prod]`` table (the suite's conftest sets NB2PROD_INTERFACES=direct
for every other test). A hand-edited server shows that a difference is reported,
naming the interface.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, Run, run_cli

from nb2prod.errors import UsageError
from nb2prod.run.interfaces import replay_interfaces
from nb2prod.settings import INTERFACES, job_for, parse_interfaces
from nb2prod.standalone.compare import Tolerance
from notebooks import code, write


@dataclass(frozen=True)
class Converted:
    """One notebook converted with its interfaces replayed."""

    run: Run
    notebook: Path
    out: Path
    report: dict[str, Any]

    def interface(self, name: str) -> dict[str, Any]:
        return next(i for i in self.report["interfaces"] if i["interface"] == name)

    @property
    def package(self) -> Path:
        return self.out / self.notebook.stem


def convert(folder: Path, notebook: Path, interfaces: str) -> Converted:
    """``nb2prod convert`` of ``notebook`` in ``folder`` whose table asks for ``interfaces``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f'[tool.nb2prod]\ninterfaces = "{interfaces}"\n', "utf-8"
    )
    if notebook.parent != folder:
        notebook = Path(shutil.copy(notebook, folder))
    out, report = folder / "out", folder / "report.json"
    run = run_cli("convert", notebook, "--out", out, "--json", report)
    return Converted(run, notebook, out, json.loads(report.read_text("utf-8")))


def null_city_notebook(path: Path) -> Path:
    """A frame predict with a string column imputed by SimpleImputer; its second call
    has that column missing in every row (as a request whose rows all say null)."""
    return write(
        path,
        code(
            "import numpy as np\nimport pandas as pd\n\n"
            "rng = np.random.default_rng(0)\n"
            "data = pd.DataFrame({'city': rng.choice(['paris', 'lyon', 'nice'], 300, "
            "p=[0.6, 0.3, 0.1]), 'x': rng.normal(size=300)})\n"
            "data['y'] = ((data['city'] == 'paris') ^ (data['x'] > 0.5)).astype(int)"
        ),
        code(
            "from sklearn.compose import make_column_transformer\n"
            "from sklearn.impute import SimpleImputer\n"
            "from sklearn.linear_model import LogisticRegression\n"
            "from sklearn.pipeline import make_pipeline\n"
            "from sklearn.preprocessing import OneHotEncoder\n\n"
            "city = make_pipeline(\n"
            "    SimpleImputer(strategy='most_frequent'),\n"
            "    OneHotEncoder(handle_unknown='ignore'),\n"
            ")\n"
            "model = make_pipeline(\n"
            "    make_column_transformer((city, ['city']), ('passthrough', ['x'])),\n"
            "    LogisticRegression(),\n"
            ").fit(data[['city', 'x']], data['y'])",
            "nb2prod:artifact",
        ),
        code(
            "import pandas as pd\n\n\n"
            "def predict(frame: pd.DataFrame):\n"
            '    """Probability of y."""\n'
            "    return model.predict_proba(frame[['city', 'x']])[:, 1]",
            "nb2prod:predict",
        ),
        code("predict(data.head(20))"),
        code(
            "unknown = data.head(10).assign(city=lambda d: d['city'].where(d['x'] > 9))\n"
            "predict(unknown)"
        ),
    )


@pytest.fixture(scope="module")
def null_city(tmp_path_factory: pytest.TempPathFactory) -> Converted:
    folder = tmp_path_factory.mktemp("null-city")
    return convert(folder, null_city_notebook(folder / "null_city.ipynb"), "http,batch")


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Converted:
    folder = tmp_path_factory.mktemp("churn")
    return convert(folder, SAMPLES / "churn_classification.ipynb", "all")


@pytest.fixture(scope="module")
def tickets(tmp_path_factory: pytest.TempPathFactory) -> Converted:
    folder = tmp_path_factory.mktemp("tickets")
    return convert(folder, SAMPLES / "ticket_triage_text.ipynb", "all")


def test_an_all_null_string_column_over_http_is_filled_as_in_the_notebook(
    null_city: Converted,
) -> None:
    # A request whose city is null in every row reaches predict() with the
    # notebook's missing marker (NaN), so SimpleImputer fills it as it did there.
    assert null_city.run.exit_code == 0, null_city.run.stdout
    assert null_city.report["ok"] is True
    for name in ("HTTP", "HTTP columns", "batch CSV", "batch Parquet"):
        found = null_city.interface(name)
        assert found["status"] == "equivalent", found
        assert [c["equal"] for c in found["calls"]] == [True, True]


def test_verify_replays_through_the_interfaces_too(null_city: Converted) -> None:
    again = run_cli("verify", null_city.notebook, "--out", null_city.out)
    assert again.exit_code == 0, again.stdout
    assert "predict through HTTP" in again.stdout
    assert (
        "through direct, HTTP, HTTP columns, batch CSV, batch Parquet" in again.stdout
    )


def verify_with_serve_edited(
    converted: Converted, tmp_path: Path, line: str, edited: str, interfaces: str
) -> tuple[Run, dict[str, Any], Path]:
    """`verify` of a copy of the package whose serve.py has ``line`` replaced by
    ``edited``: its result, its JSON report and the copy's folder."""
    notebook = Path(shutil.copy(converted.notebook, tmp_path))
    out = Path(shutil.copytree(converted.out, tmp_path / "out"))
    (serve,) = out.glob("*/src/*/serve.py")
    text = serve.read_text("utf-8")
    assert line in text
    serve.write_text(text.replace(line, edited), "utf-8")
    result = run_cli(
        "verify", notebook, "--out", out, "--interfaces", interfaces,
        "--json", tmp_path / "report.json",
    )  # fmt: skip
    assert result.exit_code == 1, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    return result, report, out


def test_a_server_that_answers_differently_is_a_mismatch_naming_http(
    null_city: Converted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _, report, out = verify_with_serve_edited(
        null_city,
        tmp_path,
        "    return predict(to_frame(request.rows))\n",
        "    return predict(to_frame(request.rows).iloc[::-1])\n",
        "http,batch",
    )
    assert report["ok"] is False
    http = next(i for i in report["interfaces"] if i["interface"] == "HTTP")
    assert http["status"] == "mismatch"
    assert http["mismatches"][0].startswith("HTTP: call 001 row 0: expected")
    # The direct call and the batch files still give the notebook's answers.
    assert all(f["equal"] == f["calls"] for f in report["functions"])
    for other in report["interfaces"]:
        if other["interface"] != "HTTP":
            assert other["status"] == "equivalent", other
    # The CI summary and the review page name the interface too.
    markdown = summary.read_text("utf-8")
    assert "| HTTP | 2 | ❌ mismatch |" in markdown
    assert "| batch CSV | 2 | ✅ equivalent |" in markdown
    assert "1 interface(s) differ" in markdown
    assert "- mismatch: HTTP: call 001 row 0: expected" in markdown
    (page,) = out.glob("*/build/review.html")
    html = page.read_text("utf-8")
    assert "predict through its interfaces" in html
    assert "HTTP: call 001 row 0: expected" in html


def test_a_server_that_answers_columns_differently_is_a_mismatch_naming_them(
    null_city: Converted, tmp_path: Path
) -> None:
    result, report, _ = verify_with_serve_edited(
        null_city,
        tmp_path,
        "    return framed([columns.get(name, missing) for name in COLUMN_LISTS])\n",
        "    return framed([columns.get(name, missing)[::-1] for name in COLUMN_LISTS])\n",
        "http",
    )
    statuses = {i["interface"]: i["status"] for i in report["interfaces"]}
    assert statuses == {"HTTP": "equivalent", "HTTP columns": "mismatch"}
    assert "mismatch: HTTP columns: call 001 row 0: expected" in result.stdout


def test_the_interfaces_option_wins_over_the_table(null_city: Converted) -> None:
    direct = run_cli(
        "verify", null_city.notebook, "--out", null_city.out, "--interfaces", "direct"
    )
    assert direct.exit_code == 0, direct.stdout
    assert "predict through" not in direct.stdout
    assert "every recorded call matches, through direct (" in direct.stdout
    wrong = run_cli("verify", null_city.notebook, "--interfaces", "http,soap")
    assert wrong.exit_code == 2
    assert "--interfaces: 'http,soap': name 'all', 'direct'" in wrong.stderr


def test_a_dataframe_sample_is_equivalent_through_http_batch_and_spark(
    churn: Converted,
) -> None:
    assert churn.run.exit_code == 0, churn.run.stdout + churn.run.stderr
    names = [i["interface"] for i in churn.report["interfaces"]]
    assert names == ["HTTP", "HTTP columns", "batch CSV", "batch Parquet", "Spark"]
    for interface in churn.report["interfaces"]:
        assert interface["status"] == "equivalent", interface
        assert len(interface["calls"]) == 4
        assert all(call["rows"] > 0 for call in interface["calls"])
    assert "predict through Spark" in churn.run.stdout
    assert (
        "through direct, HTTP, HTTP columns, batch CSV, batch Parquet, Spark"
        in churn.run.stdout
    )


def test_the_regression_sample_is_equivalent_through_http_and_batch(
    tmp_path: Path,
) -> None:
    diabetes = convert(tmp_path, SAMPLES / "diabetes_regression.ipynb", "http,batch")
    assert diabetes.run.exit_code == 0, diabetes.run.stdout
    statuses = {i["interface"]: i["status"] for i in diabetes.report["interfaces"]}
    assert statuses == dict.fromkeys(
        ("HTTP", "HTTP columns", "batch CSV", "batch Parquet"), "equivalent"
    )


def test_a_list_of_texts_sample_is_equivalent_over_http(tickets: Converted) -> None:
    assert tickets.interface("HTTP")["status"] == "equivalent"
    assert len(tickets.interface("HTTP")["calls"]) == 4


def test_batch_scores_the_named_text_column_of_a_file_with_an_id_first(
    tickets: Converted,
) -> None:
    # The file has an id column first: batch reads the column --column names,
    # never the first one.
    assert tickets.run.exit_code == 0, tickets.run.stdout
    for name in ("batch CSV", "batch Parquet"):
        assert tickets.interface(name)["status"] == "equivalent"
        assert len(tickets.interface(name)["calls"]) == 4


def test_a_2d_array_predict_is_equivalent_over_http_and_in_batch(
    tmp_path: Path,
) -> None:
    notebook = write(
        tmp_path / "matrix.ipynb",
        code(
            "import numpy as np\n\nrng = np.random.default_rng(1)\n"
            "X = rng.normal(size=(200, 3))\ny = X @ [1.0, -2.0, 0.5]"
        ),
        code(
            "from sklearn.linear_model import LinearRegression\n\n"
            "model = LinearRegression().fit(X, y)",
            "nb2prod:artifact",
        ),
        code(
            "import numpy as np\n\n\n"
            "def predict(features: np.ndarray) -> np.ndarray:\n"
            '    """y for each row."""\n'
            "    return model.predict(features)",
            "nb2prod:predict",
        ),
        code("predict(X[:20])"),
    )
    matrix = convert(tmp_path, notebook, "http,batch")
    assert matrix.run.exit_code == 0, matrix.run.stdout
    for name in ("HTTP", "batch CSV", "batch Parquet"):
        assert matrix.interface(name)["status"] == "equivalent"


def test_an_interface_the_package_lacks_is_said_not_run(tickets: Converted) -> None:
    spark = tickets.interface("Spark")
    assert spark["status"] == "not run (the package has no Spark module)"
    assert spark["calls"] == []
    assert "Spark: not run (the package has no Spark module)" in tickets.run.stdout


def test_spark_without_java_is_said_not_run(
    churn: Converted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no java there
    (spark,) = replay_interfaces(
        Path(sys.executable),
        churn.package / "src",
        "churn_classification",
        "predict",
        churn.package / "tests" / "cases",
        Tolerance(),
        ("spark",),
    )
    assert spark.skipped == "not run (no java on PATH)"
    assert spark.ok and spark.status == spark.skipped


def test_a_server_that_does_not_start_is_a_failure_with_its_output(
    null_city: Converted, tmp_path: Path
) -> None:
    package = tmp_path / "broken"
    shutil.copytree(null_city.package, package)
    serve = package / "src" / "null_city" / "serve.py"
    serve.write_text(
        serve.read_text("utf-8") + '\nraise RuntimeError("broken on purpose")\n'
    )
    (http,) = replay_interfaces(
        Path(sys.executable),
        package / "src",
        "null_city",
        "predict",
        package / "tests" / "cases",
        Tolerance(),
        ("http",),
    )
    assert not http.ok and http.calls == ()
    assert "the server exited with code 1 before answering /health" in http.error
    assert "RuntimeError: broken on purpose" in http.error
    assert http.mismatches[0].startswith("HTTP: the server exited")


def test_interfaces_are_chosen_once_in_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parse_interfaces("all") == INTERFACES
    assert parse_interfaces("direct") == ()
    assert parse_interfaces("batch, HTTP") == ("http", "batch")
    with pytest.raises(ValueError, match="'htp'"):
        parse_interfaces("htp")
    notebook = tmp_path / "n.ipynb"
    monkeypatch.setenv("NB2PROD_INTERFACES", "http")
    assert job_for(notebook).interfaces == ("http",)
    monkeypatch.setenv("NB2PROD_INTERFACES", "bogus")
    with pytest.raises(UsageError, match=r"^\$NB2PROD_INTERFACES: 'bogus'"):
        job_for(notebook)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nb2prod]\ninterfaces = "spark,direct"\n', "utf-8"
    )
    assert job_for(notebook).interfaces == ("spark",)  # the table wins


def test_a_bad_interfaces_value_in_the_project_is_one_line_and_exit_1(
    tmp_path: Path,
) -> None:
    notebook = null_city_notebook(tmp_path / "n.ipynb")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nb2prod]\ninterfaces = "http,grpc"\n', "utf-8"
    )
    result = run_cli("convert", notebook)
    assert result.exit_code == 1  # a bad [tool.nb2prod], like any other key's
    assert "[tool.nb2prod]: 'interfaces': 'http,grpc': name 'all', 'direct'" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
