"""Reuse work that has not changed: cell analyses and black's output, on disk.

Entries are keyed by the content and the versions of nb2prod, libcst and black,
and stored where users expect caches: ``$NB2PROD_CACHE_DIR``, else
``$XDG_CACHE_HOME/nb2prod``, else ``~/.cache/nb2prod``. ``NB2PROD_NO_CACHE=1``
turns it off. A damaged, foreign or unreadable entry is recomputed, never trusted;
a cache that cannot be written is skipped.

The cache is bounded: each hit marks its entry used (its modification time), and a
command that stored new entries then removes the least recently used ones until
the whole fits the limit (``cache-size`` in ``[tool.nb2prod]``, MiB, default
:data:`nb2prod.settings.DEFAULT_CACHE_BYTES`, 256 MiB). A run that only reads (a warm one) lists nothing.

How entries are written, checked (an HMAC with a key only this user can read) and
evicted is :mod:`.entries`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from nb2prod.analysis import entries
from nb2prod.analysis.cells import CellAnalysis, analyse
from nb2prod.analysis.parallel import analyse_all
from nb2prod.errors import Diagnostic, Location
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.tags import RoledCell


def analysed(notebook: Notebook, cell: RoledCell) -> CellAnalysis:
    """``analyse(notebook, cell)``, from the cache when the cell was seen before."""
    entries.settle()
    key = _analysis_key(cell)
    stored = entries.load(key)
    if isinstance(stored, CellAnalysis):
        return _relocated(stored, notebook, cell)
    fresh = analyse(notebook, cell)
    entries.store(key, _without_nodes(fresh))
    return fresh


def analysed_all(notebook: Notebook, cells: Sequence[RoledCell]) -> list[CellAnalysis]:
    """``analysed`` of each cell; the cells not in the cache are analysed on two cores.

    What a cold run computes is what a warm run reads back (no libcst nodes for the
    cells analysed in the helper process), so both generate the same package.
    """
    entries.settle()
    keys = [_analysis_key(cell) for cell in cells]
    results: list[CellAnalysis | None] = []
    missing: list[int] = []
    for index, (cell, key) in enumerate(zip(cells, keys, strict=True)):
        stored = entries.load(key)
        if isinstance(stored, CellAnalysis):
            results.append(_relocated(stored, notebook, cell))
        else:
            results.append(None)
            missing.append(index)
    fresh = analyse_all(notebook, [cells[i] for i in missing], _without_nodes)
    new = []
    for index, analysis in zip(missing, fresh, strict=True):
        new.append((keys[index], _without_nodes(analysis)))
        results[index] = analysis
    entries.store_meanwhile(new)
    return [r for r in results if r is not None]  # every one is set by now


def _analysis_key(cell: RoledCell) -> str:
    role = cell.role.value if cell.role else ""
    return entries.key_of("analysis", role, cell.source)


def formatted(text: str, format_text: Callable[[str], str]) -> str:
    """``format_text(text)`` (black), from the cache when the text was seen before."""
    entries.settle()
    key = entries.key_of("black", text)
    stored = entries.load(key)
    if isinstance(stored, str):
        return stored
    result = format_text(text)
    entries.store(key, result)
    return result


def formatted_all(
    texts: Sequence[str], format_texts: Callable[[list[str]], list[str]]
) -> list[str]:
    """``formatted`` of each text; the misses go to ``format_texts`` in one call."""
    entries.settle()
    keys = [entries.key_of("black", text) for text in texts]
    results: list[str | None] = []
    missing: list[int] = []
    for index, key in enumerate(keys):
        stored = entries.load(key)
        results.append(stored if isinstance(stored, str) else None)
        if not isinstance(stored, str):
            missing.append(index)
    fresh = format_texts([texts[i] for i in missing])
    for index, result in zip(missing, fresh, strict=True):
        entries.store(keys[index], result)
        results[index] = result
    return [r for r in results if r is not None]  # every one is set by now


def _without_nodes(cell: CellAnalysis) -> CellAnalysis:
    """What can be stored: libcst nodes are re-parsed when needed (analysis.hydrate)."""
    statements = tuple(
        dataclasses.replace(
            s, node=None, uses=tuple(dataclasses.replace(u, node=None) for u in s.uses)
        )
        for s in cell.statements
    )
    return dataclasses.replace(cell, statements=statements)


def _relocated(
    stored: CellAnalysis, notebook: Notebook, cell: RoledCell
) -> CellAnalysis:
    """A stored analysis, its diagnostics pointing at this notebook and cell."""
    diagnostics = tuple(_moved(d, notebook, cell) for d in stored.diagnostics)
    return dataclasses.replace(stored, cell=cell, diagnostics=diagnostics)


def _moved(diagnostic: Diagnostic, notebook: Notebook, cell: RoledCell) -> Diagnostic:
    old = diagnostic.location
    location = Location(
        notebook.path,
        cell.cell.number,
        cell.cell.id,
        old.line,
        old.column,
        old.source_line,
        old.width,
    )
    return dataclasses.replace(diagnostic, location=location)


__all__ = ["analysed", "analysed_all", "formatted", "formatted_all"]
