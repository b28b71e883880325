"""A corpus of odd but real-shaped notebooks, built in code as raw JSON bytes.

Every case is a small function that returns the exact bytes of a notebook file, so
each case controls versions, metadata, line endings and missing keys. Nothing large
is committed: the one big case (a 30 MB output) is generated once per process.

``CASES`` holds one ``pytest.param`` per case; a case that shows a bug in nb2prod
carries a strict ``xfail`` mark naming what goes wrong, and keeps doing so until
the bug is fixed (a strict xfail that passes fails the run, so the mark comes off).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from _pytest.mark.structures import ParameterSet

Json = dict[str, Any]

KERNELSPEC: Json = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}
LANGUAGE_INFO: Json = {"name": "python", "version": "3.11.7"}
PY_METADATA: Json = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}

#: A small feature cell that converts on its own.
DOUBLE = "def double(x: int) -> int:\n    return 2 * x\n"


# --- raw cell and notebook builders ------------------------------------------------


def lines(source: str) -> list[str]:
    """A source as Jupyter writes it: a list of lines, each keeping its newline."""
    return source.splitlines(keepends=True)


def code(
    source: str,
    *tags: str,
    cell_id: str | None = None,
    metadata: Json | None = None,
    outputs: list[Json] | None = None,
    execution_count: int | None = None,
) -> Json:
    """A raw nbformat-4 code cell (``cell_id`` None: no id key, as before 4.5)."""
    meta: Json = dict(metadata) if metadata is not None else {}
    if tags:
        meta["tags"] = list(tags)
    cell: Json = {
        "cell_type": "code",
        "execution_count": execution_count,
        "metadata": meta,
        "outputs": outputs or [],
        "source": lines(source),
    }
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def markdown(source: str, cell_id: str | None = None, **extra: Any) -> Json:
    """A raw nbformat-4 markdown cell."""
    cell: Json = {"cell_type": "markdown", "metadata": {}, "source": lines(source)}
    cell.update(extra)
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def raw(source: str, cell_id: str | None = None) -> Json:
    """A raw nbformat-4 raw cell."""
    cell: Json = {"cell_type": "raw", "metadata": {}, "source": lines(source)}
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def nb4(
    *cells: Json, minor: int = 5, metadata: Json | None = None, ids: bool = True
) -> Json:
    """An nbformat 4.``minor`` notebook; 4.5 cells get ids c1, c2, ... unless given."""
    numbered = []
    for number, cell in enumerate(cells, 1):
        cell = dict(cell)
        if minor >= 5 and ids:
            cell.setdefault("id", f"c{number}")
        elif minor < 5:
            cell.pop("id", None)
        numbered.append(cell)
    return {
        "cells": numbered,
        "metadata": PY_METADATA if metadata is None else metadata,
        "nbformat": 4,
        "nbformat_minor": minor,
    }


def dumps(node: Json) -> bytes:
    """The notebook as Jupyter saves it: one-space indent, UTF-8, final newline."""
    return (json.dumps(node, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def simple(*cells: Json, **kwargs: Any) -> Callable[[], bytes]:
    """A builder for a 4.5 notebook of ``cells``."""
    return lambda: dumps(nb4(*cells, **kwargs))


# --- the case type -----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One notebook of the corpus and what converting it must give, where known."""

    #: The case's name (also the notebook's file name: ``<name>.ipynb``).
    name: str
    #: Builds the notebook file's bytes.
    build: Callable[[], bytes]
    #: The exit code ``convert --no-execute`` must give; None where either is fine.
    convert_exit: int | None = None
    #: Texts ``convert``'s output (stdout and stderr) must hold.
    expect: tuple[str, ...] = ()
    #: The cell number a failing ``convert`` must name.
    cell: int | None = None
    #: Texts ``convert``'s output must not hold.
    refuse: tuple[str, ...] = ()
    #: Python run against the generated package (imported as ``package``).
    smoke: str = ""

    @property
    def file_name(self) -> str:
        """The notebook's file name."""
        return f"{self.name}.ipynb"


# --- nbformat versions and metadata ------------------------------------------------


#: The smoke test of a package built from ``DOUBLE``.
DOUBLES = "assert package.double(21) == 42"


def _version(minor: int) -> Case:
    cells = [markdown("# Doubling"), code(DOUBLE, "nb2prod:feature"), code("double(2)")]
    return Case(f"nbformat_4_{minor}", simple(*cells, minor=minor), 0, smoke=DOUBLES)


def _v3() -> bytes:
    def cell3(source: str, *tags: str) -> Json:
        return {
            "cell_type": "code",
            "collapsed": False,
            "input": lines(source),
            "language": "python",
            "metadata": {"tags": list(tags)} if tags else {},
            "outputs": [],
            "prompt_number": None,
        }

    node = {
        "metadata": {"name": "v3"},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "markdown", "metadata": {}, "source": ["# Old"]},
                    cell3(DOUBLE, "nb2prod:feature"),
                    cell3("double(3)"),
                ],
                "metadata": {},
            }
        ],
    }
    return dumps(node)


def _without_metadata() -> bytes:
    node = nb4(code(DOUBLE, "nb2prod:feature"))
    del node["metadata"]
    return dumps(node)


VERSIONS = [
    *(_version(minor) for minor in range(6)),
    Case("nbformat_v3_worksheets", _v3, 0, smoke=DOUBLES),
    Case("missing_notebook_metadata", _without_metadata, 0, smoke=DOUBLES),
    Case(
        "missing_kernelspec",
        simple(
            code(DOUBLE, "nb2prod:feature"), metadata={"language_info": LANGUAGE_INFO}
        ),
        0,
    ),
    Case(
        "empty_notebook_metadata", simple(code(DOUBLE, "nb2prod:feature"), metadata={})
    ),
    Case(
        "tags_as_string",
        simple(
            code(DOUBLE, "nb2prod:feature"),
            code(
                "def half(x):\n    return x / 2\n", metadata={"tags": "nb2prod:export"}
            ),
        ),
        0,
    ),
    Case(
        "tags_null",
        simple(
            code(DOUBLE, "nb2prod:feature"),
            code("def half(x):\n    return x / 2\n", metadata={"tags": None}),
        ),
        0,
    ),
    Case(
        "code_cell_without_outputs_and_count",
        simple(
            {
                "cell_type": "code",
                "source": DOUBLE,
                "metadata": {"tags": ["nb2prod:feature"]},
            },
            code("x = 1"),
        ),
        0,
        smoke=DOUBLES,
    ),
]


# --- no tagged cells, other languages ----------------------------------------------

LANGUAGES = [
    Case(
        "raw_only",
        simple(raw("just text"), raw("%%bash\necho hi")),
        1,
        ("no cell has an nb2prod tag",),
    ),
    Case(
        "markdown_only",
        simple(markdown("# Title"), markdown("Some *text*.")),
        1,
        ("no cell has an nb2prod tag",),
    ),
    Case(
        "untagged_code_only",
        simple(code("x = 1"), code(DOUBLE)),
        1,
        ("no cell has an nb2prod tag",),
    ),
    Case(
        "r_kernel",
        simple(
            code("double <- function(x) 2 * x\n", "nb2prod:feature"),
            metadata={
                "kernelspec": {"name": "ir", "display_name": "R", "language": "R"},
                "language_info": {"name": "R"},
            },
        ),
        1,
        ("R notebook",),
    ),
    Case(
        "julia_kernel",
        simple(
            code("double(x) = 2x\n", "nb2prod:feature"),
            metadata={
                "kernelspec": {
                    "name": "julia-1.9",
                    "display_name": "Julia 1.9.3",
                    "language": "julia",
                },
                "language_info": {"name": "julia"},
            },
        ),
        1,
        ("julia notebook",),
    ),
]


# --- IPython syntax ----------------------------------------------------------------

WARNED_MAGICS = ("time", "capture")
REFUSED_MAGICS = {"writefile": "%%writefile f.py", "bash": "%%bash"}


def _tagged_cell_magic(name: str, first: str, body: str) -> Case:
    cells = [code(f"{first}\n{body}", "nb2prod:feature"), code("double(2)")]
    if name in WARNED_MAGICS:
        return Case(
            f"cell_magic_{name}_tagged",
            simple(*cells),
            0,
            (f"%%{name}", "warning"),
            smoke=DOUBLES,
        )
    return Case(f"cell_magic_{name}_tagged", simple(*cells), 1, (f"%%{name}",), cell=1)


def _untagged_cell_magic(name: str, first: str, body: str) -> Case:
    cells = [code(DOUBLE, "nb2prod:feature"), code(f"{first}\n{body}")]
    return Case(f"cell_magic_{name}_untagged", simple(*cells), 0)


CELL_MAGICS: list[tuple[str, str, str]] = [
    ("time", "%%time", DOUBLE),
    ("capture", "%%capture", DOUBLE),
    ("writefile", "%%writefile f.py", DOUBLE),
    ("bash", "%%bash", "echo 'def double(x): return 2 * x'\nls -la | wc -l\n"),
]

MAGICS = [
    *(_tagged_cell_magic(*magic) for magic in CELL_MAGICS),
    *(_untagged_cell_magic(*magic) for magic in CELL_MAGICS),
    Case(
        "line_magic_tagged",
        simple(code("%matplotlib inline\n" + DOUBLE, "nb2prod:feature")),
        0,
        ("%matplotlib", "warning"),
        smoke=DOUBLES,
    ),
    Case(
        "behaviour_magic_tagged",
        simple(code("%run helpers.py\n" + DOUBLE, "nb2prod:feature")),
        1,
        ("%run cannot ship",),
        cell=1,
    ),
    Case(
        "line_magic_assignment_tagged",
        simple(code("files = %ls\n" + DOUBLE, "nb2prod:feature")),
        1,
        ("IPython syntax",),
        cell=1,
    ),
    Case(
        "shell_escape_tagged",
        simple(
            code("import os\n", "nb2prod:export"),
            code(DOUBLE + "!pip install numpy\n", "nb2prod:feature"),
        ),
        1,
        ("shell command cannot ship",),
        cell=2,
    ),
    Case(
        "line_magics_and_shell_untagged",
        simple(
            code("%load_ext autoreload\n%autoreload 2\n!echo hi\nout = !ls\n"),
            code(DOUBLE, "nb2prod:feature"),
            code("%timeit double(3)\nfiles = %ls\ndouble?\n"),
        ),
        0,
    ),
    Case(
        "get_ipython_tagged",
        simple(
            code(
                DOUBLE + "\ndef shell():\n    return get_ipython().system('ls')\n",
                "nb2prod:feature",
            )
        ),
        1,
        ("get_ipython",),
        cell=1,
    ),
    Case(
        "get_ipython_untagged",
        simple(
            code("get_ipython().run_line_magic('matplotlib', 'inline')\n"),
            code(DOUBLE, "nb2prod:feature"),
        ),
        0,
    ),
]


# --- Python syntax -----------------------------------------------------------------


def _tagged(
    source: str, tag: str = "nb2prod:feature", *after: Json
) -> Callable[[], bytes]:
    return simple(code(source, tag), *after)


def _long_cell() -> bytes:
    functions = "".join(
        f"def f{number}(x):\n    return x + {number}\n" for number in range(2500)
    )
    shifted = "def shifted(x):\n    return f2499(x)\n"
    return dumps(
        nb4(code(functions, "nb2prod:export"), code(shifted, "nb2prod:feature"))
    )


def _nested_parentheses() -> bytes:
    depth = 5000
    source = "VALUE = " + "(" * depth + "1" + ")" * depth + "\n" + DOUBLE
    return dumps(nb4(code(source, "nb2prod:feature")))


def _nested_lists() -> bytes:
    depth = 5000
    source = "NESTED = " + "[" * depth + "]" * depth + "\n" + DOUBLE
    return dumps(nb4(code(source, "nb2prod:feature")))


def _nested_ifs() -> bytes:
    depth = 120
    body = "".join(" " * (level + 1) + f"if x > {level}:\n" for level in range(depth))
    source = f"def deep(x):\n{body}{' ' * (depth + 1)}return x\n return 0\n"
    return dumps(nb4(code(source, "nb2prod:feature")))


def _crlf() -> bytes:
    node = nb4(
        markdown("# Doubling\r\n\r\nTimes two.\r\n"),
        code(DOUBLE.replace("\n", "\r\n"), "nb2prod:feature"),
        code("double(2)\r\n"),
    )
    return dumps(node).replace(b"\n", b"\r\n")


def _cr_only() -> bytes:
    node = nb4(code(DOUBLE.replace("\n", "\r"), "nb2prod:feature"))
    return dumps(node)


def _attachments() -> bytes:
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWj"
        "R9awAAAABJRU5ErkJggg=="
    )
    node = nb4(
        markdown(
            "Doubles its input.\n\n![dot](attachment:dot.png)",
            attachments={"dot.png": {"image/png": png}},
        ),
        code(DOUBLE, "nb2prod:feature"),
    )
    return dumps(node)


@functools.cache
def huge_output() -> bytes:
    """A tagged cell with a ~30 MB stream output (built once per process)."""
    line = "loss: 0.1234567890 accuracy: 0.9876543210 epoch " + "x" * 30 + "\n"
    text = [line] * (30 * 2**20 // len(line))
    stream = {"name": "stdout", "output_type": "stream", "text": text}
    node = nb4(
        code(DOUBLE, "nb2prod:feature", outputs=[stream], execution_count=1),
        code("double(2)", execution_count=2),
    )
    return json.dumps(node).encode("utf-8")


SYNTAX = [
    Case(
        "unicode_identifiers",
        _tagged('def größe(wert):\n    return "ü" * wert\n\nGRUSS = "grüß dich 👋"\n'),
        0,
        smoke='assert package.größe(2) == "üü"',
    ),
    Case(
        "long_cell_5000_lines",
        _long_cell,
        0,
        smoke="assert package.shifted(1) == 2500",
    ),
    Case(
        "empty_cells",
        simple(
            code(""),
            markdown(""),
            raw(""),
            code(DOUBLE, "nb2prod:feature"),
            code("\n\n"),
        ),
        0,
        smoke=DOUBLES,
    ),
    Case(
        "tagged_comment_only_cell",
        simple(
            code("# just a note\n# nothing else\n", "nb2prod:export"),
            code(DOUBLE, "nb2prod:feature"),
        ),
        0,
        smoke=DOUBLES,
    ),
    Case(
        "tagged_empty_cells",
        simple(
            code("", "nb2prod:export"),
            code("   \n\n", "nb2prod:feature"),
            code(DOUBLE, "nb2prod:feature"),
            code("", "nb2prod:test"),
        ),
        0,
        smoke=DOUBLES,
    ),
    Case(
        "only_tagged_cell_is_comment",
        _tagged("# nb2prod: feature\n# TODO\n", "nb2prod:feature"),
    ),
    Case(
        "async_def",
        _tagged(
            "import asyncio\n\nasync def fetch(x: int) -> int:\n"
            "    await asyncio.sleep(0)\n    return x\n"
        ),
        0,
        smoke="import asyncio\nassert asyncio.run(package.fetch(3)) == 3",
    ),
    Case(
        "decorators",
        simple(
            code(
                "import functools\n\n@functools.lru_cache(maxsize=None)\n"
                "def fib(n: int) -> int:\n"
                "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
                "nb2prod:feature",
            ),
            code("fib(10)"),
        ),
        0,
        smoke="assert package.fib(10) == 55",
    ),
    Case(
        "class_with_methods",
        simple(
            code(
                "class Scaler:\n    def __init__(self, k: float) -> None:\n"
                "        self.k = k\n\n    def apply(self, x: float) -> float:\n"
                "        return self.k * x\n\n    @staticmethod\n"
                "    def name() -> str:\n        return 'scaler'\n",
                "nb2prod:export",
            ),
            code(
                "def scale(x: float) -> float:\n    return Scaler(2.0).apply(x)\n",
                "nb2prod:feature",
            ),
        ),
        0,
        smoke="assert package.scale(3.0) == 6.0",
    ),
    Case(
        "global_and_nonlocal",
        _tagged(
            "COUNT = 0\n\ndef bump() -> int:\n    global COUNT\n    COUNT += 1\n"
            "    return COUNT\n\ndef counter():\n    n = 0\n    def inc():\n"
            "        nonlocal n\n        n += 1\n        return n\n    return inc\n"
        ),
        0,
        refuse=("shadowed",),
        smoke="assert package.bump() == 1\nassert package.counter()() == 1",
    ),
    Case(
        "global_assigned_from_another_cell",
        simple(
            code("COUNT = 0\n", "nb2prod:export"),
            code(
                "def bump() -> int:\n    global COUNT\n    COUNT += 1\n"
                "    return COUNT\n",
                "nb2prod:feature",
            ),
        ),
        0,
        refuse=("shadowed",),
        smoke="assert package.bump() == 1",
    ),
    Case(
        "star_import",
        _tagged(
            "from math import *\n\ndef hyp(a, b):\n    return sqrt(a * a + b * b)\n"
        ),
        1,
        ("import *",),
        cell=1,
    ),
    Case(
        "relative_import",
        _tagged("from . import helpers\n\ndef use():\n    return helpers.x\n"),
        1,
        ("relative import",),
        cell=1,
    ),
    Case(
        "walrus",
        _tagged(
            "def first_big(values):\n    if (n := len(values)) > 2:\n        return n\n"
            "    return [y for v in values if (y := v * 2) > 3]\n"
        ),
        0,
        smoke="assert package.first_big([1, 2, 3]) == 3\n"
        "assert package.first_big([1, 2]) == [4]",
    ),
    # PEP 572: a walrus in a module-level comprehension binds a global.
    Case(
        "walrus_in_module_comprehension",
        _tagged(
            "BIG = [y for x in range(3) if (y := x * 2) > 1]\n\n"
            "def last_doubled():\n    return y\n"
        ),
        0,
        smoke="assert package.last_doubled() == 4",
    ),
    Case(
        "match_statement",
        _tagged(
            "def kind(value):\n    match value:\n        case {'x': x}:\n"
            "            return x\n        case [a, *_]:\n            return a\n"
            "        case _:\n            return None\n"
        ),
        0,
        smoke="assert package.kind({'x': 5}) == 5\nassert package.kind([7, 8]) == 7\n"
        "assert package.kind(3) is None",
    ),
    Case(
        "lambda_assigned",
        simple(
            code("square = lambda x: x * x\n", "nb2prod:export"),
            code("def sq(x):\n    return square(x)\n", "nb2prod:feature"),
        ),
        0,
        smoke="assert package.sq(3) == 9",
    ),
    Case(
        "function_redefined_across_cells",
        simple(
            code(DOUBLE, "nb2prod:feature"),
            code(
                "def double(x: int) -> int:\n    return x + x + 1\n", "nb2prod:feature"
            ),
        ),
        0,
        ("warning", "shadowed"),
        smoke="assert package.double(1) == 3",
    ),
    Case(
        "type_alias_assignment",
        _tagged(
            "Vector = list[float]\n\ndef norm(v: Vector) -> float:\n    return sum(v)\n"
        ),
        0,
        smoke="assert package.norm([1.0, 2.0]) == 3.0",
    ),
    Case(
        "type_statement_py312",
        _tagged(
            "type Vector = list[float]\n\ndef norm(v: Vector) -> float:\n"
            "    return sum(v)\n"
        ),
        1,
        ("syntax error",),
        cell=1,
    ),
    Case(
        "fstring_nested_quotes_py311",
        _tagged(
            "def label(d: dict) -> str:\n"
            "    return f\"{d['name']}: {', '.join(d['tags'])} {'''x'''}\"\n"
        ),
        0,
        smoke="assert package.label({'name': 'a', 'tags': ['b', 'c']}) == 'a: b, c x'",
    ),
    Case(
        "fstring_same_quotes_py312",
        _tagged(
            "def label(d: dict) -> str:\n"
            '    return f"{d["name"]}: {", ".join(d["tags"])}"\n'
        ),
        1,
        ("syntax error",),
        cell=1,
    ),
    Case(
        "tab_indented_cell",
        _tagged("def double(x):\n\ty = 2 * x\n\treturn y\n"),
        0,
        smoke=DOUBLES,
    ),
    Case(
        "tabs_and_spaces_mixed",
        _tagged("def double(x):\n    y = 2 * x\n\treturn y\n"),
        1,
        ("syntax error",),
        cell=1,
    ),
    Case("crlf_line_endings", _crlf, 0, smoke=DOUBLES),
    Case("cr_only_line_endings", _cr_only, 0, smoke=DOUBLES),
    Case("markdown_attachments", _attachments, 0, smoke=DOUBLES),
    Case("huge_output_30mb", huge_output, 0, smoke=DOUBLES),
    Case("nested_parentheses_5000", _nested_parentheses, 1, ("syntax error",), 1),
    Case("nested_lists_5000", _nested_lists, 1, ("syntax error",), 1),
    Case("nested_ifs_120", _nested_ifs, 1, ("syntax error",), 1),
    Case(
        "predict_two_public_functions",
        _tagged(
            "def predict(x):\n    return x > 0\n\ndef score(x):\n    return x\n",
            "nb2prod:predict",
        ),
        1,
        ("exactly one public function",),
        cell=1,
    ),
    Case(
        "syntax_error_tagged",
        simple(
            code("x = 1"),
            code("def broken(x):\n    return (x +\n", "nb2prod:feature"),
        ),
        1,
        ("syntax error",),
        cell=2,
    ),
    Case(
        "syntax_error_untagged",
        simple(code("def broken(:\n"), code(DOUBLE, "nb2prod:feature")),
        0,
        smoke=DOUBLES,
    ),
    Case(
        "unknown_tag",
        simple(
            code(DOUBLE, "nb2prod:featur"),
            code("def g(x):\n    return x\n", "nb2prod:export"),
        ),
        1,
        ("unknown tag 'nb2prod:featur'", "nb2prod:feature"),
        cell=1,
    ),
    Case(
        "unknown_tag_comment",
        simple(code("# nb2prod: featur\n" + DOUBLE)),
        1,
        ("unknown tag 'nb2prod:featur'",),
        cell=1,
    ),
]


# --- malformed JSON that is still a notebook's shape -------------------------------


def _with_source(source: Any, kind: str = "code") -> Callable[[], bytes]:
    cell = code(DOUBLE, "nb2prod:feature") if kind == "code" else markdown("x")
    cell["source"] = source
    if kind == "code":
        return simple(cell)
    return simple(cell, code(DOUBLE, "nb2prod:feature"))


def _with_id(cell_id: Any) -> Callable[[], bytes]:
    return simple(code(DOUBLE, "nb2prod:feature", cell_id=cell_id))


def _ascii(*cells: Json) -> Callable[[], bytes]:
    """A builder writing JSON escapes for non-ASCII, so lone surrogates can be spelt."""
    return lambda: json.dumps(nb4(*cells), indent=1, ensure_ascii=True).encode()


MALFORMED = [
    Case(
        "source_list_with_null",
        _with_source(["def double(x):\n", None, "    return 2 * x\n"]),
        1,
        cell=1,
    ),
    Case(
        "markdown_source_list_with_number",
        _with_source(["# Title\n", 2], kind="markdown"),
        1,
        cell=1,
    ),
    Case("code_source_null", _with_source(None), refuse=("    None",)),
    Case(
        "kernelspec_is_a_string",
        simple(code(DOUBLE, "nb2prod:feature"), metadata={"kernelspec": "python3"}),
    ),
    Case(
        "language_info_is_a_list",
        simple(code(DOUBLE, "nb2prod:feature"), metadata={"language_info": ["python"]}),
    ),
    Case("cell_id_with_newline", _with_id("c1\nBROKEN = ("), cell=1),
    Case(
        "nul_in_markdown_above_tagged_cell",
        simple(markdown("Doubles\x00 its input."), code(DOUBLE, "nb2prod:feature")),
        cell=1,
        smoke=DOUBLES,
    ),
    Case(
        "lone_surrogate_in_untagged_cell",
        _ascii(code("S = '\ud800'\n"), code(DOUBLE, "nb2prod:feature")),
        smoke=DOUBLES,
    ),
    Case(
        "lone_surrogate_in_markdown",
        _ascii(markdown("Doubles \ud800 it."), code(DOUBLE, "nb2prod:feature")),
        cell=1,
    ),
    Case("cell_id_is_a_number", _with_id(7), smoke=DOUBLES),
    Case(
        "duplicate_cell_ids",
        simple(
            code(DOUBLE, "nb2prod:feature", cell_id="same"),
            code("def half(x):\n    return x / 2\n", "nb2prod:feature", cell_id="same"),
        ),
        smoke=DOUBLES,
    ),
    Case(
        "tags_hold_non_strings",
        simple(code(DOUBLE, metadata={"tags": ["nb2prod:feature", 1, None, {"a": 1}]})),
        smoke=DOUBLES,
    ),
]


#: Known bugs, by case name: what happens. Remove an entry once nb2prod is fixed
#: (the strict xfail then fails the run to say so).
BUGS: dict[str, str] = {}


def _param(case: Case) -> ParameterSet:
    reason = BUGS.get(case.name)
    if reason:
        return pytest.param(
            case, id=case.name, marks=pytest.mark.xfail(strict=True, reason=reason)
        )
    return pytest.param(case, id=case.name)


ALL: list[Case] = [*VERSIONS, *LANGUAGES, *MAGICS, *SYNTAX, *MALFORMED]
CASES: list[ParameterSet] = [_param(case) for case in ALL]
