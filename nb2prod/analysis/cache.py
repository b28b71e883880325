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

Entries are pickles, so each one carries an HMAC made with a key only this user can
read (``key``, mode 0600, in the cache folder): an entry planted by anyone else,
who can write the folder but not read the key, is a miss, never unpickled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import os
import pickle
import secrets
import stat
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

from nb2prod import __version__
from nb2prod.analysis.cells import CellAnalysis, analyse
from nb2prod.analysis.parallel import analyse_all
from nb2prod.errors import Diagnostic, Location
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.tags import RoledCell
from nb2prod.resources import source_fingerprint

_T = TypeVar("_T")


def folder() -> Path | None:
    """The cache folder, or None when caching is off."""
    if os.environ.get("NB2PROD_NO_CACHE"):
        return None
    if os.environ.get("NB2PROD_CACHE_DIR"):
        return Path(os.environ["NB2PROD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nb2prod"


@cache
def _versions() -> str:
    """The tools that decide an entry; nb2prod's own source counts, for development."""
    return (
        f"{__version__}/{source_fingerprint()}/{version('libcst')}/{version('black')}"
    )


def analysed(notebook: Notebook, cell: RoledCell) -> CellAnalysis:
    """``analyse(notebook, cell)``, from the cache when the cell was seen before."""
    key = _analysis_key(cell)
    stored = _load(key)
    if isinstance(stored, CellAnalysis):
        return _relocated(stored, notebook, cell)
    fresh = analyse(notebook, cell)
    _store(key, _without_nodes(fresh))
    return fresh


def analysed_all(notebook: Notebook, cells: Sequence[RoledCell]) -> list[CellAnalysis]:
    """``analysed`` of each cell; the cells not in the cache are analysed on two cores.

    What a cold run computes is what a warm run reads back (no libcst nodes for the
    cells analysed in the helper process), so both generate the same package.
    """
    keys = [_analysis_key(cell) for cell in cells]
    results: list[CellAnalysis | None] = []
    missing: list[int] = []
    for index, (cell, key) in enumerate(zip(cells, keys, strict=True)):
        stored = _load(key)
        if isinstance(stored, CellAnalysis):
            results.append(_relocated(stored, notebook, cell))
        else:
            results.append(None)
            missing.append(index)
    fresh = analyse_all(notebook, [cells[i] for i in missing], _without_nodes)
    for index, analysis in zip(missing, fresh, strict=True):
        _store(keys[index], _without_nodes(analysis))
        results[index] = analysis
    return [r for r in results if r is not None]  # every one is set by now


def _analysis_key(cell: RoledCell) -> str:
    role = cell.role.value if cell.role else ""
    return _key("analysis", role, cell.source)


def formatted(text: str, format_text: Callable[[str], str]) -> str:
    """``format_text(text)`` (black), from the cache when the text was seen before."""
    key = _key("black", text)
    stored = _load(key)
    if isinstance(stored, str):
        return stored
    result = format_text(text)
    _store(key, result)
    return result


def formatted_all(
    texts: Sequence[str], format_texts: Callable[[list[str]], list[str]]
) -> list[str]:
    """``formatted`` of each text; the misses go to ``format_texts`` in one call."""
    keys = [_key("black", text) for text in texts]
    results: list[str | None] = []
    missing: list[int] = []
    for index, key in enumerate(keys):
        stored = _load(key)
        results.append(stored if isinstance(stored, str) else None)
        if not isinstance(stored, str):
            missing.append(index)
    fresh = format_texts([texts[i] for i in missing])
    for index, result in zip(missing, fresh, strict=True):
        _store(keys[index], result)
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
    stored = _load(_key("value", *parts))
    return stored if isinstance(stored, kind) else None


def keep(parts: Sequence[str], value: object) -> None:
    """Keep ``value`` under ``parts`` for :func:`recalled`."""
    _store(_key("value", *parts), value)


def _key(*parts: str) -> str:
    digest = hashlib.sha256(_versions().encode())
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _load(key: str) -> object:
    root = folder()
    secret = _secret(root) if root is not None else None
    if root is None or secret is None:
        return None
    path = _entry_path(root, key)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    mac, body = data[:_MAC_SIZE], data[_MAC_SIZE:]
    if not hmac.compare_digest(mac, hmac.digest(secret, body, "sha256")):
        return None  # planted or damaged: never unpickled
    try:
        value = pickle.loads(body)
    except Exception:  # from another version: recompute
        return None
    _touch(path)
    return value


def _entry_path(root: Path, key: str) -> str:
    """Where the entry ``key`` lives (a string: thousands of entries are read a run)."""
    return os.path.join(root, key[:2], key)


def _touch(path: str) -> None:
    """Mark an entry used now, for the least-recently-used eviction."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _store(key: str, value: object) -> None:
    root = folder()
    secret = _secret(root) if root is not None else None
    if root is None or secret is None:
        return
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    target = _entry_path(root, key)
    shard = os.path.dirname(target)
    # Written whole under a temporary name ("tmp...", which trim() counts), then
    # renamed: a reader sees the old entry, the new one, or none.
    temporary = os.path.join(shard, f"tmp{os.getpid()}-{secrets.token_hex(6)}")
    try:
        with os.fdopen(_created(temporary, shard), "wb") as written:
            written.write(hmac.digest(secret, body, "sha256") + body)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return  # a read-only or full cache only costs speed
    _written[root] = True


def _created(path: str, shard: str) -> int:
    """A new file's descriptor, its shard folder made first unless known to exist."""
    if shard not in _shards:
        os.makedirs(shard, exist_ok=True)
        _shards.add(shard)
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError:  # the folder was removed since: make it again
        os.makedirs(shard, exist_ok=True)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


#: Shard folders this process made or found.
_shards: set[str] = set()


#: Folders this process stored entries in since the last trim.
_written: dict[Path, bool] = {}


def trim(limit: int) -> int:
    """Evict the least recently used entries until the cache holds at most ``limit`` bytes.

    Runs only after this process stored something; returns the bytes removed.
    Anything in the folder that is not an entry (the key, foreign files) is left
    alone, and an entry that cannot be listed or removed is skipped.
    """
    root = folder()
    if root is None or not _written.pop(root, False):
        return 0
    entries: list[tuple[float, int, Path]] = []
    try:
        shards = [p for p in root.iterdir() if _is_shard(p.name)]
    except OSError:
        return 0
    for shard in shards:
        try:
            with os.scandir(shard) as listing:
                for item in listing:
                    if not _is_entry(shard.name, item.name):
                        continue
                    status = item.stat(follow_symlinks=False)
                    if stat.S_ISREG(status.st_mode):
                        entries.append((status.st_mtime, status.st_size, Path(item)))
        except OSError:
            continue
    total = sum(size for _, size, _ in entries)
    removed = 0
    entries.sort(key=lambda entry: entry[0])  # least recently used first
    for _, size, path in entries:
        if total - removed <= limit:
            break
        try:
            path.unlink()
        except OSError:
            continue
        removed += size
    return removed


_HEX = frozenset("0123456789abcdef")


def _is_shard(name: str) -> bool:
    return len(name) == 2 and set(name) <= _HEX


def _is_entry(shard: str, name: str) -> bool:
    """A stored entry (64 hex digits in its shard) or a temporary file left by a crash."""
    if name.startswith("tmp"):
        return True
    return len(name) == 64 and name.startswith(shard) and set(name) <= _HEX


_MAC_SIZE = 32


@cache
def _secret(root: Path) -> bytes | None:
    """This user's cache key, created on first use; None (no cache) if it is unsafe."""
    path = root / "key"
    try:
        root.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(handle, "wb") as new:
                new.write(secrets.token_bytes(32))
        status = path.lstat()
        if not stat.S_ISREG(status.st_mode) or status.st_mode & 0o077:
            return None
        if hasattr(os, "getuid") and status.st_uid != os.getuid():
            return None
        secret = path.read_bytes()
    except OSError:
        return None
    return secret if len(secret) == 32 else None


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


__all__ = ["analysed", "analysed_all", "folder", "formatted", "trim"]
