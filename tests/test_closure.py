"""Tags alone (issue 12, items 1, 2 and 5), without a kernel: statement-level closure
of export cells, values learned from the notebook's data, and modules beside the
notebook, planned and rendered from notebooks written as data scientists write them."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_cli

from nb2prod.analysis.cache import analysed
from nb2prod.errors import ConversionError, Severity
from nb2prod.notebook.read import read_notebook
from nb2prod.notebook.tags import select
from nb2prod.notebook.vocabulary import load_vocabulary
from nb2prod.output.lock import Lock
from nb2prod.pipeline import generate
from nb2prod.plan.local_modules import find_local_modules
from nb2prod.plan.model import Fate
from nb2prod.plan.planner import PackagePlan, make_plan
from nb2prod.settings import job_for
from nb2prod.standalone.learned import literal
from notebooks import code, write


def imports() -> Any:
    return code("import numpy as np\nimport pandas as pd")


def loading() -> Any:
    return code(
        "import pandas as pd\n"
        'FEATURES = ["area", "rooms"]\n'
        'df = pd.read_csv("houses.csv")\n'
        'X, y = df[FEATURES], df["price"]\n'
        "df.head()",
        "nb2prod:export",
    )


def feature() -> Any:
    return code(
        "def select(frame):\n    return frame[FEATURES]",
        "nb2prod:feature",
    )


def raw() -> Any:
    return code('raw = pd.DataFrame({"monthly_fee": [10.0, 20.0, 40.0]})')


def learned() -> Any:
    return code(
        "FEE_MEDIAN = float(raw.monthly_fee.median())\n"
        "PLANS = sorted(set(raw.columns))\n"
        "UNUSED = raw.monthly_fee.max()",
        "nb2prod:export",
    )


def fill() -> Any:
    return code(
        "def fill(frame):\n    return frame.fillna(FEE_MEDIAN)[PLANS]",
        "nb2prod:feature",
    )


def plan(tmp_path: Path, *cells: Any) -> PackagePlan:
    notebook = read_notebook(write(tmp_path / "nb.ipynb", *cells))
    vocabulary = load_vocabulary()
    selection = select(notebook, vocabulary)
    analyses = [analysed(notebook, cell) for cell in selection.cells]
    local = find_local_modules(notebook, analyses)
    return make_plan(notebook, analyses, "nb", vocabulary, selection.diagnostics, local)


def shipped(result: PackagePlan, module: str) -> list[tuple[str, ...]]:
    found = next(m for m in result.modules if m.name == module)
    return [s.binds for block in found.blocks for s in block.statements]


def warnings(result: PackagePlan) -> list[str]:
    return [str(d) for d in result.diagnostics if d.severity is Severity.WARNING]


# --- item 2: statement-level closure ----------------------------------------------


def test_data_loading_beside_constants_stays_in_the_notebook(tmp_path: Path) -> None:
    result = plan(tmp_path, loading(), feature())
    assert shipped(result, "common") == [("FEATURES",)]
    common = next(m for m in result.modules if m.name == "common")
    assert common.imports == ()  # pandas only served the loading
    fates = {f.names: f.fate for f in result.fates if f.cell == 1}
    assert fates[("df",)] is Fate.NOTEBOOK and fates[("X", "y")] is Fate.NOTEBOOK
    assert fates[("FEATURES",)] is Fate.SHIPS
    assert not warnings(result)  # df.head() touches only notebook data: no noise


def test_functions_of_export_cells_always_ship_and_statements_follow_reads(
    tmp_path: Path,
) -> None:
    result = plan(
        tmp_path,
        code(
            "BASE = 2\nSCALE = BASE * 10\nOTHER = 3\n\n"
            "def _unused_helper(x):\n    return x\n\n"
            "def scale(x):\n    return x * SCALE",
            "nb2prod:export",
        ),
        code(
            "LIMIT = 5\nJUNK = 1\n\ndef f(x):\n    return min(x, LIMIT)",
            "nb2prod:feature",
        ),
    )
    assert shipped(result, "common") == [
        ("BASE",),
        ("SCALE",),
        ("_unused_helper",),
        ("scale",),
    ]
    assert shipped(result, "features") == [("LIMIT",), ("f",)]


def test_a_bare_call_touching_shipped_code_warns_with_cell_and_line(
    tmp_path: Path,
) -> None:
    result = plan(
        tmp_path,
        code(
            "import numpy as np\nnp.random.seed(0)\n\n"
            "def noise(n):\n    return np.random.rand(n)",
            "nb2prod:export",
        ),
        code("def f(n):\n    return noise(n)", "nb2prod:feature"),
    )
    found = [w for w in warnings(result) if "'np'" in w]
    assert len(found) == 1 and "cell 1" in found[0] and "line 2" in found[0]
    assert shipped(result, "common") == [("noise",)]  # today's behaviour: not shipped


def test_a_test_reading_a_statement_that_stays_gets_it_as_a_fixture(
    tmp_path: Path,
) -> None:
    result = plan(
        tmp_path,
        loading(),
        feature(),
        code("assert select(df).shape[1] == len(FEATURES)", "nb2prod:test"),
    )
    (test,) = result.tests
    assert test.fixtures == ("df",)
    assert ("common", "FEATURES") in test.package_imports


def test_tags_shows_which_statements_ship(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    notebook = write(
        tmp_path / "nb.ipynb", imports(), raw(), loading(), feature(), learned(), fill()
    )
    result = run_cli("tags", notebook)
    assert result.exit_code == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "stays in the notebook: df (line 3); X, y (line 4)" in text
    assert "learned: FEE_MEDIAN, PLANS" in text and "UNUSED (line 3)" in text


# --- item 1: learned values -------------------------------------------------------


def test_an_assignment_reading_untagged_data_is_a_learned_value(tmp_path: Path) -> None:
    result = plan(tmp_path, imports(), raw(), learned(), fill())
    assert [(v.names, v.inputs, v.line) for v in result.learned] == [
        (("FEE_MEDIAN",), ("raw",), 1),
        (("PLANS",), ("raw",), 2),
    ]
    assert (
        result.learned[0].expression == "FEE_MEDIAN = float(raw.monthly_fee.median())"
    )
    assert "set" not in {b.name for m in result.modules for b in m.imports}


def test_a_function_reading_untagged_data_is_still_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConversionError) as raised:
        plan(
            tmp_path,
            raw(),
            code("def f(x):\n    return x / raw.monthly_fee.max()", "nb2prod:feature"),
        )
    assert "'raw'" in str(raised.value) and "learned" in str(raised.value)


def _package(tmp_path: Path, lock: Lock | None) -> dict[str, str | bytes]:
    notebook = write(tmp_path / "nb.ipynb", imports(), raw(), learned(), fill())
    if lock is not None:
        (tmp_path / "nb").mkdir(exist_ok=True)
        (tmp_path / "nb" / "nb2prod.lock").write_text(lock.text())
    return generate(job_for(notebook), read_notebook(notebook)).files


def test_learned_values_from_the_lock_become_reviewable_literals(
    tmp_path: Path,
) -> None:
    lock = Lock(
        "0",
        "",
        "",
        learned={
            "FEE_MEDIAN": {
                "expression": "FEE_MEDIAN = float(raw.monthly_fee.median())",
                "literal": "20.0",
            },
            "PLANS": {"literal": "['monthly_fee']"},
        },
    )
    common = _package(tmp_path, lock)["src/nb/common.py"]
    assert isinstance(common, str)
    assert (
        "# Learned from the notebook's data when it ran (cell id c3, line 1):" in common
    )
    assert (
        "#     FEE_MEDIAN = float(raw.monthly_fee.median())\nFEE_MEDIAN = 20.0\n"
        in common
    )
    assert 'PLANS = ["monthly_fee"]' in common and "raw" not in common.replace(
        "(raw.", ""
    ).replace("(set(raw", "")
    assert "UNUSED" not in common


@pytest.mark.parametrize(
    "entry, why",
    [
        (None, "no run has recorded its value"),
        ({"literal": "__import__('os').system('x')"}, "holds no plain value"),
        ({"literal": "20.0", "expression": "FEE_MEDIAN = raw.fee.mean()"}, "changed"),
    ],
)
def test_without_a_recorded_value_a_run_is_needed(
    tmp_path: Path, entry: dict[str, str] | None, why: str
) -> None:
    learned = {"PLANS": {"literal": "[]"}} | ({"FEE_MEDIAN": entry} if entry else {})
    with pytest.raises(ConversionError) as raised:
        _package(tmp_path, Lock("0", "", "", learned=learned))
    (problem,) = raised.value.diagnostics
    assert "'FEE_MEDIAN'" in str(problem) and why in str(problem)
    assert problem.location.cell == 3 and problem.location.line == 1
    assert "without --no-execute" in str(problem)


def test_convert_no_execute_without_a_run_says_one_is_needed(tmp_path: Path) -> None:
    notebook = write(tmp_path / "nb.ipynb", imports(), raw(), learned(), fill())
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 1
    assert "cell 3" in result.stderr and "line 1" in result.stderr
    assert (
        "'FEE_MEDIAN' is learned" in result.stderr and "Traceback" not in result.stderr
    )


def test_the_comment_cannot_break_out_of_its_line(tmp_path: Path) -> None:
    evil = code(
        'LABEL = raw.columns[0] + "\u2028x = 1\u0085y\x0c"\n',
        "nb2prod:export",
    )
    use = code("def label():\n    return LABEL", "nb2prod:feature")
    notebook = write(tmp_path / "nb.ipynb", imports(), raw(), evil, use)
    (tmp_path / "nb").mkdir()
    lock = Lock("0", "", "", learned={"LABEL": {"literal": "'a\\u2028b'"}})
    (tmp_path / "nb" / "nb2prod.lock").write_text(lock.text())
    common = generate(job_for(notebook), read_notebook(notebook)).files[
        "src/nb/common.py"
    ]
    assert isinstance(common, str)
    tree = ast.parse(common)
    assigned = [n for n in tree.body if isinstance(n, ast.Assign)]
    assert [ast.unparse(n) for n in assigned] == ["LABEL = 'a\\u2028b'"]
    comment = next(line for line in common.splitlines() if "LABEL = raw" in line)
    assert comment.startswith("#") and comment.isprintable()


def test_plain_values_have_stable_literals_and_others_none() -> None:
    np = pytest.importorskip("numpy")
    assert (
        literal({"b": (1,), "a": [True, None, 2.5]})
        == "{'b': (1,), 'a': [True, None, 2.5]}"
    )
    assert literal({"z", "a"}) == "{'a', 'z'}" and literal(set()) == "set()"
    assert literal(np.float64(1.5)) == "1.5" and literal(np.int64(3)) == "3"
    assert literal(float("nan")) is None and literal(object()) is None
    assert literal(list(range(10_000))) is None  # too long to review: an artifact
    assert literal(np.zeros(3)) is None


# --- item 5: modules beside the notebook -----------------------------------------


def test_a_module_beside_the_notebook_ships_with_the_package(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text(
        "import numpy as np\nimport textutils\n\n\ndef clean(x):\n"
        "    return textutils.strip(np.asarray(x))\n"
    )
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "textutils.py").write_text(
        "import re\n\n\ndef strip(x):\n    return x\n"
    )
    cells = [
        code('import sys\nsys.path.append("lib")'),
        code(
            "from helpers import clean\nimport helpers as h\n\n"
            "def f(x):\n    return clean(x) + h.clean(x)",
            "nb2prod:feature",
        ),
    ]
    result = plan(tmp_path, *cells)
    assert [m.name for m in result.local_modules] == ["helpers", "textutils"]
    assert "helpers" not in result.runtime_modules
    assert (
        "numpy" in result.runtime_modules and "textutils" not in result.runtime_modules
    )
    notebook = tmp_path / "nb.ipynb"
    files = generate(job_for(notebook), read_notebook(notebook)).files
    features = files["src/nb/features.py"]
    assert isinstance(features, str)
    assert "from .helpers import clean" in features
    assert "from . import helpers as h" in features
    copy = files["src/nb/helpers.py"]
    assert isinstance(copy, str)
    assert copy.startswith("# Copied by nb2prod from helpers.py, beside nb.ipynb")
    assert "from . import textutils" in copy
    assert (files["src/nb/textutils.py"]).startswith(  # type: ignore[union-attr]
        "# Copied by nb2prod from lib/textutils.py"
    )
    assert "numpy" in str(files["pyproject.toml"])


def test_a_module_taking_a_package_modules_name_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "common.py").write_text("X = 1\n")
    with pytest.raises(ConversionError) as raised:
        plan(
            tmp_path,
            code("from common import X\n\ndef f():\n    return X", "nb2prod:feature"),
        )
    assert "common.py" in str(raised.value)


def test_the_lock_hashes_the_copied_module(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def clean(x):\n    return x\n")
    notebook = write(
        tmp_path / "nb.ipynb",
        code(
            "from helpers import clean\n\ndef f(x):\n    return clean(x)",
            "nb2prod:feature",
        ),
    )
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0, result.stderr
    lock = json.loads((tmp_path / "nb" / "nb2prod.lock").read_text())
    assert list(lock["sources"]) == ["../helpers.py"]
    assert run_cli("check", notebook).exit_code == 0
    (tmp_path / "helpers.py").write_text("def clean(x):\n    return x * 2\n")
    changed = run_cli("check", notebook)
    assert changed.exit_code == 1 and "src/nb/helpers.py" in changed.stdout


# --- from mutation testing of plan/closure.py -------------------------------------


def test_every_function_ships_whatever_order_reads_are_followed_in(
    tmp_path: Path,
) -> None:
    # h's read of A is followed first; g then reads A again and B after it.
    source = (
        "A = 1\nB = 2\n\ndef f():\n    return 0\n\n"
        "def g():\n    return B + A\n\ndef h():\n    return A"
    )
    result = plan(tmp_path, code(source, "nb2prod:export"))
    assert shipped(result, "common") == [("A",), ("B",), ("f",), ("g",), ("h",)]


def test_a_recursive_function_ships_once(tmp_path: Path) -> None:
    source = "def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)"
    result = plan(tmp_path, code(source, "nb2prod:export"))
    assert shipped(result, "common") == [("fact",)]


def test_builtins_read_before_a_constant_neither_hide_it_nor_make_it_learned(
    tmp_path: Path,
) -> None:
    source = (
        "LIMITS = [1, 2]\nSIZE = len(LIMITS)\n\n"
        "def f():\n    return len(LIMITS) + SIZE"
    )
    result = plan(tmp_path, code(source, "nb2prod:export"))
    assert shipped(result, "common") == [("LIMITS",), ("SIZE",), ("f",)]
    assert result.learned == ()


def test_an_import_read_first_does_not_hide_the_constants_read_after_it(
    tmp_path: Path,
) -> None:
    source = "import math\nLIMITS = [1, 4]\n\ndef f():\n    return math.sqrt(LIMITS[1])"
    result = plan(tmp_path, code(source, "nb2prod:export"))
    assert shipped(result, "common") == [("LIMITS",), ("f",)]


def test_a_constant_an_untagged_cell_also_assigns_still_ships_as_code(
    tmp_path: Path,
) -> None:
    # The export cell's definition is what the package takes: not notebook data.
    source = "LIMITS = [1, 2]\nSIZE = len(LIMITS)\n\ndef f():\n    return SIZE"
    result = plan(tmp_path, code(source, "nb2prod:export"), code("LIMITS = [3]"))
    assert shipped(result, "common") == [("LIMITS",), ("SIZE",), ("f",)]
    assert result.learned == ()


def test_a_bare_statement_after_a_def_and_an_untagged_cell_warns_in_full(
    tmp_path: Path,
) -> None:
    # x.bit_length() touches only notebook data: silent, and the search goes on.
    source = (
        "LABELS = {}\n\ndef f():\n    return LABELS\n\n"
        "x.bit_length()\nLABELS.update(a=1)"
    )
    result = plan(tmp_path, code("x = 1"), code(source, "nb2prod:export"))
    (found,) = warnings(result)
    assert found == (
        "nb.ipynb: cell 2 [id c2], line 7: warning: this statement defines nothing, "
        "so it is not shipped, but it reads 'LABELS', which shipped code uses: the "
        "package does not do what it does (a seed, a setting, a change to a value)\n"
        "    LABELS.update(a=1)\n"
        "  hint: if shipped code needs it, do it inside the function that needs it; "
        "else move it to an untagged cell"
    )


def test_each_statement_of_a_shipping_cell_has_its_fate(tmp_path: Path) -> None:
    result = plan(tmp_path / "a", loading(), feature())
    assert [(f.cell, f.line, f.fate) for f in result.fates] == [
        (1, 1, Fate.IMPORT),
        (1, 2, Fate.SHIPS),
        (1, 3, Fate.NOTEBOOK),
        (1, 4, Fate.NOTEBOOK),
        (1, 5, Fate.NOTEBOOK),
        (2, 1, Fate.SHIPS),
    ]
    result = plan(tmp_path / "b", imports(), raw(), learned(), fill())
    assert [(f.cell, f.line, f.fate) for f in result.fates] == [
        (3, 1, Fate.LEARNED),
        (3, 2, Fate.LEARNED),
        (3, 3, Fate.NOTEBOOK),
        (4, 1, Fate.SHIPS),
    ]


# --- from mutation testing of plan/resolver.py -------------------------------------


def test_a_test_imports_modules_beside_the_notebook_from_the_package(
    tmp_path: Path,
) -> None:
    # Its own imports, and names a shipped cell imported, alike.
    (tmp_path / "helpers.py").write_text("def clean(x):\n    return x\n")
    notebook = write(
        tmp_path / "nb.ipynb",
        code(
            "from helpers import clean\nimport helpers as h\n\n"
            "def f(x):\n    return clean(x) + h.clean(x)",
            "nb2prod:feature",
        ),
        code(
            "import math\nimport helpers\nfrom helpers import clean as tidy\n"
            "assert clean(1) == h.clean(1) == helpers.clean(1) == tidy(1) == math.sqrt(1)",
            "nb2prod:test",
        ),
    )
    files = generate(job_for(notebook), read_notebook(notebook)).files
    tests = files["tests/test_notebook_cells.py"]
    assert isinstance(tests, str)
    found = {
        (getattr(node, "module", None), alias.name, alias.asname)
        for node in ast.parse(tests).body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert found == {
        (None, "math", None),
        ("nb", "helpers", None),
        ("nb", "helpers", "h"),
        ("nb.helpers", "clean", None),
        ("nb.helpers", "clean", "tidy"),
    }


def test_code_after_a_learned_value_in_its_cell_gets_its_imports(
    tmp_path: Path,
) -> None:
    source = (
        "import math\nFEE_MEDIAN = float(raw.monthly_fee.median())\n\n"
        "def fill(frame):\n    return frame.fillna(math.floor(FEE_MEDIAN))"
    )
    result = plan(tmp_path, imports(), raw(), code(source, "nb2prod:export"))
    assert [v.names for v in result.learned] == [("FEE_MEDIAN",)]
    (common,) = [m for m in result.modules if m.name == "common"]
    assert [b.name for b in common.imports] == ["math"]


def test_a_name_imported_plainly_and_aliased_is_written_the_same_every_run(
    tmp_path: Path,
) -> None:
    # The import line was built from a set: its order followed PYTHONHASHSEED, so
    # `check` could find the package stale on another run (seeds 1 and 2 differed).
    notebook = write(
        tmp_path / "nb.ipynb",
        code(
            "from math import sqrt\nfrom math import sqrt as root\n\n"
            "def f(x):\n    return sqrt(x) + root(x)",
            "nb2prod:feature",
        ),
    )
    command = [sys.executable, "-m", "nb2prod", "convert", notebook, "--no-execute"]
    written = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}"  # the package goes in out/nb
        subprocess.run(
            [*command, "--out", out],
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
            check=True,
            capture_output=True,
        )
        written.append((out / "nb/src/nb/features.py").read_text())
    assert "\nfrom math import sqrt, sqrt as root\n" in written[0]
    assert written[1] == written[0]
