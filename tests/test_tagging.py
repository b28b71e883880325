"""Tests for nb2prod.notebook.tags: each code cell's role from its tags."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from nb2prod.errors import Severity
from nb2prod.notebook.read import read_notebook
from nb2prod.notebook.tags import Selection, select
from nb2prod.notebook.vocabulary import Role, load_vocabulary
from notebooks import code, md, write


def _select(tmp_path: Path, *cells: Any) -> Selection:
    notebook = read_notebook(write(tmp_path / "nb.ipynb", *cells))
    return select(notebook, load_vocabulary())


def test_metadata_tags_give_roles(tmp_path: Path) -> None:
    selection = _select(
        tmp_path,
        code("a = 1", "nb2prod:export"),
        code("def f(): pass", "nb2prod:feature"),
        code("def predict(x): pass", "nb2prod:predict"),
        code("model = 1", "nb2prod:artifact"),
        code("assert True", "nb2prod:test"),
        code("upload()", "nb2prod:skip"),
        code("alpha = 0.5", "parameters"),
    )

    assert [c.role for c in selection.cells] == [
        Role.EXPORT,
        Role.FEATURE,
        Role.PREDICT,
        Role.ARTIFACT,
        Role.TEST,
        Role.SKIP,
        Role.PARAMETERS,
    ]
    assert not any(c.from_comment for c in selection.cells)
    assert selection.diagnostics == ()


def test_metadata_tagged_cell_keeps_its_source(tmp_path: Path) -> None:
    selection = _select(tmp_path, code("x = 1\ny = 2", "nb2prod:export"))

    assert selection.cells[0].source == "x = 1\ny = 2"


def test_comment_directive_gives_the_same_role_as_the_tag(tmp_path: Path) -> None:
    selection = _select(
        tmp_path,
        code("def f(x):\n    return x", "nb2prod:feature"),
        code("# nb2prod: feature\ndef f(x):\n    return x"),
    )

    by_tag, by_comment = selection.cells
    assert by_tag.role is Role.FEATURE
    assert by_comment.role is Role.FEATURE
    assert by_comment.from_comment
    assert not by_tag.from_comment


def test_comment_directive_line_is_blanked_keeping_line_numbers(
    tmp_path: Path,
) -> None:
    source = textwrap.dedent("""\
        # nb2prod: feature
        def f(x):
            return x""")
    selection = _select(tmp_path, code(source))

    cell = selection.cells[0]
    assert cell.source.startswith("\n")
    assert cell.source == "\ndef f(x):\n    return x"
    assert cell.source.count("\n") == source.count("\n")
    assert cell.cell.source == source


def test_comment_parameters_maps_to_papermill_tag(tmp_path: Path) -> None:
    selection = _select(tmp_path, code("# nb2prod: parameters\nalpha = 0.5"))

    cell = selection.cells[0]
    assert cell.role is Role.PARAMETERS
    assert cell.from_comment
    assert selection.diagnostics == ()


def test_untagged_code_cells_have_no_role(tmp_path: Path) -> None:
    selection = _select(tmp_path, code("x = 1"), code("y = 2", "nb2prod:export"))

    assert [c.role for c in selection.cells] == [None, Role.EXPORT]
    assert [c.cell.number for c in selection.tagged] == [2]


def test_markdown_cells_are_not_selected(tmp_path: Path) -> None:
    selection = _select(
        tmp_path,
        md("# Title"),
        code("x = 1", "nb2prod:export"),
        md("notes"),
        code("y = 2"),
    )

    assert [c.cell.number for c in selection.cells] == [2, 4]
    assert all(c.cell.kind == "code" for c in selection.cells)


def test_unknown_metadata_tag_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    selection = _select(
        tmp_path, md("# Title"), code("x = 1"), code("y = 2", "nb2prod:featur")
    )

    (problem,) = selection.diagnostics
    assert problem.severity is Severity.ERROR
    assert problem.message == "unknown tag 'nb2prod:featur'"
    assert problem.hint == "did you mean 'nb2prod:feature'?"
    assert problem.location.cell == 3
    assert problem.location.cell_id == "c3"
    assert selection.cells[1].role is None


def test_unknown_comment_tag_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    selection = _select(tmp_path, md("# Title"), code("# nb2prod: featur\ny = 2"))

    (problem,) = selection.diagnostics
    assert problem.severity is Severity.ERROR
    assert problem.message == "unknown tag 'nb2prod:featur'"
    assert problem.hint == "did you mean 'nb2prod:feature'?"
    assert problem.location.cell == 2
    assert problem.location.line == 1
    assert selection.cells[0].role is None


def test_two_roles_on_one_cell_is_an_error(tmp_path: Path) -> None:
    selection = _select(
        tmp_path, code("def predict(x): pass", "nb2prod:export", "nb2prod:predict")
    )

    (problem,) = selection.diagnostics
    assert problem.severity is Severity.ERROR
    assert "more than one nb2prod role" in problem.message
    assert "nb2prod:export" in problem.message
    assert "nb2prod:predict" in problem.message
    assert problem.location.cell == 1
    assert selection.cells[0].role is None


def test_tag_and_comment_with_different_roles_is_an_error(tmp_path: Path) -> None:
    selection = _select(tmp_path, code("# nb2prod: predict\nx = 1", "nb2prod:export"))

    (problem,) = selection.diagnostics
    assert "more than one nb2prod role" in problem.message


def test_same_role_as_tag_and_comment_is_fine(tmp_path: Path) -> None:
    selection = _select(tmp_path, code("# nb2prod: export\nx = 1", "nb2prod:export"))

    assert selection.diagnostics == ()
    assert selection.cells[0].role is Role.EXPORT


def test_tags_of_other_tools_are_ignored(tmp_path: Path) -> None:
    selection = _select(
        tmp_path,
        code("x = 1", "hide-input"),
        code("y = 2", "hide-input", "nb2prod:export", "remove-output"),
    )

    assert selection.diagnostics == ()
    assert [c.role for c in selection.cells] == [None, Role.EXPORT]


def test_comment_not_on_first_line_is_not_a_directive(tmp_path: Path) -> None:
    selection = _select(tmp_path, code("x = 1\n# nb2prod: feature\ny = 2"))

    cell = selection.cells[0]
    assert cell.role is None
    assert not cell.from_comment
    assert cell.source == "x = 1\n# nb2prod: feature\ny = 2"


# --- directives below cell magics and comments (issue 12, item 4) -----------------


def test_directive_after_a_cell_magic_gives_the_role(tmp_path: Path) -> None:
    source = "%%time\n# nb2prod: feature\ndef f(x):\n    return x"
    selection = _select(tmp_path, code(source))

    (cell,) = selection.cells
    assert cell.role is Role.FEATURE
    assert cell.from_comment
    assert cell.directive_lines == (2,)
    assert cell.source == "%%time\n\ndef f(x):\n    return x"
    assert selection.diagnostics == ()


def test_directive_below_a_comment_header_and_blank_lines(tmp_path: Path) -> None:
    source = textwrap.dedent("""\
        %%capture
        %%time

        # --- Feature engineering ---
        # nb2prod: export
        import numpy as np
        # nb2prod: skip
        """)
    selection = _select(tmp_path, code(source))

    (cell,) = selection.cells
    assert cell.role is Role.EXPORT
    assert cell.directive_lines == (5,)
    assert "# nb2prod: skip" in cell.source  # below code: a comment, not a directive


def test_unknown_directive_below_a_magic_points_at_its_line(tmp_path: Path) -> None:
    selection = _select(tmp_path, code("%%time\n# nb2prod: featur\ny = 2"))

    (problem,) = selection.diagnostics
    assert problem.message == "unknown tag 'nb2prod:featur'"
    assert problem.location.line == 2
    assert problem.location.source_line == "# nb2prod: featur"


def test_comment_and_metadata_forms_hash_the_same_below_a_magic(
    tmp_path: Path,
) -> None:
    body = "def f(x):\n    return x"
    by_tag = _select(
        tmp_path / "a", code(f"%%time\n{body}", "nb2prod:feature", cell_id="f")
    )
    by_comment = _select(
        tmp_path / "b",
        code(f"%%time\n# nb2prod: feature\n{body}", cell_id="f"),
    )
    top = _select(tmp_path / "c", code(f"# nb2prod: feature\n{body}", cell_id="f"))
    plain = _select(tmp_path / "d", code(body, "nb2prod:feature", cell_id="f"))

    assert by_comment.cells[0].role is Role.FEATURE
    assert by_tag.content_hash == by_comment.content_hash
    assert top.content_hash == plain.content_hash
    assert by_tag.content_hash != plain.content_hash
