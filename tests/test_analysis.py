"""Tests for nb2prod.analysis.cells: what each top-level statement of a cell binds and reads."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from nb2prod.analysis.cells import CellAnalysis, ImportBinding, Kind, Statement, analyse
from nb2prod.errors import Severity
from nb2prod.notebook.read import read_notebook
from nb2prod.notebook.tags import select
from nb2prod.notebook.vocabulary import load_vocabulary
from notebooks import code, md, write

FEATURE = "nb2prod:feature"


def _analyse_all(tmp_path: Path, *cells: Any) -> list[CellAnalysis]:
    notebook = read_notebook(write(tmp_path / "nb.ipynb", *cells))
    selection = select(notebook, load_vocabulary())
    return [analyse(notebook, cell) for cell in selection.cells]


def _analyse(tmp_path: Path, source: str, *tags: str) -> CellAnalysis:
    (analysis,) = _analyse_all(tmp_path, code(textwrap.dedent(source), *tags))
    return analysis


def _statement(tmp_path: Path, source: str, *tags: str) -> Statement:
    analysis = _analyse(tmp_path, source, *tags)
    assert analysis.diagnostics == ()
    (statement,) = analysis.statements
    return statement


def _uses(statement: Statement) -> list[tuple[str, int, int]]:
    return [(use.name, use.line, use.column) for use in statement.uses]


# --- statement kinds, binds, imports and docstrings of a feature cell ----------


def test_statement_kinds(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        """\
        import numpy as np

        def f(x):
            return x

        async def g(x):
            return x

        @decorate
        def h(x):
            return x

        class Model:
            pass

        THRESHOLD = 0.5

        try:
            import ujson as json
        except ImportError:
            json = None

        f(1)
        """,
        FEATURE,
    )

    assert [s.kind for s in analysis.statements] == [
        Kind.IMPORT,
        Kind.FUNCTION,
        Kind.FUNCTION,
        Kind.FUNCTION,
        Kind.CLASS,
        Kind.ASSIGNMENT,
        Kind.COMPOUND,
        Kind.OTHER,
    ]
    assert [s.binds for s in analysis.statements] == [
        ("np",),
        ("f",),
        ("g",),
        ("h",),
        ("Model",),
        ("THRESHOLD",),
        ("json",),
        (),
    ]
    assert analysis.parsed
    assert analysis.diagnostics == ()


def test_statement_lines_include_decorators(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        """\
        x = 1
        @decorate
        def f(a):
            return a
        """,
        FEATURE,
    )

    assert [(s.first_line, s.last_line) for s in analysis.statements] == [
        (1, 1),
        (2, 4),
    ]


def test_assignment_binds_every_target(tmp_path: Path) -> None:
    statement = _statement(tmp_path, "a, (b, c) = d = 1, (2, 3)\n", FEATURE)

    assert statement.kind is Kind.ASSIGNMENT
    assert statement.binds == ("a", "b", "c", "d")


def test_import_bindings(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        """\
        import numpy as np
        import os.path
        from a.b import c as d
        from . import sibling
        from ..pkg import helper
        """,
        FEATURE,
    )

    assert [s.imports for s in analysis.statements] == [
        (ImportBinding("np", None, "numpy", "np", 0, 1),),
        (ImportBinding("os", None, "os.path", None, 0, 2),),
        (ImportBinding("d", "a.b", "c", "d", 0, 3),),
        (ImportBinding("sibling", "", "sibling", None, 1, 4),),
        (ImportBinding("helper", "pkg", "helper", None, 2, 5),),
    ]
    assert [s.binds for s in analysis.statements] == [
        ("np",),
        ("os",),
        ("d",),
        ("sibling",),
        ("helper",),
    ]


def test_import_binding_top_module(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        """\
        import os.path
        from a.b import c as d
        """,
        FEATURE,
    )

    assert [b.top_module for s in analysis.statements for b in s.imports] == [
        "os",
        "a",
    ]


def test_one_import_statement_binds_several_names(tmp_path: Path) -> None:
    statement = _statement(tmp_path, "import os, sys as system\n", FEATURE)

    assert statement.kind is Kind.IMPORT
    assert statement.binds == ("os", "system")
    assert [b.imported for b in statement.imports] == ["os", "sys"]


def test_modules_are_top_level_and_absolute_only(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        """\
        import numpy as np
        import os.path
        from a.b import c as d
        from . import sibling
        def load(path):
            import json
            from pandas.io import parsers
            return json.loads(path), parsers
        """,
        FEATURE,
    )

    assert [s.modules for s in analysis.statements] == [
        ("numpy",),
        ("os",),
        ("a",),
        (),
        ("json", "pandas"),
    ]


def test_docstrings_of_functions_and_classes(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        '''\
        def f():
            """Return nothing."""

        class C:
            """A class."""

        def g():
            return 1

        X = "not a docstring"
        ''',
        FEATURE,
    )

    assert [s.docstring for s in analysis.statements] == [
        "Return nothing.",
        "A class.",
        None,
        None,
    ]


# --- uses ------------------------------------------------------------------------


def test_uses_exclude_parameters_locals_and_builtins(tmp_path: Path) -> None:
    statement = _statement(
        tmp_path,
        """\
        def f(a, *args, b=1, **kwargs):
            total = a + b + len(args) + len(kwargs)
            print(total)
            return total
        """,
        FEATURE,
    )

    assert statement.uses == ()


def test_uses_exclude_comprehension_and_lambda_variables(tmp_path: Path) -> None:
    statement = _statement(
        tmp_path,
        """\
        def f(rows):
            squares = [r * r for r in rows if r]
            table = {k: v for k, v in rows}
            key = lambda item: item[0]
            return sorted(squares, key=key), table
        """,
        FEATURE,
    )

    assert statement.uses == ()


def test_uses_exclude_class_body_names(tmp_path: Path) -> None:
    statement = _statement(
        tmp_path,
        """\
        class Config:
            size = 3
            double = size * 2
            names = [str(size)]
        """,
        FEATURE,
    )

    assert statement.uses == ()


def test_uses_include_free_globals_inside_functions(tmp_path: Path) -> None:
    statement = _statement(
        tmp_path,
        """\
        def f(a):
            y = [i + OFFSET for i in a]
            g = lambda q: q * SCALE
            return np.mean(y) + g(1)
        """,
        FEATURE,
    )

    assert _uses(statement) == [
        ("OFFSET", 2, 14),
        ("SCALE", 3, 23),
        ("np", 4, 12),
    ]


def test_uses_include_defaults_decorators_and_annotations(tmp_path: Path) -> None:
    statement = _statement(
        tmp_path,
        """\
        @register
        def f(a: Frame, b=DEFAULT) -> Series:
            return a
        """,
        FEATURE,
    )

    assert _uses(statement) == [
        ("register", 1, 2),
        ("Frame", 2, 10),
        ("DEFAULT", 2, 19),
        ("Series", 2, 31),
    ]


def test_uses_include_base_classes(tmp_path: Path) -> None:
    statement = _statement(
        tmp_path,
        """\
        class Model(Base, metaclass=Meta):
            def fit(self, x):
                return helper(x)
        """,
        FEATURE,
    )

    assert _uses(statement) == [
        ("Base", 1, 13),
        ("Meta", 1, 29),
        ("helper", 3, 16),
    ]


def test_methods_read_class_attributes_as_globals(tmp_path: Path) -> None:
    statement = _statement(
        tmp_path,
        """\
        class C:
            n = 1
            def get(self):
                return n
        """,
        FEATURE,
    )

    assert _uses(statement) == [("n", 4, 16)]


def test_uses_at_top_level(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        """\
        x = 1
        y = x + other
        """,
        FEATURE,
    )

    assert [_uses(s) for s in analysis.statements] == [
        [],
        [("x", 2, 5), ("other", 2, 9)],
    ]


def test_use_of_a_dotted_import_is_named_by_its_top_name(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        """\
        import os.path
        def join(a):
            return os.path.join(a, "x")
        """,
        FEATURE,
    )

    assert _uses(analysis.statements[1]) == [("os", 3, 12)]


def test_string_annotation_uses_are_python_names(tmp_path: Path) -> None:
    statement = _statement(
        tmp_path,
        """\
        def f(a: "np.ndarray") -> "np.ndarray":
            return a
        """,
        FEATURE,
    )

    assert [use.name for use in statement.uses] == ["np", "np"]


# --- syntax errors ---------------------------------------------------------------


def test_syntax_error_in_tagged_cell_is_one_error(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, "x = 1\ny = = 2\n", FEATURE)

    (problem,) = analysis.diagnostics
    assert problem.severity is Severity.ERROR
    assert problem.message.startswith("syntax error")
    assert problem.location.cell == 1
    assert problem.location.line == 2
    assert analysis.statements == ()
    assert not analysis.parsed


def test_syntax_error_line_when_lines_follow(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, "x = 1\ny = = 2\nz = 3\n", FEATURE)

    (problem,) = analysis.diagnostics
    assert problem.message.startswith("syntax error")
    assert problem.location.line == 2


def test_syntax_error_in_untagged_cell_is_not_reported(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, "x = 1\ny = = 2\n")

    assert analysis.diagnostics == ()
    assert analysis.statements == ()
    assert not analysis.parsed


def test_syntax_error_location_names_the_cell(tmp_path: Path) -> None:
    analyses = _analyse_all(
        tmp_path,
        md("# Title"),
        code("x = 1"),
        code("def f(:\n", FEATURE),
    )

    assert analyses[0].diagnostics == ()
    (problem,) = analyses[1].diagnostics
    assert (problem.location.cell, problem.location.cell_id) == (3, "c3")
    assert problem.location.line == 1


# --- IPython syntax --------------------------------------------------------------


def test_ipython_lines_in_tagged_cell_are_errors(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, "x = 1\n!ls\n%run helpers.py\n", FEATURE)

    assert [(d.severity, d.location.line) for d in analysis.diagnostics] == [
        (Severity.ERROR, 2),
        (Severity.ERROR, 3),
    ]
    assert not analysis.parsed


def test_indented_ipython_line_error_points_at_the_magic(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, "for i in x:\n    %run f.py\n", FEATURE)

    (problem,) = analysis.diagnostics
    assert (problem.location.line, problem.location.column) == (2, 5)


def test_harmless_cell_magic_in_tagged_cell_is_allowed(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, "%%time\nx = 1\n", FEATURE)

    (dropped,) = analysis.diagnostics
    assert dropped.severity is Severity.WARNING
    assert "%%time" in dropped.message
    assert analysis.parsed
    assert analysis.cell_magic == "time"
    (statement,) = analysis.statements
    assert (statement.binds, statement.first_line) == (("x",), 2)


def test_other_language_cell_magic_in_tagged_cell_is_an_error(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, "%%bash\nls -l\n", FEATURE)

    (problem,) = analysis.diagnostics
    assert problem.severity is Severity.ERROR
    assert "%%bash" in problem.message
    assert problem.location.line == 1
    assert analysis.cell_magic == "bash"
    assert not analysis.parsed


def test_get_ipython_in_tagged_cell_is_an_error(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, "x = 1\nip = get_ipython()\n", FEATURE)

    (problem,) = analysis.diagnostics
    assert problem.severity is Severity.ERROR
    assert "get_ipython" in problem.message
    assert (problem.location.line, problem.location.column) == (2, 6)


def test_ipython_syntax_in_untagged_cell_is_fine(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, "x = 1\n!ls\nip = get_ipython()\n")

    assert analysis.diagnostics == ()
    assert analysis.parsed
    assert [s.binds for s in analysis.statements] == [("x",), ("ip",)]


# --- which cells are analysed deeply ---------------------------------------------


def test_test_cells_are_analysed_deeply(tmp_path: Path) -> None:
    statement = _statement(tmp_path, "assert f(1) == 2\n", "nb2prod:test")

    assert _uses(statement) == [("f", 1, 8)]


@pytest.mark.parametrize("tag", ["nb2prod:artifact", "nb2prod:skip", "parameters"])
def test_non_shipping_cells_are_analysed_shallowly(tmp_path: Path, tag: str) -> None:
    statement = _statement(tmp_path, "model = fit(data)\n", tag)

    assert statement.binds == ("model",)
    assert statement.uses == ()


def test_untagged_cell_binds(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        """\
        a = 1
        b: int = 2
        c += 1
        for i, (j, k) in pairs:
            pass
        with open(p) as fh, open(q) as (g1, g2):
            pass
        import os.path, sys as system
        from m import name as alias
        from star import *
        def f():
            return undefined
        async def af():
            pass
        class C:
            inner = 1
        if (n := 10) > 5:
            pass
        squares = [x * x for x in range(3)]
        print(len(squares))
        """,
    )

    assert [s.binds for s in analysis.statements] == [
        ("a",),
        ("b",),
        ("c",),
        ("i", "j", "k"),
        ("fh", "g1", "g2"),
        ("os", "system"),
        ("alias",),
        (),
        ("f",),
        ("af",),
        ("C",),
        ("n",),
        ("squares",),
        (),
    ]
    assert all(s.uses == () for s in analysis.statements)
    assert analysis.parsed
    assert analysis.diagnostics == ()


def test_untagged_cell_statement_lines(tmp_path: Path) -> None:
    analysis = _analyse(
        tmp_path,
        """\
        x = 1
        def f():
            return x
        """,
    )

    assert [(s.first_line, s.last_line) for s in analysis.statements] == [
        (1, 1),
        (2, 3),
    ]


def test_untagged_walrus_in_comprehension_binds_globally(tmp_path: Path) -> None:
    statement = _statement(tmp_path, "found = any((hit := v) > 3 for v in xs)\n")

    assert statement.binds == ("found", "hit")


def test_tagged_walrus_in_comprehension_binds_globally(tmp_path: Path) -> None:
    statement = _statement(
        tmp_path, "found = any((hit := v) > 3 for v in xs)\n", FEATURE
    )

    assert statement.binds == ("found", "hit")
