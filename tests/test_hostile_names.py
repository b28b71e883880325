"""Hostile names and values cannot break out of what nb2prod generates.

Column names, the notebook's file name, cell ids, markdown, dtypes, example
values, dependency versions and the lock's contract come from data or from other
people. Each is rendered through the real pipeline (``generate``: templates and
black) with hostile text, and every output is parsed back: Python with ``ast``,
TOML with ``tomllib``, the README's shell lines with ``shlex``; each value must
read back unchanged, and no generated code may call what the value tried to run.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from nb2prod.errors import UsageError
from nb2prod.notebook.read import read_notebook
from nb2prod.output.lock import Lock
from nb2prod.pipeline import generate
from nb2prod.plan.naming import package_name
from nb2prod.settings import job_for
from nb2prod.standalone.contract import describe, example
from notebooks import code, md, write

INJECTION = 'x" + str(__import__("os").system("touch P")) + "'
#: Strings every field is tried with, besides hypothesis' own.
HOSTILE = [
    INJECTION,
    "x' + str(__import__('os').system('touch P')) + '",
    'a"b',
    "a'b",
    "back\\slash\\",
    "new\nline",
    "cr\rlf\r\n",
    "{{ package }}",
    "{% if x %}",
    '"""',
    "'''",
    "nul\x00byte",
    "héllo wörld ☃ \U0001d518",
    "-->",
    "<script>alert(1)</script>",
    "`tick``s`",
    "```\n# Title\n```",
    "a|b",
    "$(touch P) `touch P`",
    "\u2028line\u2029sep\x85",
    "\\N{BULLET}\\x41",
    "#comment",
]
#: Any text, with the hostile ones made likely.
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=20))
#: What a file name can hold (no '/', no NUL), with the hostile ones made likely.
FILE_TEXT = TEXT.map(
    lambda s: "".join(c if c.isprintable() and c != "/" else "_" for c in s)
).filter(lambda s: s.strip(".") != "" and len(s.encode()) < 200)

CELLS = [
    ("parameters", "LIMIT = 3\n"),
    (
        "nb2prod:feature",
        "def add_total(frame):\n"
        '    """Totals: a & b <b> | c."""\n'
        "    return frame.assign(total=frame.sum(axis=1, numeric_only=True))\n",
    ),
    (
        "nb2prod:predict",
        "def predict(frame):\n    return add_total(frame)['total'].to_numpy()\n",
    ),
    ("nb2prod:test", "assert LIMIT == 3\n"),
]


def contract_for(columns: list[str], values: list[Any]) -> dict[str, Any]:
    """The contract a run with a frame of ``columns`` (float) and text values records."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {name: [float(i), 0.5] for i, name in enumerate(columns)}
        | {"label": [values[0], values[-1]]}
    )
    return {
        "input": describe(frame),
        "output": describe(np.array([0.5, 1.5])),
        "example": example(frame),
        "example_output": [0.5, 1.5],
    }


def generate_hostile(
    folder: Path,
    notebook_name: str,
    columns: list[str],
    values: list[str],
    markdown: str,
    cell_id: str,
    version: str,
    dtype: str = "",
) -> tuple[dict[str, str], dict[str, Any], str]:
    """Files generated with every hostile value in place; and the contract and ref."""
    cells = [
        code(src, tag, cell_id=f"{cell_id}{i}") for i, (tag, src) in enumerate(CELLS)
    ]
    notebook = write(
        folder / f"{notebook_name}.ipynb",
        cells[0],
        md(markdown, cell_id="markdown"),
        *cells[1:],
    )
    contract = contract_for(columns, values)
    for column in contract["input"]["columns"]:
        column["dtype"] += dtype
    # A lock's annotations become code: hostile ones must not.
    signatures = {
        "add_total": {"positional": [INJECTION], "returns": "__import__('os')"},
        "predict": {"keywords": {"frame": "eval('1')"}},
    }
    (folder / "pkg").mkdir(exist_ok=True)
    lock = Lock(
        "0",
        "",
        "",
        files={},
        dependencies={"pandas": version},
        contract=contract,
        signatures=signatures,
    )
    (folder / "pkg" / "nb2prod.lock").write_text(lock.text())
    generated = generate(job_for(notebook, name="pkg"), read_notebook(notebook))
    files = {k: v for k, v in generated.files.items() if isinstance(v, str)}
    return files, contract, f"{notebook_name}.ipynb"


def literal(tree: ast.Module, name: str) -> Any:
    """The value a module assigns to ``name`` at its top level."""
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign):
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == name:
            assert node.value is not None
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned")


def injected_calls(tree: ast.AST) -> list[str]:
    """Calls of what the hostile values try to run: __import__, system, eval, exec."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in ("__import__", "eval", "exec"):
            found.append(node.id)
        if isinstance(node, ast.Attribute) and node.attr == "system":
            found.append(node.attr)
    return found


def shell_words(readme: str, start: str, count: int) -> list[list[str]]:
    """The first ``count`` shell words of each README shell command starting so."""
    blocks = re.findall(r"^```bash\n(.*?)^```", readme, flags=re.S | re.M)
    found = []
    for block in blocks:
        for match in re.finditer(re.escape(start), block):
            lexer = shlex.shlex(block[match.start() :], posix=True)
            lexer.whitespace_split = True
            found.append([lexer.get_token() or "" for _ in range(count)])
    return found


class Files(dict[str, str]):
    """Generated files, shown briefly when hypothesis reports an example."""

    def __repr__(self) -> str:
        return f"<{len(self)} files>"


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Files:
    """The files of the same notebook with plain names."""
    files, _, _ = generate_hostile(
        tmp_path_factory.mktemp("plain"), "plain", ["a"], ["b"], "md", "c", "1.0"
    )
    return Files(files)


@settings(
    max_examples=30,
    deadline=None,
    # Each example generates a whole package (about a second): shrinking would
    # take minutes, and the hostile strings are short already.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    notebook_name=FILE_TEXT,
    columns=st.lists(TEXT, min_size=1, max_size=3, unique=True).filter(
        lambda c: "label" not in c
    ),
    values=st.lists(TEXT, min_size=1, max_size=2),
    markdown=TEXT,
    cell_id=TEXT,
    version=TEXT,
    dtype=TEXT,
)
def test_hostile_values_round_trip_and_never_run(
    tmp_path_factory: pytest.TempPathFactory,
    plain: Files,
    notebook_name: str,
    columns: list[str],
    values: list[str],
    markdown: str,
    cell_id: str,
    version: str,
    dtype: str,
) -> None:
    folder = tmp_path_factory.mktemp("hostile")
    files, contract, notebook = generate_hostile(
        folder, notebook_name, columns, values, markdown, cell_id, version, dtype
    )

    names = [*columns, "label"]
    trees = {
        path: ast.parse(text) for path, text in files.items() if path.endswith(".py")
    }
    for path, tree in trees.items():
        assert injected_calls(tree) == [], path
    src = "src/pkg"
    assert literal(trees[f"{src}/_provenance.py"], "NOTEBOOK") == notebook
    serve = trees[f"{src}/serve.py"]
    assert literal(serve, "COLUMNS") == names
    assert literal(serve, "EXAMPLE") == {"rows": contract["example"]}
    assert literal(serve, "DTYPES") == {  # text columns of pandas' str dtype too
        c["name"]: c["dtype"]
        for c in contract["input"]["columns"]
        if c["dtype"].lower().startswith(("float", "str"))
    }
    aliases = [
        keyword.value.value
        for node in ast.walk(serve)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "alias" and isinstance(keyword.value, ast.Constant)
    ]
    assert set(aliases) <= set(names)
    spark = trees.get(f"{src}/spark.py")
    if spark is not None:
        assert list(literal(spark, "CONTRACT")) == names
    assert set(literal(trees[f"{src}/batch.py"], "DTYPES")) <= set(names)
    description = ast.get_docstring(trees[f"{src}/__init__.py"], clean=False)
    assert description is not None and notebook in description
    pyproject = tomllib.loads(files["pyproject.toml"])
    description = pyproject["project"]["description"]
    assert description == f"Generated by nb2prod from the notebook {notebook}."
    assert f"pandas>={version}" in pyproject["project"]["dependencies"]
    readme = files["README.md"]
    assert shell_words(readme, "nb2prod convert", 3) == [
        ["nb2prod", "convert", notebook]
    ]
    assert shell_words(readme, "nb2prod check", 3) == [["nb2prod", "check", notebook]]
    [(_, rows), (_, columns)] = shell_words(readme, "-d ", 2)
    assert json.loads(rows) == {"rows": contract["example"]}
    example = contract["example"]
    assert json.loads(columns) == {
        "columns": {name: [row[name] for row in example] for name in example[0]}
    }
    fences = [line for line in readme.split("\n") if line.startswith("```")]
    assert fences == [
        line for line in plain["README.md"].split("\n") if line.startswith("```")
    ]
    first = readme.split("\n", 1)[0]
    assert first.startswith("<!--") and first.endswith("-->") and first.count(">") == 1
    prose = re.sub(r"^```.*?^```", "", readme, flags=re.S | re.M)
    prose = re.sub(r"(`+).*?\1", "", prose)  # code spans show their text as is
    assert "<script" not in prose
    patterns = [
        line for line in files[".gitignore"].split("\n") if not line.startswith("#")
    ]
    assert patterns == ["build/", "__pycache__/", "*.egg-info/", ""]
    # Markdown and cell ids stay in their comments: the code is what plain ones give,
    # but for a test's name, which a valid id gives (so moving cells renames nothing).
    tests = trees["tests/test_notebook_cells.py"]
    for node in ast.walk(tests):
        if isinstance(node, ast.FunctionDef):
            assert node.name.isidentifier() and node.name.startswith("test_cell_")
            node.name = "test_cell_c3"
    for path in (f"{src}/features.py", "tests/test_notebook_cells.py"):
        assert ast.dump(trees[path]) == ast.dump(ast.parse(plain[path])), path


def test_a_hostile_column_never_runs_when_serve_is_executed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Execute serve.py's module-level constants (what the attack targets)."""
    monkeypatch.chdir(tmp_path)  # where `touch P` would land
    files, _, _ = generate_hostile(
        tmp_path, "plain", [INJECTION, "a\\b"], [INJECTION], "md", "c", "1.0"
    )
    tree = ast.parse(files["src/pkg/serve.py"])
    # Its imports (not the package's own), definitions and constants, in order.
    constants = [
        node
        for node in tree.body
        if (
            isinstance(node, ast.Import | ast.ImportFrom)
            and not getattr(node, "level", 0)
        )
        or (isinstance(node, ast.FunctionDef) and not node.decorator_list)
        or isinstance(node, ast.ClassDef)
        or (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and not isinstance(node.value, ast.Call)
        )
    ]
    namespace: dict[str, Any] = {}
    exec(compile(ast.Module(constants, []), "serve.py", "exec"), namespace)
    assert namespace["COLUMNS"] == [INJECTION, "a\\b", "label"]
    assert not (tmp_path / "P").exists()


@pytest.mark.parametrize("name", ["café", "my-pkg", "class", "1st", "a b", 'x"'])
def test_package_names_that_can_never_be_valid_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="not a valid Python package name"):
        package_name(Path("nb.ipynb"), name)


def test_a_hostile_type_in_a_contract_is_no_annotation() -> None:
    from nb2prod.plan.serving import serving_plan

    plan = serving_plan(
        {
            "input": {"kind": "list", "type": "__import__('os').system('x')"},
            "output": {"kind": "scalar", "type": "'os'"},
            "example": [1],
        }
    )
    assert plan is not None
    assert (plan.item, plan.output) == ("Any", "Any")


@pytest.fixture(scope="module")
def hostile_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A real notebook run: its file name has a quote and a space, and predict's frame
    has a column named like the attack. Converted with execution: (package, stdout)."""
    folder = tmp_path_factory.mktemp("e2e")
    notebook = write(
        folder / 'it\'s "scored" now.ipynb',
        md('Scores.\n# a heading\n\x1b[31m and `ticks` and """ quotes'),
        code(
            "def predict(frame):\n" "    return (frame.iloc[:, 0] * 2).to_numpy()\n",
            "nb2prod:predict",
        ),
        code(
            "import pandas as pd\n\n"
            f"frame = pd.DataFrame({{{INJECTION!r}: [1.0, 2.5], 'a\\\\b': [3.0, 4.0]}})\n"
            "predict(frame)\n"
        ),
    )
    result = run_cli("convert", notebook)
    assert result.exit_code == 0, result.stdout + result.stderr
    return folder / "it_s_scored_now", result.stdout


def test_a_hostile_column_and_file_name_survive_a_real_conversion(
    hostile_package: tuple[Path, str],
) -> None:
    package, stdout = hostile_package
    assert "equivalent: every recorded call matches" in stdout
    marker = package / "P"
    # Import every generated module, serve.py first, in a fresh Python, in the
    # folder where `touch P` would land.
    modules = ["serve", "batch", "spark", "_provenance"]
    script = (
        "import importlib, json, sys\n"
        "sys.path.insert(0, 'src')\n"
        "found = {}\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        module = importlib.import_module('it_s_scored_now.' + name)\n"
        "    except ModuleNotFoundError as error:\n"
        "        if error.name != 'pyspark' and not error.name.startswith('pyspark.'):\n"
        "            raise\n"
        "        continue\n"
        "    names = ('COLUMNS', 'CONTRACT', 'DTYPES', 'NOTEBOOK')\n"
        "    value = next(getattr(module, n) for n in names if hasattr(module, n))\n"
        "    found[name] = value if isinstance(value, str) else list(value)\n"
        "print(json.dumps(found))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["serve"] == [INJECTION, "a\\b"]
    assert set(found["batch"]) <= {INJECTION, "a\\b"}
    assert found["_provenance"] == 'it\'s "scored" now.ipynb'
    assert not marker.exists()
    pyproject = tomllib.loads((package / "pyproject.toml").read_text())
    assert 'it\'s "scored" now.ipynb' in pyproject["project"]["description"]
    check = run_cli("check", package.parent / 'it\'s "scored" now.ipynb')
    assert check.exit_code == 0, check.stdout + check.stderr


def test_the_generated_tests_pass_with_hostile_names(
    hostile_package: tuple[Path, str],
) -> None:
    """The package's own tests (serving, recorded calls) name the hostile column."""
    package, _ = hostile_package
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=package,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(["src", "tests"])},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (package / "P").exists()


def test_the_filters_on_their_own() -> None:
    from nb2prod.render.escaping import code, comment, docstring, md, toml, toml_key

    assert code("plain.ipynb") == "`plain.ipynb`"
    assert code("a`b") == "``a`b``" and code("`x") == "`` `x ``"
    assert md("a <b> & c | d\ne") == "a &lt;b&gt; &amp; c \\| d\\x0ae"
    assert comment("x\ny\rz\u2028") == "x\\x0ay\\x0dz\\u2028"
    assert ast.literal_eval(f'"""{docstring(INJECTION + chr(0) + "x")}"""') == (
        INJECTION + "\x00x"
    )
    nasty = 'a"\\\x7f\x00'
    assert tomllib.loads("v = " + toml(nasty))["v"] == nasty
    assert toml_key("pkg-serve") == "pkg-serve" and toml_key("a b") == '"a b"'


@pytest.mark.parametrize("name", ["new\nline", "esc\x1b[31m", "cr\r", "sep\u2028"])
def test_a_notebook_path_with_a_control_character_is_refused(
    tmp_path: Path, name: str
) -> None:
    notebook = write(tmp_path / f"{name}.ipynb", *(code(s, t) for t, s in CELLS))
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 1, result.stdout + result.stderr
    message = result.stderr.strip()
    assert "control character" in message and "\n" not in message, message
    assert [p.name for p in tmp_path.iterdir()] == [notebook.name]
