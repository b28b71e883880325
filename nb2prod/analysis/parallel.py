"""Analyse many cells on two cores: a forked helper takes half of the libcst cells.

Most cells are analysed from Python's ``ast`` (:mod:`nb2prod.analysis.fast`), far
faster than forking; what is left is libcst's scope analysis of the cells outside
that subset, one cell at a time and independent of the others, so that work splits
by cell. The helper process is forked (it inherits the
imported modules and the notebook, nothing is re-imported or sent to it) and
sends back analyses without their libcst nodes, exactly what a cache hit gives;
:func:`nb2prod.analysis.cells.hydrate` re-parses the few cells whose nodes are
needed. Anything that goes wrong in the helper only costs speed: its cells are
then analysed here. A process with other threads (the Jupyter save hook) is not
forked: a lock another thread holds would stay held in the child forever.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from nb2prod.analysis.cells import CellAnalysis, analyse, analyse_quickly
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.tags import RoledCell

#: Fewer cells needing libcst than this are analysed here: forking costs more.
MIN_DEEP_CELLS = 48


def analyse_all(
    notebook: Notebook,
    cells: Sequence[RoledCell],
    storable: Callable[[CellAnalysis], CellAnalysis],
) -> list[CellAnalysis]:
    """``analyse`` of each cell, in order; the cells that need libcst shared with a
    helper when there are enough of them.

    ``storable`` strips what cannot cross a process (the libcst nodes).
    """
    results = [analyse_quickly(notebook, cell) for cell in cells]
    rest = [index for index, found in enumerate(results) if found is None]
    slow = map_in_two(
        [cells[i] for i in rest],
        lambda cell: analyse(notebook, cell),
        lambda cell: 1,
        MIN_DEEP_CELLS,
        send=storable,
    )
    for index, analysis in zip(rest, slow, strict=True):
        results[index] = analysis
    return [r for r in results if r is not None]  # every one is set by now


T = TypeVar("T")
R = TypeVar("R")

#: What the forked helper of :func:`map_in_two` computes (set just before the fork,
#: so nothing is pickled): the work, its items, and what the results go through.
_MAP: tuple[Callable[[Any], Any], list[Any], Callable[[Any], Any] | None] | None
_MAP = None


def map_in_two(
    items: Sequence[T],
    work: Callable[[T], R],
    weight: Callable[[T], int],
    min_weight: int,
    send: Callable[[R], R] | None = None,
) -> list[R]:
    """``[work(item) for item in items]``, the first half of the weight done in a
    forked helper.

    Only with two cores, a fork start method, no other thread (forking a threaded
    process, such as Jupyter's, can hang) and at least ``min_weight`` in all. The
    helper's results cross back pickled, through ``send`` when given (which strips
    what cannot). If the helper fails, its share is done here (an exception ``work``
    raises here then propagates, as it would without the helper).
    """
    total = sum(weight(item) for item in items)
    if (
        len(items) < 2
        or total < min_weight
        or _cores() < 2
        or not _can_fork()
        or threading.active_count() > 1
    ):
        return [work(item) for item in items]
    split, done = 0, 0
    while split < len(items) and done * 2 < total:
        done += weight(items[split])
        split += 1
    theirs = list(items[:split])
    global _MAP
    _MAP = (work, theirs, send)
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(1, context, initializer=_quiet) as pool:
            pending = pool.submit(_map_helper)  # forks now, with _MAP set
            mine = [work(item) for item in items[split:]]
            try:
                helped: list[R] = pending.result()
            except Exception:  # the helper failed or died: its share is done here
                helped = [work(item) for item in theirs]
    finally:
        _MAP = None
    return [*helped, *mine]


def _map_helper() -> list[Any]:
    """In the forked process: ``work`` of the items set aside for it."""
    assert _MAP is not None
    work, items, send = _MAP
    done = [work(item) for item in items]
    return done if send is None else [send(result) for result in done]


def _quiet() -> None:
    """In the helper: Ctrl-C is the parent's to handle (it stops the helper)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


__all__ = ["MIN_DEEP_CELLS", "analyse_all", "map_in_two"]
