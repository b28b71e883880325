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
import threading
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path

from nb2prod import __version__
from nb2prod.analysis.cells import CellAnalysis, analyse
from nb2prod.analysis.parallel import analyse_all
from nb2prod.errors import Diagnostic, Location
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.tags import RoledCell
from nb2prod.resources import source_fingerprint


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
    settle()
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
    settle()
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
    entries = []
    for index, analysis in zip(missing, fresh, strict=True):
        entries.append((keys[index], _without_nodes(analysis)))
        results[index] = analysis
    _store_meanwhile(entries)
    return [r for r in results if r is not None]  # every one is set by now


def _analysis_key(cell: RoledCell) -> str:
    role = cell.role.value if cell.role else ""
    return _key("analysis", role, cell.source)


def formatted(text: str, format_text: Callable[[str], str]) -> str:
    """``format_text(text)`` (black), from the cache when the text was seen before."""
    settle()
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
    settle()
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
    try:
        data = (root / key[:2] / key).read_bytes()
    except OSError:
        return None
    mac, body = data[:_MAC_SIZE], data[_MAC_SIZE:]
    if not hmac.compare_digest(mac, hmac.digest(secret, body, "sha256")):
        return None  # planted or damaged: never unpickled
    try:
        value = pickle.loads(body)
    except Exception:  # from another version: recompute
        return None
    _touch(root / key[:2] / key)
    return value


def _touch(path: Path) -> None:
    """Mark an entry used now, for the least-recently-used eviction."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _store(key: str, value: object) -> None:
    root = folder()
    secret = _secret(root) if root is not None else None
    if root is None or secret is None:
        return
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    # A cold run stores thousands of entries: NamedTemporaryFile and a mkdir each
    # cost more than the writing itself.
    shard = root / key[:2]
    temporary = shard / f"tmp{key}.{os.getpid()}"  # evictable, as "tmp..." names are
    try:
        handle = _create(temporary)
        try:
            os.write(handle, hmac.digest(secret, body, "sha256") + body)
        finally:
            os.close(handle)
        temporary.replace(shard / key)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        return  # a read-only or full cache only costs speed
    _written[root] = True


#: A new file only, never through a symbolic link someone planted in the folder.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def _create(path: Path) -> int:
    """Open a new file for writing; its shard folder is made when missing, and a
    temporary file a crashed process with this pid left is replaced."""
    for _ in range(2):
        try:
            return os.open(path, _CREATE, 0o600)
        except FileExistsError:
            path.unlink()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, _CREATE, 0o600)


#: Entries are written by a thread when there are at least this many.
MIN_BACKGROUND_ENTRIES = 64

#: The threads writing entries now.
_writers: list[threading.Thread] = []


def _store_meanwhile(entries: Sequence[tuple[str, object]]) -> None:
    """Store the entries, in a thread when there are many.

    Creating thousands of files is mostly the kernel's work, which the thread does
    on the other core while this one plans and renders. :func:`settle` waits for
    it; every function of this module that reads or trims the cache, or may fork
    (black's helper), calls it first, and Python waits for it before exiting.
    """
    if len(entries) < MIN_BACKGROUND_ENTRIES:
        for key, value in entries:
            _store(key, value)
        return
    writer = threading.Thread(target=_store_all, args=(entries,), name="nb2prod-cache")
    _writers.append(writer)
    writer.start()


def _store_all(entries: Sequence[tuple[str, object]]) -> None:
    with contextlib.suppress(Exception):  # a failed store only costs speed
        for key, value in entries:
            _store(key, value)


def settle() -> None:
    """Wait until the entries being stored are written."""
    while _writers:
        _writers.pop().join()


#: Folders this process stored entries in since the last trim.
_written: dict[Path, bool] = {}


def trim(limit: int) -> int:
    """Evict the least recently used entries until the cache holds at most ``limit`` bytes.

    Runs only after this process stored something; returns the bytes removed.
    Anything in the folder that is not an entry (the key, foreign files) is left
    alone, and an entry that cannot be listed or removed is skipped.
    """
    settle()
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
