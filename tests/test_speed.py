"""The fast paths generate exactly what the slow one does.

The reference is the slow path as it was: no cache, every cell analysed in this
process, libcst's scopes resolved through its ``MetadataWrapper``, and every
statement walked for match patterns, walruses and imports, positions from the
wrapper's ``PositionProvider`` and each statement's code from ``code_for_node``,
and black run on each
whole module (not in pieces, nb2prod/render/chunks.py). A cold run
(empty cache, half the cells analysed in a forked helper), then a warm run (every
analysis and every black result from the cache) must give the same bytes, on the
golden cases, the sample notebooks and a generated notebook with many cells.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import libcst as cst
import nbformat
import pytest
from conftest import passes_alone
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider, ScopeProvider

from nb2prod.analysis import cells, fast, parallel
from nb2prod.analysis.cache import _without_nodes
from nb2prod.analysis.model import CellAnalysis
from nb2prod.notebook.read import Notebook, read_notebook
from nb2prod.notebook.tags import RoledCell, select
from nb2prod.notebook.vocabulary import load_vocabulary
from nb2prod.pipeline import generate
from nb2prod.render import chunks
from nb2prod.settings import job_for
from notebooks import from_percent

TESTS = Path(__file__).parent
GOLDEN = TESTS / "golden"
SAMPLES = TESTS.parent / "sample_notebooks"


def _wrapper_scopes(wrapper: MetadataWrapper) -> object:
    return wrapper.resolve(ScopeProvider)


def _always(text: str, keyword: str) -> bool:
    return True


def _wrapper_positions(
    module: cst.Module,
) -> tuple[Mapping[cst.CSTNode, CodeRange], dict[cst.CSTNode, str]]:
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = (*module.header, *module.body)
    return positions, {node: module.code_for_node(node) for node in nodes}


def feature_cell(index: int) -> str:
    return f'''import numpy as np
import pandas as pd


def feature_{index}(frame: pd.DataFrame) -> pd.Series:
    """Ratio {index}, smoothed."""
    ratio = frame["a"] / (frame["b"].abs() + 1e-9)  # no division by zero
    return ratio.rolling(window=3, min_periods=1).mean().clip(-{index}, {index})
'''


def large_notebook(size: int) -> dict[str, object]:
    """``size`` feature cells, each followed by an untagged exploration cell."""
    source = "import pandas as pd\nframe = pd.DataFrame({'a': [1, 2], 'b': [3, 4]})"
    notebook_cells: list[dict[str, object]] = [
        {"cell_type": "code", "metadata": {}, "id": "setup", "execution_count": None,
         "outputs": [], "source": source},
    ]  # fmt: skip
    for index in range(size):
        notebook_cells += [
            {"cell_type": "code", "metadata": {"tags": ["nb2prod:feature"]},
             "id": f"f{index}", "execution_count": None, "outputs": [],
             "source": feature_cell(index)},
            {"cell_type": "code", "metadata": {}, "id": f"u{index}",
             "execution_count": None, "outputs": [],
             "source": f"feature_{index}(frame).head()"},
        ]  # fmt: skip
    kernel = {"name": "python3", "language": "python", "display_name": "Python 3"}
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": kernel},
        "cells": notebook_cells,
    }


def _notebooks(folder: Path) -> Iterator[Path]:
    for case in sorted(p for p in GOLDEN.iterdir() if (p / "notebook.txt").is_file()):
        path = folder / f"{case.name}.ipynb"
        nbformat.write(from_percent((case / "notebook.txt").read_text()), str(path))
        yield path
    yield from sorted(SAMPLES.glob("*.ipynb"))
    path = folder / "many_features.ipynb"
    path.write_text(json.dumps(large_notebook(parallel.MIN_DEEP_CELLS + 12)))
    yield path


def _generated(path: Path) -> dict[str, str | bytes]:
    return generate(job_for(path), read_notebook(path)).files


def test_cold_warm_and_uncached_generation_are_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = list(_notebooks(tmp_path))
    with monkeypatch.context() as slow:
        slow.setenv("NB2PROD_NO_CACHE", "1")
        slow.setattr(parallel, "MIN_DEEP_CELLS", 10**9)
        slow.setattr(cells, "scopes_of", _wrapper_scopes)
        slow.setattr(cells, "_mentions", _always)
        slow.setattr(chunks, "MIN_PIECES", 10**9)
        slow.setattr(cells, "positions_and_code", _wrapper_positions)
        slow.setattr(fast, "statements", lambda tree, source: None)  # libcst only
        reference = {path: _generated(path) for path in paths}
    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NB2PROD_NO_CACHE", raising=False)
    cold = {path: _generated(path) for path in paths}
    warm = {path: _generated(path) for path in paths}
    assert len(reference) >= 7  # the golden cases, the samples, the large one
    for path in paths:
        assert cold[path] == reference[path], f"cold differs on {path.name}"
        assert warm[path] == reference[path], f"warm differs on {path.name}"


#: Cells whose scopes are easy to get wrong: every way a name is bound or read.
TRICKY = [
    "import os.path\nfrom collections import abc as A\nx = os.path.join('a')",
    "def f(a, *b, c=len, **d):\n    global G\n    G = a\n    return [y for y in b if (z := y)]",
    "class C:\n    k = 1\n    def m(self) -> 'np.ndarray':\n        return k + self.k",
    "match value:\n    case [first, *rest]:\n        out = first\n    case {'k': v, **others}:\n        out = v\n    case Point(x=px) as p:\n        out = px",
    "total = sum(n for n in range(10))\nprint([w := 1 for _ in range(2)], w)",
    "def outer():\n    v = 1\n    def inner():\n        nonlocal v\n        v += 1\n    return inner\n",
    "lam = lambda q, r=bound: q + r + free\ndel lam\ndisplay(total)\nget_ipython()",
    "@decorate(arg)\nasync def go(x: int = default) -> None:\n    async with ctx as c:\n        await c(x)",
    "try:\n    pass\nexcept ValueError as err:\n    msg = str(err)\nfor i, (j, k) in pairs:\n    acc[i] = j",
    "x: 'List[int]' = []\ntype_alias = dict[str, 'Other']\nprint(f'{x!r} {undefined}')",
]


@pytest.mark.parametrize("source", TRICKY)
def test_scopes_without_the_wrapper_match_the_wrapper(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "n.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    notebook.cells[0].metadata["tags"] = ["nb2prod:export"]
    nbformat.write(notebook, str(path))
    read = read_notebook(path)
    cell: RoledCell = select(read, load_vocabulary()).cells[0]
    fast = _without_nodes(cells.analyse(read, cell))
    monkeypatch.setattr(cells, "scopes_of", _wrapper_scopes)
    monkeypatch.setattr(cells, "_mentions", _always)
    slow = _without_nodes(cells.analyse(read, cell))
    assert fast.statements, "the cell was analysed"
    assert fast == slow


#: Code whose positions and statement text are easy to get wrong.
LAYOUTS = [
    *TRICKY,
    "# header comment\n\n\nx = 1\n\n# between\n\ny = 2  # trailing\n# footer\n",
    "x = 1\r\ny = 2\r\nif x:\r\n    z = '''a\r\nb'''\r\n",
    "a = 1\rb = 2\r",
    "def f():\n\treturn 1\n\n\n@d\n# c\nclass K:\n    '''doc\n    more'''\n",
    "s = (1,\n     2)  \\\n\nt = 3",
    "no_trailing_newline = f'{1}\\n{2}'",
    "if x:\n    pass\n    # indented footer\n# dedented footer\n",
]


@pytest.mark.parametrize("source", LAYOUTS)
def test_positions_in_one_pass_match_the_wrapper(source: str) -> None:
    module = cst.parse_module(source)
    fast, codes = cells.positions_and_code(module)
    slow, slow_codes = _wrapper_positions(module)
    assert dict(fast) == dict(slow)
    assert codes == slow_codes


def _large(tmp_path: Path) -> tuple[Notebook, list[RoledCell]]:
    path = tmp_path / "many.ipynb"
    document = large_notebook(parallel.MIN_DEEP_CELLS + 2)
    for cell in document["cells"]:  # type: ignore[attr-defined]
        if cell["metadata"].get("tags"):  # a walrus: libcst's, not ast's
            cell["source"] += "\nif (squares := 3):\n    pass\n"
    path.write_text(json.dumps(document))
    notebook = read_notebook(path)
    return notebook, list(select(notebook, load_vocabulary()).cells)


def _die(analysis: CellAnalysis) -> CellAnalysis:
    os._exit(3)  # the helper process dies mid-way, as if killed


def test_half_the_deep_cells_are_analysed_in_a_helper(tmp_path: Path) -> None:
    if threading.active_count() > 1:
        # Earlier tests left threads (a Spark session's py4j), so the helper rightly
        # refuses to fork this process: check it alone, in a fresh one.
        passes_alone(f"{__file__}::test_half_the_deep_cells_are_analysed_in_a_helper")
        return
    notebook, roled = _large(tmp_path)
    both = parallel.analyse_all(notebook, roled, _without_nodes)
    here = [cells.analyse(notebook, cell) for cell in roled]
    helped = [a for a in both if cells.is_deep(a.cell) and a.statements[0].node is None]
    deep = [cell for cell in roled if cells.is_deep(cell)]
    assert len(helped) == len(deep) // 2  # really analysed in the forked helper
    assert [_without_nodes(a) for a in both] == [_without_nodes(a) for a in here]


def test_a_helper_that_dies_only_costs_time(tmp_path: Path) -> None:
    notebook, roled = _large(tmp_path)
    survived = parallel.analyse_all(notebook, roled, _die)
    assert all(a.statements[0].node for a in survived if cells.is_deep(a.cell))
    here = [cells.analyse(notebook, cell) for cell in roled]
    assert [_without_nodes(a) for a in survived] == [_without_nodes(a) for a in here]
