"""The planner on its own: closure, where each name comes from, and the hidden-state
guard, from small notebooks read and analysed as convert does (no CLI, no rendering)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nb2prod.analysis.cache import analysed
from nb2prod.errors import ConversionError, Severity
from nb2prod.notebook.read import read_notebook
from nb2prod.notebook.tags import select
from nb2prod.notebook.vocabulary import load_vocabulary
from nb2prod.plan.planner import PackagePlan, make_plan
from notebooks import code, md, write


def plan(tmp_path: Path, *cells: Any) -> PackagePlan:
    return plan_file(write(tmp_path / "nb.ipynb", *cells))


def plan_file(path: Path) -> PackagePlan:
    notebook = read_notebook(path)
    vocabulary = load_vocabulary()
    selection = select(notebook, vocabulary)
    analyses = [analysed(notebook, cell) for cell in selection.cells]
    return make_plan(notebook, analyses, "nb", vocabulary, selection.diagnostics)


def problems(tmp_path: Path, *cells: Any) -> list[str]:
    with pytest.raises(ConversionError) as raised:
        plan(tmp_path, *cells)
    return [str(d) for d in raised.value.diagnostics if d.severity is Severity.ERROR]


def shipped(result: PackagePlan, module: str) -> list[tuple[str, ...]]:
    found = next(m for m in result.modules if m.name == module)
    return [s.binds for block in found.blocks for s in block.statements]


def imported(result: PackagePlan, module: str) -> set[str]:
    found = next(m for m in result.modules if m.name == module)
    return {binding.name for binding in found.imports}


# --- closure ---------------------------------------------------------------------


def test_only_imports_shipped_code_uses_are_kept(tmp_path: Path) -> None:
    result = plan(
        tmp_path,
        code(
            "import math\nimport os\nimport numpy as np\n\n"
            "def area(r: float) -> float:\n    return math.pi * r * r",
            "nb2prod:feature",
        ),
    )
    assert imported(result, "features") == {"math"}
    assert result.runtime_modules == ("math",)  # numpy and os are not shipped


def test_a_helper_from_an_export_cell_is_imported_by_the_feature_module(
    tmp_path: Path,
) -> None:
    result = plan(
        tmp_path,
        code("def _clip(x: float) -> float:\n    return max(0.0, x)", "nb2prod:export"),
        code(
            "def score(x: float) -> float:\n    return _clip(x) * 2", "nb2prod:feature"
        ),
    )
    features = next(m for m in result.modules if m.name == "features")
    assert features.internal == (("common", "_clip"),)
    assert [f.name for f in result.public] == ["score"]


def test_the_later_definition_wins_with_a_warning_naming_the_shadowed_cell(
    tmp_path: Path,
) -> None:
    result = plan(
        tmp_path,
        code("def f(x: int) -> int:\n    return x", "nb2prod:feature"),
        code("def f(x: int) -> int:\n    return x + 1", "nb2prod:feature"),
    )
    assert shipped(result, "features") == [("f",)]
    block = next(m for m in result.modules if m.name == "features").blocks[0]
    assert block.cell.cell.cell.number == 2
    warnings = [str(d) for d in result.diagnostics if d.severity is Severity.WARNING]
    assert any("cell 1" in w and "cell 2" in w for w in warnings), warnings


def test_an_artifact_ships_only_when_shipped_code_reads_it(tmp_path: Path) -> None:
    result = plan(
        tmp_path,
        code("model = {'w': 2}\nunused = [1, 2]", "nb2prod:artifact"),
        code(
            "def predict(x: int) -> int:\n    return model['w'] * x", "nb2prod:predict"
        ),
    )
    assert [(name, cell.cell.cell.number) for name, cell in result.artifacts] == [
        ("model", 1)
    ]


def test_parameters_become_config_constants(tmp_path: Path) -> None:
    result = plan(
        tmp_path,
        code("THRESHOLD = 0.5\nNAME = 'churn'", "parameters"),
        code(
            "def flag(p: float) -> bool:\n    return p > THRESHOLD", "nb2prod:feature"
        ),
    )
    assert [(c.name, c.literal) for c in result.config] == [
        ("THRESHOLD", "0.5"),
        ("NAME", "'churn'"),
    ]


def test_markdown_above_a_cell_documents_its_function(tmp_path: Path) -> None:
    result = plan(
        tmp_path,
        md("Doubles the input.\n\nMore words."),
        code("def double(x: int) -> int:\n    return 2 * x", "nb2prod:feature"),
    )
    assert result.public[0].summary == "Doubles the input."


# --- where each name comes from ---------------------------------------------------


def test_an_undefined_name_points_at_the_untagged_cell_and_the_tag(
    tmp_path: Path,
) -> None:
    found = problems(
        tmp_path,
        code("RATE = 0.2"),
        code("def tax(x: float) -> float:\n    return x * RATE", "nb2prod:feature"),
    )
    assert len(found) == 1
    assert "cell 2" in found[0] and "line 2" in found[0] and "'RATE'" in found[0]
    assert "cell 1" in found[0] and "nb2prod:export" in found[0]


def test_a_name_nothing_defines_is_an_error(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        code("def f(x: int) -> int:\n    return x + missing", "nb2prod:feature"),
    )
    assert len(found) == 1 and "'missing'" in found[0]
    assert found[0].endswith("hint: define it in a tagged cell, or import it there")


@pytest.mark.parametrize(
    ("tag", "hint"),
    [
        ("nb2prod:skip", "hint: cell 1 [id c1] assigns it but is tagged nb2prod:skip"),
        (
            "nb2prod:test",
            "hint: cell 1 [id c1] assigns it but is a test cell; tests are not shipped",
        ),
    ],
)
def test_the_hint_says_why_the_assigning_cell_does_not_ship(
    tmp_path: Path, tag: str, hint: str
) -> None:
    (found,) = problems(
        tmp_path,
        code("RATE = 0.2", tag),
        code("def tax(x: float) -> float:\n    return x * RATE", "nb2prod:feature"),
    )
    assert found.endswith(hint), found


def test_a_test_cell_gets_names_from_its_imports_loops_fixtures_and_the_package(
    tmp_path: Path,
) -> None:
    result = plan(
        tmp_path,
        code("rows = [1.0, 2.0]"),
        code("def tax(x: float) -> float:\n    return x * 0.2", "nb2prod:feature"),
        code(
            "import math\nfor row in rows:\n    assert math.isfinite(tax(row))",
            "nb2prod:test",
        ),
    )
    (test,) = result.tests
    assert test.fixtures == ("rows",)
    assert [b.name for b in test.imports] == ["math"]
    assert test.package_imports == (("features", "tax"),)
    assert [s.first_line for s in test.statements] == [2]  # the import goes on top


def test_a_test_reading_a_name_only_a_later_cell_assigns_is_an_error(
    tmp_path: Path,
) -> None:
    (found,) = problems(
        tmp_path,
        code("def tax(x: float) -> float:\n    return x * 0.2", "nb2prod:feature"),
        code("assert tax(1.0) == LATER", "nb2prod:test"),
        code("LATER = 0.2"),
    )
    assert "cell 2 [id c2], line 1, col 20: error: name 'LATER' is not defined" in found


# --- hidden state ----------------------------------------------------------------


def test_a_name_defined_only_in_a_later_cell_is_an_error_naming_both(
    tmp_path: Path,
) -> None:
    found = problems(
        tmp_path,
        code("SCALE = OFFSET * 2", "nb2prod:export"),
        code("OFFSET = 3", "nb2prod:export"),
        code("def f(x: int) -> int:\n    return x * SCALE", "nb2prod:feature"),
    )
    assert any("OFFSET" in p and "cell 1" in p and "cell 2" in p for p in found), found


# --- from mutation testing of plan/resolver.py -------------------------------------


def test_the_markdown_cells_right_above_a_cell_document_it_in_order(
    tmp_path: Path,
) -> None:
    result = plan(
        tmp_path,
        md("Not about it."),
        code("x = 1"),
        md("First."),
        md(""),
        md("Second."),
        code(
            "def double(x: int) -> int:\n    return 2 * x\n\n"
            "def triple(x: int) -> int:\n    return 3 * x",
            "nb2prod:feature",
        ),
    )
    (block,) = next(m for m in result.modules if m.name == "features").blocks
    assert block.markdown == "First.\n\nSecond."
    assert [s.binds for s in block.statements] == [("double",), ("triple",)]


def test_a_test_is_named_by_its_cells_id_or_else_by_its_position(
    tmp_path: Path,
) -> None:
    cells = (
        code("def tax(x: float) -> float:\n    return x * 0.2", "nb2prod:feature"),
        code("assert tax(1.0) == 0.2", "nb2prod:test"),
    )
    assert [t.name for t in plan(tmp_path / "a", *cells).tests] == ["test_cell_c2"]
    # nbformat 4.4 notebooks have no cell ids.
    path = write(tmp_path / "b" / "nb.ipynb", *cells)
    data = json.loads(path.read_text())
    data["nbformat_minor"] = 4
    for cell in data["cells"]:
        del cell["id"]
    path.write_text(json.dumps(data))
    assert [t.name for t in plan_file(path).tests] == ["test_cell_2"]


def test_a_test_imports_what_it_reads_from_a_shipped_cells_imports(
    tmp_path: Path,
) -> None:
    result = plan(
        tmp_path,
        code(
            "import math\nimport numpy as np\n\n"
            "def tax(x: float) -> float:\n    return math.floor(x)",
            "nb2prod:feature",
        ),
        code("assert np.isclose(tax(1.5), 1)", "nb2prod:test"),
    )
    (test,) = result.tests
    assert [(b.module, b.imported, b.alias) for b in test.imports] == [
        (None, "numpy", "np")
    ]
    assert result.runtime_modules == ("math",)
    assert result.test_modules == ("numpy",)


def test_a_test_reading_its_own_variable_first_still_imports_the_rest(
    tmp_path: Path,
) -> None:
    result = plan(
        tmp_path,
        code("def tax(x: float) -> float:\n    return x * 0.2", "nb2prod:feature"),
        code("x = 1.0\nassert x > tax(x)", "nb2prod:test"),
    )
    (test,) = result.tests
    assert test.package_imports == (("features", "tax"),)
    assert test.fixtures == ()


def test_a_test_reading_a_name_before_its_own_cell_assigns_it_is_an_error(
    tmp_path: Path,
) -> None:
    (found,) = problems(
        tmp_path,
        code("def tax(x: float) -> float:\n    return x * 0.2", "nb2prod:feature"),
        code("assert tax(1.0) == EXPECTED\nEXPECTED = 0.2", "nb2prod:test"),
    )
    assert "cell 2 [id c2], line 1, col 20: error: name 'EXPECTED' is not" in found


def test_each_undefined_name_is_reported_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        code(
            "def f(x: int) -> int:\n    return x + missing\n\n"
            "def g(x: int) -> int:\n    return x * absent + missing",
            "nb2prod:feature",
        ),
    )
    assert [p.split("error: ")[1].split("\n")[0] for p in found] == [
        "name 'missing' is not defined by any shipped cell",
        "name 'absent' is not defined by any shipped cell",
    ]
