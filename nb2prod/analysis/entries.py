"""nb2prod's cache on disk: entries written whole, checked before use, evicted.

An entry is a pickle under the hex digest of its key, in a shard folder named by the
digest's first two digits. It carries an HMAC made with a key only this user can
read (``key``, mode 0600, in the cache folder): an entry planted by anyone else,
who can write the folder but not read the key, is a miss, never unpickled. Each
read marks its entry used (its modification time); :func:`trim` removes the least
recently used ones. Keys are made by :func:`key_of`, from the versions of the tools that
decide an entry and the entry's parts. Cell analyses and black's output are kept by
:mod:`.cache`; any other value slow to find and decided by its parts alone goes
through :func:`remembered` (or :func:`recalled` and :func:`keep`). This module
imports no libcst, so that `check`'s planning can use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pickle
import secrets
import stat
import tempfile
import threading
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

from nb2prod import __version__
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
    stored = load(key_of("value", *parts))
    return stored if isinstance(stored, kind) else None


def keep(parts: Sequence[str], value: object) -> None:
    """Keep ``value`` under ``parts`` for :func:`recalled`."""
    store(key_of("value", *parts), value)


def key_of(*parts: str) -> str:
    """The key of an entry made of ``parts``, under the tools' versions."""
    digest = hashlib.sha256(_versions().encode())
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@cache
def _versions() -> str:
    """The tools that decide an entry; nb2prod's own source counts, for development."""
    return (
        f"{__version__}/{source_fingerprint()}/{version('libcst')}/{version('black')}"
    )


def load(key: str) -> object:
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
    mark_used(path)
    return value


def _entry_path(root: Path, key: str) -> str:
    """Where the entry ``key`` lives (a string: thousands of entries are read a run)."""
    return os.path.join(root, key[:2], key)


def mark_used(path: str | Path) -> None:
    """Mark an entry (or a clean environment's marker) used now, for the
    least-recently-used eviction."""
    with contextlib.suppress(OSError):
        os.utime(path)


def store(key: str, value: object) -> None:
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


def store_meanwhile(entries: Sequence[tuple[str, object]]) -> None:
    """Store the entries, in a thread when there are many.

    Creating thousands of files is mostly the kernel's work, which the thread does
    on the other core while this one plans and renders. :func:`settle` waits for
    it; every function of this module that reads analyses or black's output, trims
    the cache, or may fork (black's helper), calls it first, and Python waits for
    it before exiting. :func:`recalled` and :func:`keep` do not wait: their entries
    are others, and each entry is written whole and renamed into place.
    """
    if len(entries) < MIN_BACKGROUND_ENTRIES:
        for key, value in entries:
            store(key, value)
        return
    writer = threading.Thread(target=_store_all, args=(entries,), name="nb2prod-cache")
    _writers.append(writer)
    writer.start()


def _store_all(entries: Sequence[tuple[str, object]]) -> None:
    with contextlib.suppress(Exception):  # a failed store only costs speed
        for key, value in entries:
            store(key, value)


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
        if not os.path.lexists(path):
            _create_key(root, path)
        status = path.lstat()
        if not stat.S_ISREG(status.st_mode) or status.st_mode & 0o077:
            return None
        if hasattr(os, "getuid") and status.st_uid != os.getuid():
            return None
        secret = path.read_bytes()
    except OSError:
        return None
    return secret if len(secret) == 32 else None


def _create_key(root: Path, path: Path) -> None:
    """A new key, written whole beside ``path`` and then linked there: a process
    starting at the same time sees no key or a complete one, never an empty file
    (which would turn its cache off), and the first link wins."""
    handle, written = tempfile.mkstemp(dir=root, prefix=".key-")  # mode 0600
    try:
        with os.fdopen(handle, "wb") as new:
            new.write(secrets.token_bytes(32))
        with contextlib.suppress(FileExistsError):  # another process's key won
            os.link(written, path)
    finally:
        os.unlink(written)
