"""Tests for nb2prod.analysis.magics: find and mask IPython syntax, keeping line numbers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nb2prod.analysis.magics import (
    HARMLESS_CELL_MAGICS,
    MAGICS,
    Fate,
    IPythonLine,
    Rule,
    mask,
    rule_for,
)


def test_plain_code_is_unchanged() -> None:
    source = textwrap.dedent("""\
        import math

        def area(r):
            return math.pi * r ** 2
        """)

    masked = mask(source)

    assert masked.source == source
    assert masked.cell_magic is None
    assert masked.ipython_lines == ()


def test_plain_code_does_not_import_ipython() -> None:
    script = textwrap.dedent("""\
        import sys
        from nb2prod.analysis.magics import mask
        mask("x = 1\\ny = x % 2\\nprint('done!')\\n")
        print(any(m == "IPython" or m.startswith("IPython.") for m in sys.modules))
        """)

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("source", "line", "magic", "fate", "masked_source"),
    [
        ("%matplotlib inline\nx = 1", 1, "%matplotlib", Fate.DROP, "\nx = 1"),
        ("x = 1\n!pip install x\n", 2, "!", Fate.REFUSE, "x = 1\n\n"),
        ("files = !ls\nprint(files)", 1, "", Fate.REFUSE, "\nprint(files)"),
        ("x = 1\nobj?\n", 2, "%pinfo", Fate.DROP, "x = 1\n\n"),
        ("%run helpers.py\nx = 1", 1, "%run", Fate.REFUSE, "\nx = 1"),
        ("%time model = fit(X)\n", 1, "%time", Fate.UNWRAP, "model = fit(X)\n"),
        (
            "for i in range(3):\n    %time f()\ny = 2",
            2,
            "%time",
            Fate.UNWRAP,
            "for i in range(3):\n    f()\ny = 2",
        ),
        (
            "if DEBUG:\n    %load_ext autoreload\ny = 2",
            2,
            "%load_ext",
            Fate.DROP,
            "if DEBUG:\n    pass\ny = 2",
        ),
        ("%timeit -n 3 f()\n", 1, "%timeit", Fate.DROP, "\n"),
        ("%made_up_magic 1\n", 1, "%made_up_magic", Fate.REFUSE, "\n"),
    ],
    ids=[
        "display-magic",
        "shell-escape",
        "shell-assignment",
        "help",
        "run",
        "time-keeps-statement",
        "indented-time",
        "indented-drop",
        "timeit",
        "unknown",
    ],
)
def test_ipython_line_is_classified_and_masked(
    source: str, line: int, magic: str, fate: Fate, masked_source: str
) -> None:
    masked = mask(source)

    text = source.split("\n")[line - 1]
    (item,) = masked.ipython_lines
    assert (item.line, item.text, item.magic, item.rule.fate) == (
        line,
        text,
        magic,
        fate,
    )
    assert masked.source == masked_source
    assert masked.source.count("\n") == source.count("\n")
    assert masked.cell_magic is None


def test_a_shell_command_is_refused_as_a_shell_command() -> None:
    (item,) = mask("x = 1\n!ls -l\n").ipython_lines

    assert item.rule == Rule(Fate.REFUSE, "runs a shell command")


@pytest.mark.parametrize(
    ("first", "cell_magic"),
    [("%%capture", "capture"), ("", None), ("  ", None), ("%%time\n", "time")],
    ids=["cell-magic", "blank", "spaces", "cell-magic-then-blank"],
)
def test_lines_below_a_cell_magic_or_leading_blank_lines_keep_their_number(
    first: str, cell_magic: str | None
) -> None:
    # IPython's transformer drops a cell's leading blank lines (the masked %%capture
    # line is one); nb2prod must not shift every line after them.
    masked = mask(f"{first}\nx = 1\n%matplotlib inline\n")

    line = first.count("\n") + 3
    assert masked.cell_magic == cell_magic
    assert masked.ipython_lines == (
        IPythonLine(line, "%matplotlib inline", "%matplotlib", MAGICS["%matplotlib"]),
    )
    assert masked.source.split("\n")[line - 2 :] == ["x = 1", "", ""]


@pytest.mark.parametrize(
    ("first", "end"),
    [("", "\n"), ("", ""), ("%%time\n", "\n")],
    ids=["newline", "no-newline", "cell-magic"],
)
def test_a_line_magic_continued_with_a_backslash_is_left_for_the_parser(
    first: str, end: str
) -> None:
    # IPython joins the two lines into one: no line maps to its own, so none is
    # masked (it used to shift every later line by one and refuse them all).
    body = f"%time x = \\\n  1\ndef f():\n    return x{end}"

    masked = mask(first + body)

    assert masked.source == ("\n" if first else "") + body
    assert masked.ipython_lines == ()
    assert masked.cell_magic == ("time" if first else None)


@pytest.mark.parametrize("cell_magic", ["", "%%time\n"], ids=["plain", "cell-magic"])
def test_input_ipython_cannot_transform_is_left_for_the_parser(
    cell_magic: str,
) -> None:
    # IPython's transformer raises IndexError on a magic's value continued at the end.
    body = "y = 1\nx = %\\"

    masked = mask(cell_magic + body)

    assert masked.source == ("\n" if cell_magic else "") + body
    assert masked.cell_magic == ("time" if cell_magic else None)
    assert masked.ipython_lines == ()


def test_every_ipython_line_is_reported() -> None:
    source = "%load_ext autoreload\nx = 1\n!ls\ny = 2\n"

    masked = mask(source)

    assert [item.line for item in masked.ipython_lines] == [1, 3]
    assert masked.source == "\nx = 1\n\ny = 2\n"


def test_unlisted_magics_are_refused() -> None:
    assert rule_for("%something_new") == Rule(
        Fate.REFUSE, "is not known to only change display or the session"
    )
    assert rule_for("%%sql") == Rule(
        Fate.REFUSE, "makes this cell something other than Python"
    )
    assert rule_for("%pylab").fate is Fate.REFUSE
    assert {"time", "timeit", "capture", "prun", "memit"} == HARMLESS_CELL_MAGICS


def test_the_readme_lists_the_policy_table() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    for key, rule in MAGICS.items():
        row = f"| `{key}` | {rule.fate.value} | {rule.why} |"
        assert row in readme, f"README lacks the row: {row}"


def test_harmless_cell_magic_is_dropped_keeping_line_numbers() -> None:
    source = "%%time\nx = 1\ny = x + 1\n"

    masked = mask(source)

    assert masked.cell_magic == "time"
    assert masked.source == "\nx = 1\ny = x + 1\n"
    assert masked.source.split("\n")[1:] == source.split("\n")[1:]
    assert masked.ipython_lines == ()


def test_harmless_cell_magic_with_arguments() -> None:
    masked = mask("%%timeit -n 3\nf()\n")

    assert masked.cell_magic == "timeit"
    assert masked.source == "\nf()\n"


def test_other_language_cell_magic_empties_the_source() -> None:
    masked = mask("%%bash\nls -l\necho hi\n")

    assert masked.cell_magic == "bash"
    assert masked.source == ""
    assert masked.ipython_lines == ()


@pytest.mark.parametrize(
    "source",
    [
        "a % b\n",
        "c = a % b\nd = (a) % b\n",
        "total = 10 \\\n    % 3\n",
        "s = 'hi!'\nt = \"100%\"\nprint('%d' % 3)\n",
        'msg = """\n!important\n%d items\n"""\n',
        "if x != 1:\n    pass\n",
        "x = 5  # why?\nprint('really?')\n",
    ],
    ids=[
        "modulo",
        "modulo-assigned",
        "modulo-continued",
        "strings",
        "multiline-string",
        "not-equal",
        "question-marks",
    ],
)
def test_python_that_looks_like_ipython_is_kept(source: str) -> None:
    masked = mask(source)

    assert masked.source == source
    assert masked.ipython_lines == ()
    assert masked.cell_magic is None
