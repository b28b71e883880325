"""Replay in a clean environment: only the package and what it declares.

One held-in notebook has what hid missing dependencies before: a predict input that
is a pickled DataFrame with string columns (pandas 3 stores them as Arrow arrays,
so the pickle needs pyarrow), a helper module beside the notebook
(``from helpers import normalise``), and a feature function whose calls showed
numpy arrays although no shipped cell imports numpy. It converts with
``--isolation venv`` (a real uv environment), and breaking its declarations makes
the clean replay fail with a located message.
"""

from __future__ import annotations

import ast
import fcntl
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import joblib
import pandas as pd
import pytest
import skops.io
from conftest import SAMPLES, run_cli
from sklearn.linear_model import LogisticRegression

from nb2prod.errors import CleanEnvironmentError
from nb2prod.plan.pickled import modules_in, pickle_modules
from nb2prod.run.environment import (
    MARKER,
    clean_environment,
    declared,
    key,
    uv_binary,
)
from nb2prod.run.interfaces import spark_can_run
from nb2prod.run.pip_settings import pip_config, uv_index_options
from nb2prod.settings import DEFAULT_CACHE_ENVIRONMENTS, job_for
from notebooks import code, write

HELPERS = "def normalise(city):\n    return city.strip().title()\n"


def _notebook(folder: Path) -> Path:
    (folder / "helpers.py").write_text(HELPERS)
    return write(
        folder / "shop.ipynb",
        code("import numpy as np\nimport pandas as pd"),
        code("from helpers import normalise", "nb2prod:export"),
        code("def scaled(values):\n    return values * 2.5", "nb2prod:feature"),
        code(
            "def predict(frame):\n"
            '    cities = frame["city"].map(normalise)\n'
            '    counts = frame["tags"].map(len).to_numpy()\n'
            "    return scaled(counts) + cities.str.len().to_numpy()",
            "nb2prod:predict",
        ),
        code(
            # A column of lists keeps the frame out of CSV: its case file is a pickle.
            'df = pd.DataFrame({"city": [" paris", "lyon ", "Nice"],\n'
            '                   "tags": [["a"], ["b", "c"], []]})\n'
            "print(predict(df), scaled(np.array([1.0, 2.0])))"
        ),
    )


def _dependencies(package: Path) -> list[str]:
    data = tomllib.loads((package / "pyproject.toml").read_text("utf-8"))
    return [str(d) for d in data["project"]["dependencies"]]


def _names(requirements: list[str]) -> set[str]:
    return {r.split(">")[0].split("=")[0].split("[")[0] for r in requirements}


def _normalised(distribution: str) -> str:
    return distribution.lower().replace("_", "-")


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Converted twice in a clean environment: the second reuses the first's."""
    assert uv_binary(), "uv is one of nb2prod's dependencies"
    folder = tmp_path_factory.mktemp("clean")
    notebook = _notebook(folder)
    seconds = []
    for run in (1, 2):
        started = time.perf_counter()
        result = run_cli(
            "convert", notebook, "--isolation", "venv", "--json", folder / f"{run}.json"
        )
        seconds.append(time.perf_counter() - started)
        assert result.exit_code == 0, result.stdout + result.stderr
    print(f"\nconvert in a clean environment: cold {seconds[0]:.1f} s, warm "
          f"{seconds[1]:.1f} s")  # fmt: skip
    return {"folder": folder, "notebook": notebook, "package": folder / "shop",
            "seconds": seconds, "stdout": result.stdout}  # fmt: skip


def test_pickled_strings_declare_pyarrow_and_replay_equal(
    converted: dict[str, object],
) -> None:
    package = Path(str(converted["package"]))
    case = package / "tests" / "cases" / "predict" / "001"
    assert (case / "arg0.pkl").is_file()  # the frame really is a pickle
    assert "pyarrow.lib" in pickle_modules((case / "arg0.pkl").read_bytes())
    names = _names(_dependencies(package))
    assert {"pandas", "pyarrow"} <= names
    assert "equivalent: every recorded call matches" in str(converted["stdout"])
    assert "replayed in a clean environment" in str(converted["stdout"])
    report = json.loads(Path(str(converted["folder"]), "2.json").read_text())
    assert report["ok"]
    # Replayed against the package installed from its folder, not its source.
    assert "nb2prod-site-" in report["package_file"], report["package_file"]


def test_helper_module_ships_and_replays_in_the_clean_environment(
    converted: dict[str, object],
) -> None:
    package = Path(str(converted["package"]))
    assert (package / "src" / "shop" / "helpers.py").read_text().endswith(HELPERS)
    assert (
        "from .helpers import normalise"
        in (package / "src" / "shop" / "predict.py").read_text()
    )


def test_numpy_the_annotations_import_is_declared(tmp_path: Path) -> None:
    """No shipped cell imports numpy, but the calls showed ndarrays, so the module
    gets ``import numpy as np`` for its annotations: numpy must be declared, or the
    package fails to import after ``pip install`` (the clean replay says so)."""
    notebook = write(
        tmp_path / "scale.ipynb",
        code("import numpy as np"),
        code("def scaled(values):\n    return values * 2.5", "nb2prod:feature"),
        code("scaled(np.array([1.0, 2.0]))"),
    )
    result = run_cli("convert", notebook, "--isolation", "venv")
    assert result.exit_code == 0, result.stdout + result.stderr
    package = tmp_path / "scale"
    features = (package / "src" / "scale" / "features.py").read_text()
    assert "import numpy as np" in features
    assert "numpy" in _names(_dependencies(package))


def test_what_serve_and_batch_import_is_declared(tmp_path: Path) -> None:
    """The notebook's code uses pandas alone, but serve.py builds a columns request's
    number columns with numpy, and imports pydantic-core, typing-extensions and
    httptools directly: each is declared, not left to come with another."""
    notebook = write(
        tmp_path / "doubling.ipynb",
        code(
            "import pandas as pd\n\ndf = pd.DataFrame({'a': [1.0, 2.0], 'b': ['x', 'y']})"
        ),
        code(
            "import pandas as pd\n\n\ndef predict(frame: pd.DataFrame) -> list[float]:\n"
            "    return (frame['a'] * 2).tolist()",
            "nb2prod:predict",
        ),
        code("predict(df)"),
    )
    result = run_cli("convert", notebook)
    assert result.exit_code == 0, result.stdout + result.stderr
    package = tmp_path / "doubling"
    serve = (package / "src" / "doubling" / "serve.py").read_text()
    assert "\nimport numpy as np\n" in serve
    names = {_normalised(name) for name in _names(_dependencies(package))}
    providers = packages_distributions()
    for module in ("serve", "batch"):
        tree = ast.parse((package / "src" / "doubling" / f"{module}.py").read_text())
        imported = {
            name.partition(".")[0]
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
            and not getattr(node, "level", 0)
            for name in (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
            )
        }
        for name in sorted(imported - set(sys.stdlib_module_names) - {"__future__"}):
            found = {_normalised(d) for d in providers.get(name, [])}
            assert (
                found & names
            ), f"{module}.py imports {name}, declared by none of {found}"


def test_the_environment_is_built_once_and_reused(
    converted: dict[str, object],
) -> None:
    package = Path(str(converted["package"]))
    envs = Path(os.environ["NB2PROD_CACHE_DIR"]) / "envs"
    complete = [e for e in envs.iterdir() if (e / MARKER).is_file()]
    assert key(declared(package / "pyproject.toml")) in [e.name for e in complete]
    assert not [e for e in envs.iterdir() if ".building-" in e.name]
    with clean_environment(package) as environment:
        assert environment.reused and environment.build_seconds == 0.0
        assert (environment.site / "shop" / "helpers.py").is_file()
    cold, warm = (float(s) for s in converted["seconds"])  # type: ignore[attr-defined]
    assert warm < cold


def test_an_undeclared_dependency_is_a_located_finding(
    converted: dict[str, object], tmp_path: Path
) -> None:
    """pyarrow removed from the declarations: the clean replay says what and where."""
    copy = tmp_path / "copy"
    shutil.copytree(Path(str(converted["folder"])), copy)
    pyproject = copy / "shop" / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        "".join(line for line in text.splitlines(True) if '"pyarrow' not in line)
    )
    result = run_cli("verify", copy / "shop.ipynb", "--isolation", "venv")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert (
        "replaying in a clean environment: predict/001 raised ModuleNotFoundError: "
        "No module named 'pyarrow'" in message
    )
    assert "does not declare pyarrow" in message
    assert "tests/cases/predict/001/arg0.pkl" in message


def test_saved_files_name_their_modules(tmp_path: Path) -> None:
    """joblib files (raw array bytes between opcodes) and plain pickles alike."""
    frame = pd.DataFrame({"city": ["a", "b"], "n": [1.5, 2.5]})
    joblib.dump(frame, tmp_path / "f.joblib")
    found = modules_in(
        {
            "tests/fixtures/t/f.joblib": (tmp_path / "f.joblib").read_bytes(),
            "tests/cases/p/001/arg0.pkl": pickle.dumps(frame, protocol=5),
            "tests/cases/p/001/old.pkl": pickle.dumps(frame, protocol=0),
        }
    )
    assert {"pandas", "numpy", "pyarrow", "joblib"} <= found
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    skops.io.dump(model, tmp_path / "model.skops")
    found = modules_in(
        {"src/p/artifacts/model.skops": (tmp_path / "model.skops").read_bytes()}
    )
    assert "sklearn" in found


def test_concurrent_builds_share_one_complete_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two replays at once build one environment; a folder without the marker
    (a build that was killed) is rebuilt, never used."""
    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    package = tmp_path / "tiny"
    _tiny(package)
    half = tmp_path / "cache" / "envs" / key([])
    half.mkdir(parents=True)
    (half / "junk").write_text("a build that was killed")
    reused: list[bool] = []

    def one() -> None:
        with clean_environment(package) as environment:
            assert (environment.site / "tiny" / "__init__.py").is_file()
            reused.append(environment.reused)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reused) == [False, True]
    assert (half / MARKER).is_file() and not (half / "junk").exists()


def test_the_least_recently_used_environments_go_but_never_one_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each build keeps at most ``keep`` environments: the least recently used (not
    the oldest) go first, one a replay holds stays, and so does a build in progress;
    what killed builds left goes."""
    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    envs = tmp_path / "cache" / "envs"
    packages = {}
    for name in "abcde":
        # A requirement whose marker never holds: a dependency set of its own, which
        # installs nothing (and needs no index).
        packages[name] = tmp_path / name
        _tiny(packages[name], f"\"nb2prod-absent-{name}; python_version < '3'\"")

    def root(name: str) -> str:
        return key(declared(packages[name] / "pyproject.toml"))

    def kept() -> set[str]:
        names = {root(n): n for n in packages}
        return {names.get(e.name, e.name) for e in envs.iterdir() if e.is_dir()}

    for name in "abc":
        with clean_environment(packages[name], keep=3) as environment:
            assert not environment.reused
    assert kept() == set("abc")
    with clean_environment(packages["a"], keep=3) as environment:
        assert environment.reused  # a is now the most recently used
    killed = envs / f"{root('e')}.building-x1"
    killed.mkdir()
    building = envs / f"{'0' * 20}.building-x2"  # its lock is held: being built
    building.mkdir()
    with (envs / f"{'0' * 20}.lock").open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with clean_environment(packages["d"], keep=2):
            pass
    assert kept() == {"a", "d", building.name}  # b and c were used least recently
    assert not killed.exists()
    with clean_environment(packages["a"], keep=2) as environment:
        with clean_environment(packages["e"], keep=1):
            # d went; a, although used less recently than d was built, is in use.
            assert kept() == {"a", "e"}
        assert (environment.site / "tiny" / "__init__.py").is_file()
        assert (environment.python.parent.parent / MARKER).is_file()


def test_cache_environments_in_the_project_table_bounds_convert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set to 1, a convert that builds its environment removes the one it had."""
    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    notebook = write(
        tmp_path / "n.ipynb",
        code("def double(x):\n    return 2 * x", "nb2prod:predict"),
        code("double(21)"),
    )
    assert job_for(notebook).cache_environments == DEFAULT_CACHE_ENVIRONMENTS
    for value, message in [
        ("0", "'cache-environments' must be at least 1"),
        ("1.5", "'cache-environments' must be an integer, not 1.5"),
    ]:
        (tmp_path / "pyproject.toml").write_text(
            f"[tool.nb2prod]\ncache-environments = {value}\n"
        )
        result = run_cli("convert", notebook, "--no-execute")
        assert result.exit_code == 1 and message in result.stderr, result.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.nb2prod]\ncache-environments = 1\n")
    assert job_for(notebook).cache_environments == 1
    earlier = tmp_path / "cache" / "envs" / ("0" * 20)
    earlier.mkdir(parents=True)
    (earlier / MARKER).write_text("{}")
    result = run_cli("convert", notebook, "--isolation", "venv")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "replayed in a clean environment" in result.stdout
    assert not earlier.exists()


def _tiny(package: Path, dependencies: str = "") -> None:
    (package / "src" / "tiny").mkdir(parents=True)
    (package / "src" / "tiny" / "__init__.py").write_text("VALUE = 1\n")
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.21"]\n'
        'build-backend = "hatchling.build"\n[project]\nname = "tiny"\n'
        f'version = "0.1.0"\ndependencies = [{dependencies}]\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/tiny"]\n'
    )


def test_an_environment_that_cannot_be_built_is_one_error_and_never_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    _tiny(tmp_path / "tiny", '"absent @ file:///nonexistent/nb2prod-absent"')
    with (
        pytest.raises(CleanEnvironmentError) as raised,
        clean_environment(tmp_path / "tiny"),
    ):
        pass
    assert "installing the package's dependencies in a clean environment failed" in str(
        raised.value
    )
    assert "--isolation none" in str(raised.value)
    assert [p.name for p in (tmp_path / "cache" / "envs").iterdir()] == [
        f"{key(['absent @ file:///nonexistent/nb2prod-absent'])}.lock"
    ]


def test_isolation_is_checked_where_it_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = write(
        tmp_path / "nb.ipynb", code("def f(x):\n    return x", "nb2prod:export")
    )
    (tmp_path / "pyproject.toml").write_text('[tool.nb2prod]\nisolation = "docker"\n')
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 1
    assert "'isolation': must be one of venv, none, not 'docker'" in result.stderr
    result = run_cli("convert", notebook, "--isolation", "docker")
    assert result.exit_code == 2
    (tmp_path / "pyproject.toml").unlink()
    monkeypatch.setenv("NB2PROD_ISOLATION", "docker")
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 2
    assert (
        "$NB2PROD_ISOLATION: must be one of venv, none, not 'docker'" in result.stderr
    )


def test_uv_gets_the_indexes_pip_is_configured_with() -> None:
    """Read in-process, pip's settings are what `pip config list` reports."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    reported = {
        line.partition("=")[0].rpartition(".")[2]: line.partition("=")[2].strip("'")
        for line in listed.splitlines()
    }
    ours = pip_config()
    for option in ("index-url", "extra-index-url", "find-links", "constraint"):
        assert ours.get(option, "").split() == reported.get(option, "").split()
    options = uv_index_options()
    for url in ours.get("extra-index-url", "").split():
        assert options[options.index(url) - 1] == "--extra-index-url"


def test_find_links_and_constraints_that_are_not_there_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pip warns and goes on when a find-links folder or constraints file is missing
    # (a machine set up elsewhere); uv would fail the whole clean environment.
    wheels, constraints = tmp_path / "wheels", tmp_path / "constraints.txt"
    wheels.mkdir()
    constraints.write_text("six<2\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_FIND_LINKS", f"{tmp_path / 'gone'} {wheels}")
    monkeypatch.setenv("PIP_CONSTRAINT", f"{tmp_path / 'gone.txt'} {constraints}")
    pip_config.cache_clear()
    try:
        options = uv_index_options()
    finally:
        pip_config.cache_clear()
    assert options == [
        "--index-strategy", "unsafe-best-match",
        "--find-links", str(wheels), "--constraint", str(constraints),
    ]  # fmt: skip


def test_a_sample_is_equivalent_over_http_batch_and_spark_in_its_clean_environment(
    tmp_path: Path,
) -> None:
    # The promise where it is relied on: the server, the batch command and the Spark
    # job of the package as installed with only what it declares give the notebook's
    # answers. pyspark and java are here (the test extras, .ci/run), so the clean
    # environment gets the package's spark extra.
    assert spark_can_run()
    report = tmp_path / "report.json"
    result = run_cli(
        "convert", SAMPLES / "churn_classification.ipynb", "--out", tmp_path,
        "--isolation", "venv", "--interfaces", "http,batch,spark", "--json", report,
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    data = json.loads(report.read_text("utf-8"))
    assert data["ok"] is True
    assert data["environment"] == "in a clean environment"
    assert "nb2prod-site-" in data["package_file"], data["package_file"]
    statuses = {i["interface"]: i["status"] for i in data["interfaces"]}
    # Parquet runs too: the clean environment has the package's parquet extra.
    assert statuses == dict.fromkeys(
        ("HTTP", "HTTP columns", "batch CSV", "batch Parquet", "Spark"), "equivalent"
    )
    assert all(len(i["calls"]) == 4 for i in data["interfaces"])
    pyproject = tmp_path / "churn_classification" / "pyproject.toml"
    spark_extra = set(declared(pyproject, spark=True)) - set(declared(pyproject))
    assert [r.split(">")[0] for r in spark_extra] == ["pyspark[sql]"]
    envs = Path(os.environ["NB2PROD_CACHE_DIR"]) / "envs"
    assert (envs / key(declared(pyproject, spark=True)) / MARKER).is_file()
