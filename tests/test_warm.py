"""A warm convert does no work it did before: what it reads back is still right.

A warm `convert --no-execute` (every analysis and black result in the cache) must not
import black, and the slow lookups it keeps in the cache (which distribution provides
each module, which modules a generated module imports) must follow the environment:
installing or removing a distribution is seen on the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest

from nb2prod.analysis import entries
from nb2prod.plan import dependencies
from nb2prod.plan.model import ModulePlan
from nb2prod.render import package

SAMPLE = Path(__file__).parent.parent / "sample_notebooks" / "diabetes_regression.ipynb"

#: Runs the CLI as the console script does, then says which libraries it loaded.
PROBE = """
import atexit, json, runpy, sys
report = sys.argv.pop(1)
heavy = ["black", "libcst", "jinja2"]
atexit.register(
    lambda: open(report, "w").write(json.dumps([m for m in heavy if m in sys.modules]))
)
runpy.run_module("nb2prod", run_name="__main__")
"""


def _convert(tmp_path: Path, out: Path, report: Path) -> list[str]:
    env = {**os.environ, "NB2PROD_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("NB2PROD_NO_CACHE", None)
    command = [sys.executable, "-c", PROBE, str(report), "convert", str(SAMPLE)]
    done = subprocess.run(
        [*command, "--no-execute", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(report.read_text())
    return loaded


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_warm_convert_formats_nothing_and_writes_the_same_package(
    tmp_path: Path,
) -> None:
    cold = _convert(tmp_path, tmp_path / "cold", tmp_path / "cold.json")
    warm = _convert(tmp_path, tmp_path / "warm", tmp_path / "warm.json")
    assert "black" in cold
    assert "black" not in warm, "a warm run imported black: something was formatted"
    assert _files(tmp_path / "warm") == _files(tmp_path / "cold")


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(folder))
    monkeypatch.delenv("NB2PROD_NO_CACHE", raising=False)
    return folder


def _install(site: Path, distribution: str, module: str) -> Path:
    """A distribution as an installer leaves it: its module and its metadata folder."""
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text("")
    info = site / f"{distribution}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n"
    )
    (info / "top_level.txt").write_text(f"{module}\n")
    return info


def _owners_in_child(site: Path) -> dict[str, list[str]]:
    """``distributions()`` in a new process (the function keeps its answer per process)."""
    probe = (
        "import json; from nb2prod.plan.dependencies import distributions; "
        "print(json.dumps(dict(distributions())))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    owners: dict[str, list[str]] = json.loads(done.stdout)
    return owners


def test_the_cached_distributions_follow_installs_and_removals(
    tmp_path: Path, isolated_cache: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    assert "tidyfeatures" not in _owners_in_child(site)
    installed = _install(site, "tidy-features", "tidyfeatures")
    assert _owners_in_child(site)["tidyfeatures"] == ["tidy-features"]
    assert any(isolated_cache.rglob("*")), "the answer was not kept"
    _install(site, "more-features", "morefeatures")
    found = _owners_in_child(site)
    assert found["morefeatures"] == ["more-features"]
    assert found["tidyfeatures"] == ["tidy-features"]
    shutil.rmtree(installed)  # uninstalled: its metadata folder goes
    assert "tidyfeatures" not in _owners_in_child(site)


def test_the_cached_distributions_are_the_uncached_answer(isolated_cache: Path) -> None:
    from importlib.metadata import packages_distributions

    dependencies.distributions.cache_clear()
    try:
        first = dependencies.distributions()
        dependencies.distributions.cache_clear()
        again = dependencies.distributions()  # from the disk this time
    finally:
        dependencies.distributions.cache_clear()
    assert first == again == packages_distributions()


def test_a_remembered_value_of_the_wrong_kind_is_computed_again(
    isolated_cache: Path,
) -> None:
    calls: list[int] = []

    def compute() -> frozenset[str]:
        calls.append(1)
        return frozenset({"numpy"})

    assert entries.remembered(frozenset, ["module imports", "x"], compute) == {"numpy"}
    assert entries.remembered(frozenset, ["module imports", "x"], compute) == {"numpy"}
    assert len(calls) == 1
    # The same key read as another kind (a foreign or older entry): a miss, not trusted.
    assert entries.remembered(dict, ["module imports", "x"], dict) == {}


def test_the_imports_of_a_generated_module_follow_its_text(
    isolated_cache: Path,
) -> None:
    """Kept by the module's text: an edited module is read again, not answered from
    the entry of the text before it."""
    features = ModulePlan("features", (), (), (), ())
    text = "import numpy as np\nfrom pandas import DataFrame\n\n\ndef f():\n    import scipy\n"
    files: dict[str, str | bytes] = {"src/pkg/features.py": text}
    for _ in range(2):  # computed, then read back
        assert dependencies.rendered_imports(files, "pkg", [features], {}) == [
            "numpy",
            "pandas",
        ]
    files["src/pkg/features.py"] = text.replace("import numpy as np", "import sklearn")
    assert dependencies.rendered_imports(files, "pkg", [features], {}) == [
        "pandas",
        "sklearn",
    ]


def test_compiled_templates_are_read_back_not_compiled_again(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = package._environment()
    names = first.list_templates()
    assert "serve.py.j2" in names
    for name in names:
        first.get_template(name)  # compiled, and kept

    def compile_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("a template was compiled again")

    monkeypatch.setattr(jinja2.Environment, "compile", compile_again)
    second = package._environment()
    for name in names:
        second.get_template(name)  # from the cache, or compile_again fails


def test_templates_compile_when_the_cache_is_off(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NB2PROD_NO_CACHE", "1")
    compiled: list[object] = []
    compile_for_real = jinja2.Environment.compile

    def counted(self: jinja2.Environment, source: str, name: str, *rest: Any) -> Any:
        compiled.append(name)
        return compile_for_real(self, source, name, *rest)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    for _ in range(2):
        environment = package._environment()
        environment.get_template("pyproject.toml.j2")
    assert compiled.count("pyproject.toml.j2") == 2  # nothing read back
    assert not isolated_cache.exists()  # and nothing written
