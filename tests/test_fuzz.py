"""Random notebooks, some of them corrupted, through ``convert_static`` and ``check``.

The property: converting either succeeds (and then ``check`` finds the package up to
date) or raises an :class:`~nb2prod.errors.Nb2ProdError` whose message names the
notebook file, having written nothing. Any other exception is a bug.

``NB2PROD_FUZZ_EXAMPLES`` sets how many examples run (default 300).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus import BUGS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nb2prod.errors import Nb2ProdError
from nb2prod.notebook.read import read_notebook
from nb2prod.pipeline import check, convert_static
from nb2prod.settings import job_for

EXAMPLES = int(os.environ.get("NB2PROD_FUZZ_EXAMPLES", "300"))

# --- what cells are made of --------------------------------------------------------

TAGS = [
    "nb2prod:export",
    "nb2prod:feature",
    "nb2prod:predict",
    "nb2prod:artifact",
    "nb2prod:test",
    "nb2prod:skip",
    "parameters",
]
MISSPELT = [
    "nb2prod:featur",
    "nb2prod:Export",
    "nb2prod:",
    "nb2prod:export ",
    "nb2prod:exports",
    "nb2prod:paramters",
    "nb2prod: feature",
]
FOREIGN = ["hide-input", "remove-cell", "", "nb2prodexport", "injected-parameters"]

#: Python that converts when its names are defined and its cell is tagged well.
VALID = [
    "def f(x):\n    return x + 1",
    "def g(values):\n    return [f(v) for v in values]",
    "def predict(frame):\n    return model.apply(frame)",
    "def score(x: float) -> float:\n    return x * LIMIT",
    "class Scaler:\n    def __init__(self, k):\n        self.k = k\n\n    def apply(self, x):\n        return self.k * x",
    "LIMIT = 3",
    "ALPHA = 0.5\nNAME = 'run'",
    "model = Scaler(2)",
    "data = [1, 2, 3]",
    "total = sum(data)",
    "square = lambda x: x * x",
    "async def fetch(x):\n    return x",
    "@functools.lru_cache\ndef cached(n):\n    return n",
    "COUNT = 0\ndef bump():\n    global COUNT\n    COUNT += 1\n    return COUNT",
    "if (n := len(data)) > 2:\n    BIG = n",
    "def kind(v):\n    match v:\n        case [a, *_]:\n            return a\n        case _:\n            return None",
    "Vector = list[float]",
    "def größe(wert):\n    return 'ü' * wert",
    "assert f(1) == 2",
    "assert g(data) == [2, 3, 4]",
    "import os",
    "import functools",
    "import numpy as np",
    "from math import sqrt",
    "print(total)",
    "# just a comment",
    "",
    "x = 1\r\ny = 2\r\n",
]
#: IPython syntax, broken Python, and names nothing defines.
INVALID = [
    "from math import *",
    "from . import helpers",
    "import not_a_real_module_xyz",
    "%matplotlib inline",
    "%%time",
    "%%bash\necho hi",
    "%%writefile out.py\nx = 1",
    "!pip install numpy",
    "files = !ls",
    "get_ipython().run_line_magic('load_ext', 'autoreload')",
    "display(data)",
    "data?",
    "def broken(:\n    pass",
    "x = (",
    "return 5",
    "\tif True:\n  \tpass",
    "type Alias = int",
    'label = f"{NAME["x"]}"',
    "print(undefined_name)",
    "def uses_missing():\n    return missing_helper(1)",
    "del data",
    "# nb2prod: export",
    "\n\n",
    "'''unterminated",
    "\x00",
    "\ufeffX = 1",
    "S = '\ud800'",
]
FRAGMENTS = st.one_of(
    st.sampled_from(VALID), st.sampled_from(VALID), st.sampled_from(INVALID)
)

MARKDOWN = [
    "# Title",
    "Computes **features**.",
    'Quotes """ and {{ jinja }} and {% tag %} and </script>',
    "ünïcödé ✓ 👋",
    "",
    "![img](attachment:a.png)",
    "NUL \x00 byte",
    "lone \ud800 surrogate",
]


@dataclass(frozen=True)
class Example:
    """One generated notebook file and how to convert it."""

    #: The file name.
    name: str
    #: The file's bytes.
    data: bytes
    #: Convert a good notebook into the same folder first.
    preexisting: bool


@st.composite
def _tag_names(draw: st.DrawFn, clean: bool) -> list[str]:
    if clean:  # mostly tags that ship code, so that many examples convert
        shipping = ["nb2prod:feature", "nb2prod:export"]
        return [draw(st.sampled_from([*shipping, *shipping, *TAGS]))]
    pool = st.one_of(
        st.sampled_from(TAGS), st.sampled_from(MISSPELT), st.sampled_from(FOREIGN)
    )
    return draw(st.lists(pool, max_size=2))


@st.composite
def _code_cell(draw: st.DrawFn, clean: bool) -> dict[str, Any]:
    fragments = st.sampled_from(VALID) if clean else FRAGMENTS
    source = "\n".join(draw(st.lists(fragments, min_size=1, max_size=3)))
    metadata: dict[str, Any] = {}
    places = ["metadata", "comment"] if clean else ["metadata", "comment", "none"]
    place = draw(st.sampled_from(places))
    tags = draw(_tag_names(clean))
    if place == "metadata":
        metadata["tags"] = tags
    elif place == "comment" and tags:
        short = ", ".join(t.removeprefix("nb2prod:") for t in tags)
        source = f"# nb2prod: {short}\n{source}"
    if draw(st.booleans()):
        metadata["collapsed"] = True
    as_list = draw(st.booleans())
    return {
        "cell_type": "code",
        "execution_count": draw(st.none() | st.integers(1, 50)),
        "metadata": metadata,
        "outputs": [],
        "source": source.splitlines(keepends=True) if as_list else source,
    }


@st.composite
def _text_cell(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["markdown", "raw"]))
    # Any text, with NUL and lone surrogates (JSON can spell them: "\\ud800").
    odd = st.sampled_from(["\x00", "\ud800", "\udfff", "\r", "\u2028"])
    anything = st.text(st.one_of(st.characters(), odd), max_size=30)
    source = draw(st.sampled_from(MARKDOWN) | anything)
    return {"cell_type": kind, "metadata": {}, "source": source}


@st.composite
def _metadata(draw: st.DrawFn, clean: bool) -> dict[str, Any] | None:
    choices = ["python"] if clean else ["python", "Python", "R", None, None]
    language = draw(st.sampled_from(choices))
    if language is None:
        return draw(st.sampled_from([None, {}]))
    metadata: dict[str, Any] = {
        "kernelspec": {"name": "k", "display_name": "K", "language": language}
    }
    if draw(st.booleans()):
        metadata["language_info"] = {"name": language.lower()}
    return metadata


@st.composite
def _notebook(draw: st.DrawFn, clean: bool) -> dict[str, Any]:
    """A notebook; ``clean`` ones hold only valid Python and vocabulary tags."""
    code = draw(st.lists(_code_cell(clean), min_size=int(clean), max_size=5))
    text = draw(st.lists(_text_cell(), max_size=2))
    cells = draw(st.permutations([*code, *text]))
    minor = draw(st.sampled_from([5, 4]))
    if minor == 5:
        ids = draw(st.sampled_from(["numbered", "duplicate", "none"]))
        for number, each in enumerate(cells, 1):
            if ids == "numbered":
                each["id"] = f"c{number}"
            elif ids == "duplicate":
                each["id"] = "same"
    node: dict[str, Any] = {"cells": cells, "nbformat": 4, "nbformat_minor": minor}
    metadata = draw(_metadata(clean))
    if metadata is not None:
        node["metadata"] = metadata
    return node


@st.composite
def _corrupted(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with bytes flipped, or with a run of bytes removed."""
    how = draw(st.sampled_from(["truncate", "flip", "delete"]))
    at = draw(st.integers(0, len(data) - 1))
    if how == "truncate":
        return data[:at]
    if how == "delete":
        return data[:at] + data[at + draw(st.integers(1, 40)) :]
    flipped = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        spot = draw(st.integers(0, len(data) - 1))
        flipped[spot] = draw(st.integers(0, 255))
    return bytes(flipped)


JSON_VALUES: list[Any] = [None, 0, 7, True, "x", "python3", [], [1], ["a", 2], {}]


def _paths(node: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON tree, by its keys and indexes (the root excluded)."""
    items: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    for key, child in items:
        yield (*here, key)
        yield from _paths(child, (*here, key))


@st.composite
def _mistyped(draw: st.DrawFn, node: dict[str, Any]) -> dict[str, Any]:
    """The notebook with one value replaced by a value of another JSON type."""
    places = list(_paths(node))
    if not places:
        return node
    path = draw(st.sampled_from(places))
    parent: Any = node
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = draw(st.sampled_from(JSON_VALUES))
    return node


#: How an example is made: a clean notebook, a wild one, a wild one with a value of
#: the wrong JSON type, or a wild one whose bytes are damaged.
MODES = ["clean", "clean", "wild", "wild", "mistyped", "corrupted"]


@st.composite
def _example(draw: st.DrawFn) -> Example:
    mode = draw(st.sampled_from(MODES))
    node = draw(_notebook(clean=mode == "clean"))
    if mode == "mistyped":
        node = draw(_mistyped(node))
    text = json.dumps(
        node,
        indent=draw(st.sampled_from([1, None])),
        ensure_ascii=draw(st.booleans()),
    )
    data = text.encode("utf-8", "surrogatepass")
    if mode == "corrupted":
        data = draw(_corrupted(data))
    name = draw(
        st.sampled_from(["fuzz.ipynb", "fuzz.ipynb", "01 Über Analyse v2.ipynb"])
    )
    return Example(name, data, draw(st.sampled_from([False, False, False, True])))


# --- the property ------------------------------------------------------------------

GOOD = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "good",
            "metadata": {"tags": ["nb2prod:feature"]},
            "outputs": [],
            "source": "def double(x):\n    return 2 * x\n",
        }
    ],
    "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@functools.cache
def _good_package(name: str) -> dict[str, bytes]:
    """The files ``convert`` writes for the GOOD notebook saved as ``name`` (once)."""
    with tempfile.TemporaryDirectory() as temporary:
        notebook = Path(temporary) / name
        notebook.write_text(json.dumps(GOOD), encoding="utf-8")
        convert_static(job_for(notebook, out=Path(temporary) / "out"))
        return _snapshot(Path(temporary) / "out")


def _restore(folder: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)


#: Bugs the corpus keeps as strict xfails, tolerated here so that this test keeps
#: looking for new ones: (corpus case, exception type, text of its message). An
#: entry stops applying once its case leaves ``corpus.BUGS`` (the bug is fixed).
KNOWN_BUGS: list[tuple[str, type[Exception], str]] = []


def _known_bug(exc: Exception) -> str | None:
    for case, kind, text in KNOWN_BUGS:
        if case in BUGS and isinstance(exc, kind) and text in str(exc):
            return case
    return None


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_example())
def test_random_notebooks_convert_or_fail_cleanly(example: Example) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        notebook = root / example.name
        out = root / "out"
        if example.preexisting:  # a second conversion, into an existing package
            _restore(out, _good_package(example.name))
        before = _snapshot(out)
        notebook.write_bytes(example.data)
        try:
            convert_static(job_for(notebook, out=out))
        except Nb2ProdError as exc:
            event(f"refused: {type(exc).__name__}")
            assert _snapshot(out) == before, f"a failed convert changed files: {exc}"
            assert sorted(p.name for p in root.iterdir()) == sorted(
                [example.name, *(["out"] if before else [])]
            ), f"a failed convert left files behind: {exc}"
            if example.name not in str(exc):
                known = _known_bug(exc)
                assert known is not None, f"message lacks the file name: {exc}"
                event(f"known bug: {known}")
            return
        except Exception as exc:
            known = _known_bug(exc)
            if known is None:
                raise
            event(f"known bug: {known}")
            return
        event("converted")
        generated, stale = check(job_for(notebook, out=out), read_notebook(notebook))
        assert not stale, f"stale right after convert: {[s.path for s in stale]}"
        for path in sorted(generated.folder.rglob("*.py")):
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
