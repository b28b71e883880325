"""Black piece by piece (nb2prod/render/chunks.py) gives black's bytes for the whole.

The pieces' equivalence argument is in the module's docstring; here it is checked:
on every module nb2prod generates for the golden cases, the samples and a large
notebook, and on thousands of modules built the way the template builds them from
the cells of the golden cases, the samples, the corpus, the fuzz fragments and
snippets chosen to hit black's neighbour-dependent rules (comments before a
definition, class docstrings, stubs, overloads, imports, ``if TYPE_CHECKING``,
trailing comments, decorators, ``# fmt:`` directives), with every allowed cut taken.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import black
import nbformat
import pytest
from conftest import passes_alone
from corpus import ALL
from test_fuzz import INVALID, VALID
from test_speed import TRICKY, large_notebook

from nb2prod import generation
from nb2prod.analysis import parallel
from nb2prod.notebook.read import read_notebook
from nb2prod.pipeline import generate
from nb2prod.render import chunks, formatting
from nb2prod.settings import job_for
from notebooks import from_percent

TESTS = Path(__file__).parent
GOLDEN = TESTS / "golden"
SAMPLES = TESTS.parent / "sample_notebooks"
MODE = formatting.mode()

#: Cells written to meet each rule of black that looks at a neighbour.
NEIGHBOURS = [
    "class Empty: ...",
    "class Documented:\n    '''Doc.'''",
    "class Documented2:\n\n    '''Doc.'''\n    x = 1",
    "def stub(): ...",
    "def stub2(x: int) -> int: ...\ndef stub2b(): ...",
    "@overload\ndef over(x: int) -> int: ...\n@overload\ndef over(x: str) -> str: ...\ndef over(x):\n    return x",
    "# leading comment\ndef after_comment():\n    return 1",
    "# first\n\n# second\ndef spaced():\n    pass",
    "# only a comment",
    "if TYPE_CHECKING:\n    from os import PathLike\nelse:\n    PathLike = object",
    "if TYPE_CHECKING:\n    def typed() -> None: ...",
    "if FLAG:\n    def maybe():\n        return 1\nelse:\n    def maybe():\n        return 2",
    "try:\n    import fast\nexcept ImportError:\n    fast = None",
    "import os\nimport sys",
    "from typing import TYPE_CHECKING, overload",
    "'''A string statement.'''\nx = 1",
    "x = 1\n'''A string after.'''",
    "value = 1  # trailing comment",
    "def trailing():\n    return 1\n    # indented comment after the body",
    "def trailing2():\n    return 1\n# column-0 comment after the body",
    "def deep():\n    def inner():\n        def innermost():\n            return 1\n        return innermost\n    return inner",
    "class Outer:\n    class Inner:\n        pass\n\n    def method(self):\n        pass",
    "@decorator\n# comment between\n@other(1)\nclass Decorated:\n    pass",
    "for item in range(3):\n    pass\nelse:\n    DONE = True",
    "while False:\n    pass",
    "with open(__file__) as handle:\n    TEXT = handle.read()",
    "match command:\n    case 'go':\n        pass\n    case _:\n        pass",
    "x = 1; y = 2",
    "a_very_long_name = some_function(argument_one, argument_two, argument_three, argument_four)",
    "magic = [\n    1,\n]",
    "def many(a,b,c):\n  return a+b+c",
    "class   Spaced  :\n\n\n\n    x=1\n\n\n\n    def m(self):  return 1",
    "global_value = {'a':1,'b':[1,2,3]}",
    "async def coro():\n    await thing()",
    "lambda_ = lambda: 0",
    "print('done')",
    "del lambda_",
    "assert True, 'message'",
    "raise SystemExit(0)",
    "def fmt_off():\n    # fmt: off\n    x = [1,2,\n         3]\n    # fmt: on\n    return x",
    "y = [1,2]  # fmt: skip",
    "z = [1,2]\n# yapf: disable\nw = [3,4]",
    "# fmt: off\nv = [1,2]",
]


def _code_cells(notebook: dict[str, object]) -> Iterator[str]:
    for cell in notebook.get("cells", []):  # type: ignore[attr-defined]
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(s for s in source if isinstance(s, str))
            if isinstance(source, str):
                yield source


def known_cells() -> list[str]:
    """Every code cell the test suites hold: fuzz fragments, tricky and neighbour
    snippets, the golden cases, the samples and the corpus (each once)."""
    found = [*VALID, *INVALID, *TRICKY, *NEIGHBOURS]
    for case in sorted(p for p in GOLDEN.iterdir() if (p / "notebook.txt").is_file()):
        found += _code_cells(from_percent((case / "notebook.txt").read_text()))
    for path in sorted(SAMPLES.glob("*.ipynb")):
        found += _code_cells(json.loads(path.read_text()))
    for case in ALL:
        try:
            found += _code_cells(json.loads(case.build()))
        except ValueError:
            continue  # a malformed notebook file
    return list(dict.fromkeys(found))


def _cell_sources() -> list[str]:
    # Long or deeply nested cells (the corpus has 5,000-line ones) only cost time.
    return [s for s in known_cells() if len(s) < 2000 and _parses(s)]


def _parses(source: str) -> bool:
    try:
        black.format_str(source, mode=MODE)
    except Exception:
        return False
    return "\x00" not in source


def _module(rng: random.Random, sources: list[str], size: int) -> str:
    """A module shaped as templates/package/module.py.j2 shapes one."""
    head = rng.choice(
        [
            '# Generated by nb2prod\n"""Features."""\n\nimport pandas as pd\n\n',
            '"""Only a docstring."""\n',
            "# Generated\nimport os\nfrom math import sqrt\n\nfrom .helpers import h\n",
            "",
        ]
    )
    text = head
    for index in range(size):
        gap = "\n" * rng.choice([0, 1, 1, 1, 2, 3])  # 1 to 4 empty lines
        markdown = "".join(
            rng.choice(["# ## Title\n", "# Why it matters.\n", "#\n", "#no space\n"])
            for _ in range(rng.randrange(3))
        )
        code = rng.choice(sources)
        text += f"{gap}\n# --- From cell id c{index} (nb2prod:feature) ---\n{markdown}{code}\n"
    return text


def _check(text: str) -> int:
    """Black on the pieces equals black on the whole; the number of cuts."""
    pieces = chunks.split(text)
    try:
        whole = black.format_str(text, mode=MODE)
    except black.parsing.InvalidInput:
        assert pieces is None  # only a module Python parses is cut
        return 0
    if pieces is None:
        return 0
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    formatted = chunks.join([black.format_str(p, mode=MODE) for p in pieces])
    assert formatted == whole, text
    return len(pieces) - 1


@pytest.fixture
def every_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take every allowed cut, however small the module."""
    monkeypatch.setattr(chunks, "MIN_PIECES", 1)
    monkeypatch.setattr(chunks, "SPREAD", 1)


@pytest.mark.usefixtures("every_cut")
def test_pieces_of_built_modules_format_as_the_whole() -> None:
    sources = _cell_sources()
    assert len(sources) > 150
    rng = random.Random(15)
    cuts = 0
    for _ in range(600):
        cuts += _check(_module(rng, sources, rng.randrange(2, 9)))
    assert cuts > 400  # the cuts really were taken


def _rendered(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every generated module's text as it goes to black."""
    seen: dict[str, str] = {}
    real = generation.format_files

    def recording(files: dict[str, str]) -> dict[str, str]:
        seen.update((p, t) for p, t in files.items() if p.endswith(".py"))
        return real(files)

    monkeypatch.setattr(generation, "format_files", recording)
    generate(job_for(path), read_notebook(path))
    return seen


@pytest.mark.usefixtures("every_cut")
def test_pieces_of_generated_modules_format_as_the_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = sorted(SAMPLES.glob("*.ipynb"))
    for case in sorted(p for p in GOLDEN.iterdir() if (p / "notebook.txt").is_file()):
        path = tmp_path / f"{case.name}.ipynb"
        nbformat.write(from_percent((case / "notebook.txt").read_text()), str(path))
        paths.append(path)
    large = tmp_path / "many_features.ipynb"
    large.write_text(json.dumps(large_notebook(40)))
    paths.append(large)
    cuts = 0
    for path in paths:
        for text in _rendered(path, monkeypatch).values():
            cuts += _check(text)
    assert cuts >= 40


@pytest.mark.usefixtures("every_cut")
@pytest.mark.parametrize(
    "marker",
    [
        "# fmt: off",
        "#fmt:skip",
        "# yapf: disable",
        "# -*- coding: latin-1 -*-",
        "\r",
        "\f",
    ],
)
def test_a_module_black_may_read_across_statements_is_formatted_whole(
    marker: str,
) -> None:
    blocks = "".join(
        f"\n\n\n# --- From cell id c{i} ---\ndef f{i}():\n    return {i}\n"
        for i in range(20)
    )
    text = "import os\n" + blocks
    assert chunks.split(text) is not None
    assert chunks.split(text + f"x = 1  {marker}\n") is None


@pytest.mark.usefixtures("every_cut")
def test_cuts_follow_the_rules() -> None:
    def block(code: str, index: int) -> str:
        return f"\n\n\n# --- From cell id c{index} ---\n{code}\n"

    defs = "".join(block(f"def f{i}():\n    return {i}", i) for i in range(20))
    assert chunks.split("import os\n" + defs) is not None
    # After an import, before an expression or after one: no cut.
    imports = "".join(block(f"import m{i}", i) for i in range(20))
    assert chunks.split(imports) is None
    strings = "".join(block(f"'''s{i}'''", i) for i in range(20))
    assert chunks.split("x = 1\n" + strings) is None
    # A comment trailing the previous cell: no cut there.
    trailing = "".join(block(f"x{i} = {i}\n# end", i) for i in range(20))
    assert chunks.split(trailing) is None
    # One blank line only: no cut.
    close = "".join(f"\n# --- From cell id c{i} ---\nx{i} = 1\n" for i in range(20))
    assert chunks.split(close) is None


def test_editing_one_cell_formats_one_piece_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NB2PROD_NO_CACHE", raising=False)
    monkeypatch.setattr(formatting, "MIN_PARALLEL_LINES", 10**9)  # count here
    formatted: list[str] = []
    real = formatting._black_whole

    def counting(text: str) -> str:
        formatted.append(text)
        return real(text)

    monkeypatch.setattr(formatting, "_black_whole", counting)
    path = tmp_path / "many.ipynb"
    notebook = large_notebook(200)
    path.write_text(json.dumps(notebook))
    first = generate(job_for(path), read_notebook(path)).files
    pieces = [t for t in formatted if "# --- From" in t]
    assert len(pieces) > 5  # the feature module went in pieces
    cell = notebook["cells"][101]  # type: ignore[index]
    cell["source"] = cell["source"].replace("+ 1e-9", "+1e-9")  # black undoes it
    path.write_text(json.dumps(notebook))
    formatted.clear()
    second = generate(job_for(path), read_notebook(path)).files
    assert len([t for t in formatted if "# --- From" in t]) == 1
    features = [p for p in first if p.endswith("features.py")]
    assert features and all(first[p] == second[p] for p in features)


def test_another_black_release_formats_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """The argument in render/chunks.py was read from black 26's source only."""
    whole: list[str] = []
    real = formatting._black_whole

    def counting(text: str) -> str:
        whole.append(text)
        return real(text)

    monkeypatch.setattr(formatting, "_black_whole", counting)
    monkeypatch.setattr(formatting, "MIN_PARALLEL_LINES", 10**9)  # count here
    module = "".join(
        f"\n\n# --- From cell {i} [id c{i}] ---\ndef f{i}(x):\n    return x+{i}\n"
        for i in range(40)
    )
    assert chunks.split(module) is not None
    assert formatting._black(module) == real(module)
    assert len(whole) > 1  # in pieces with this black
    whole.clear()
    monkeypatch.setattr(formatting, "BLACK_VERSION", "27.1.0")
    assert formatting._black(module) == real(module)
    assert whole == [module]


def _pid(item: int) -> int:
    return os.getpid()


def _die(item: int) -> int:
    if os.getpid() != MAIN_PID:
        os._exit(3)
    return item


MAIN_PID = os.getpid()


def test_map_in_two_shares_the_work_with_a_helper_that_may_die() -> None:
    if threading.active_count() > 1:  # an earlier test's: this process is not forked
        name = "test_map_in_two_shares_the_work_with_a_helper_that_may_die"
        passes_alone(f"{__file__}::{name}")
        return
    if parallel._cores() < 2:
        pytest.skip("one core: no helper")
    pids = parallel.map_in_two(list(range(10)), _pid, lambda _: 1, 2)
    assert len(set(pids[:5])) == 1 and pids[0] != os.getpid()  # the helper's half
    assert set(pids[5:]) == {os.getpid()}
    assert parallel.map_in_two(list(range(10)), _die, lambda _: 1, 2) == list(range(10))


def test_modules_formatted_in_one_batch_are_those_formatted_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """format_files formats every uncached module's pieces in one helper batch; the
    result, and the error naming a module black refuses, are format_source's."""
    from nb2prod.errors import GeneratedCodeError

    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NB2PROD_NO_CACHE", raising=False)
    monkeypatch.setattr(formatting, "MIN_PARALLEL_LINES", 10)  # fork for this batch
    split = "".join(
        f"\n\n# --- From cell {i} [id c{i}] ---\ndef f{i}(x):\n    return x+{i}\n"
        for i in range(40)
    )
    files = {
        "pkg/features.py": split,
        "pkg/small.py": "x  =  [1,\n  2]\n",
        "README.md": "x  =  1\n",
        "tests/other.py": "def g( a ):\n  return a\n",
    }
    batched = formatting.format_files(files)
    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "other"))
    alone = {
        path: formatting.format_source(path, text) if path.endswith(".py") else text
        for path, text in files.items()
    }
    assert batched == alone
    assert batched["README.md"] == files["README.md"]
    again = formatting.format_files(files)  # from the cache now
    assert again == batched
    broken = {**files, "pkg/bad.py": "def (\n"}
    with pytest.raises(GeneratedCodeError, match=r"invalid Python in pkg/bad\.py"):
        formatting.format_files(broken)


def test_each_piece_is_proven_where_it_is_formatted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A piece black breaks is an error naming its module, in the helper too, and is
    never cached; a module that mentions __future__ is also parsed whole."""
    from nb2prod.errors import GeneratedCodeError

    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NB2PROD_NO_CACHE", raising=False)
    monkeypatch.setattr(formatting, "MIN_PARALLEL_LINES", 10)  # the helper takes part
    module = "".join(
        f"\n\n# --- From cell {i} [id c{i}] ---\ndef f{i}(x):\n    return x+{i}\n"
        for i in range(40)
    )
    pieces = chunks.split(module)
    assert pieces is not None and len(pieces) > 2
    real = formatting._black_whole
    for broken in (pieces[0], pieces[-1]):  # the helper's half, then the parent's

        def breaking(text: str, broken: str = broken) -> str:
            return "def broken(:\n" if text == broken else real(text)

        monkeypatch.setattr(formatting, "_black_whole", breaking)
        with pytest.raises(GeneratedCodeError, match=r"invalid Python in pkg/f\.py"):
            formatting.format_files({"pkg/f.py": module})
    monkeypatch.setattr(formatting, "_black_whole", real)
    assert formatting.format_files({"pkg/f.py": module})["pkg/f.py"] == real(module)
    parsed: list[str] = []
    real_parse = formatting.ast.parse

    def counting(text: str, *args: object, **kwargs: object) -> object:
        parsed.append(text)
        return real_parse(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(formatting.ast, "parse", counting)
    future = "from __future__ import annotations\n" + module.replace("f3", "g3")
    done = formatting.format_files({"pkg/g.py": future})["pkg/g.py"]
    assert done in parsed  # the whole module, once joined
