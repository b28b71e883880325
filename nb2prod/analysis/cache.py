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
import hashlib
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import version
from typing import TypeVar

from nb2prod import __version__
from nb2prod.analysis import entries
from nb2prod.analysis.cells import CellAnalysis, analyse
from nb2prod.analysis.entries import folder, settle, trim
from nb2prod.analysis.parallel import analyse_all
from nb2prod.errors import Diagnostic, Location
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.tags import RoledCell
from nb2prod.resources import source_fingerprint

_T = TypeVar("_T")


@cache
def _versions() -> str:
    """The tools that decide an entry; nb2prod's own source counts, for development."""
    return (
        f"{__version__}/{source_fingerprint()}/{version('libcst')}/{version('black')}"
    )


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
    return _key("analysis", role, cell.source)


def formatted(text: str, format_text: Callable[[str], str]) -> str:
    """``format_text(text)`` (black), from the cache when the text was seen before."""
    entries.settle()
    key = _key("black", text)
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
    keys = [_key("black", text) for text in texts]
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


def remembered(kind: type[_T], parts: Sequence[str], compute: Callable[[], _T]) -> _T:
    """``compute()``, from the cache when the same ``parts`` were seen before.

    For values that are slow to find and decided by the ``parts`` alone; a stored
    value that is not a ``kind`` is computed again.
    """
    stored = recalled(kind, parts)
    if stored is not None:
        return stored
    value = compute()
    keep(parts, value)
    return value


def recalled(kind: type[_T], parts: Sequence[str]) -> _T | None:
    """The value kept under ``parts``, or None (never kept, or not a ``kind``)."""
    stored = entries.load(_key("value", *parts))
    return stored if isinstance(stored, kind) else None


def keep(parts: Sequence[str], value: object) -> None:
    """Keep ``value`` under ``parts`` for :func:`recalled`."""
    entries.store(_key("value", *parts), value)


def _key(*parts: str) -> str:
    digest = hashlib.sha256(_versions().encode())
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


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


__all__ = ["analysed", "analysed_all", "folder", "formatted", "settle", "trim"]
