"""Write the package: atomically, and never over a file the user changed."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from nb2prod.errors import Nb2ProdError, WriteRefusedError
from nb2prod.output.lock import LOCK_NAME, Lock, sha256
from nb2prod.output.paths import contained


class Fate(Enum):
    """What happened (or would happen) to one file."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REMOVED = "removed"
    REFUSED = "refused"
    KEPT = "kept"  # no longer generated, but the user edited it


@dataclass(frozen=True)
class FileChange:
    """One file's fate."""

    #: Path relative to the package folder.
    path: str
    #: Its fate.
    fate: Fate
    #: The content on disk before, or None.
    old: str | bytes | None
    #: The content to write, or None when removed or kept.
    new: str | bytes | None


@dataclass(frozen=True)
class WriteReport:
    """The fate of every file of a package."""

    #: The package folder.
    folder: Path
    #: Every file, sorted by path.
    changes: tuple[FileChange, ...]

    def count(self, fate: Fate) -> int:
        """How many files met ``fate``."""
        return sum(1 for change in self.changes if change.fate is fate)


def plan_changes(
    folder: Path,
    files: Mapping[str, str | bytes],
    known: Mapping[str, str],
    force: bool,
) -> WriteReport:
    """Decide each file's fate without writing anything.

    ``known`` maps the files nb2prod wrote last time to their hashes (from the lock):
    a known file whose hash changed was edited by the user. A path that leads
    outside ``folder`` (through a symbolic link) is refused before anything is read.
    """
    changes: list[FileChange] = []
    for path in sorted(set(files) | set(known)):
        new = files.get(path)
        old = _read(
            contained(folder, path), binary=isinstance(new, bytes) or new is None
        )
        changes.append(
            FileChange(path, _fate(old, new, known.get(path), force), old, new)
        )
    return WriteReport(folder, tuple(changes))


def _fate(
    old: str | bytes | None, new: str | bytes | None, recorded: str | None, force: bool
) -> Fate:
    edited = old is not None and (recorded is None or sha256(old) != recorded)
    if new is None:
        if old is None:
            return Fate.UNCHANGED
        return Fate.KEPT if edited and not force else Fate.REMOVED
    if old is None:
        return Fate.CREATED
    if old == new:
        return Fate.UNCHANGED
    return Fate.REFUSED if edited and not force else Fate.UPDATED


def refuse(report: WriteReport) -> None:
    """Raise :class:`WriteRefusedError` when ``report`` would overwrite user edits."""
    refused = [Path(c.path) for c in report.changes if c.fate is Fate.REFUSED]
    if refused:
        raise WriteRefusedError(refused, report.folder)


def refuse_edited(folder: Path, lock: Lock | None, force: bool) -> None:
    """Raise :class:`WriteRefusedError`, before any work, when files the lock records
    were edited since (a convert that runs the notebook would stop there anyway)."""
    if force or lock is None:
        return
    known = {**lock.files, **lock.recorded}
    edited = [
        Path(path)
        for path, digest in sorted(known.items())
        if (data := _read(folder / path, binary=True)) is not None
        and sha256(data) != digest
    ]
    if edited:
        raise WriteRefusedError(edited, folder)


def write(report: WriteReport, lock: Lock) -> None:
    """Carry out ``report``, writing the lock last; raise if any file is refused.

    Every path is checked again just before writing: none may lead outside the
    package folder through a symbolic link (a file or one of its folders).
    """
    refuse(report)
    folder = report.folder
    staged: dict[str, str | bytes | None] = {
        c.path: c.new for c in report.changes if c.fate in (Fate.CREATED, Fate.UPDATED)
    }
    staged[LOCK_NAME] = lock.text()
    removed = [c.path for c in report.changes if c.fate is Fate.REMOVED]
    for path in [*staged, *removed]:
        contained(folder, path)
    require_writable(folder)
    try:
        _write_staged(folder, staged, report)
    except OSError as exc:
        raise Nb2ProdError(
            f"{folder}: the package could not be written: {exc.strerror or exc}"
        ) from None


def require_writable(folder: Path) -> None:
    """Refuse, before any work, a package folder that cannot be created or written."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise Nb2ProdError(f"{existing}: is a file, so the package cannot go in it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise Nb2ProdError(
            f"{existing}: the folder is not writable, so the package cannot be "
            "written there; choose another folder with --out"
        )


def _write_staged(
    folder: Path, staged: dict[str, str | bytes | None], report: WriteReport
) -> None:
    removed = [c.path for c in report.changes if c.fate is Fate.REMOVED]
    folder.parent.mkdir(parents=True, exist_ok=True)
    # os.mkdir honours the umask; tempfile.mkdtemp would leave the package 0700.
    temporary = folder.parent / f".{folder.name}.nb2prod-{secrets.token_hex(6)}"
    temporary.mkdir()
    try:
        for path, content in staged.items():
            target = temporary / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content or "", encoding="utf-8", newline="\n")
        if not folder.exists():
            temporary.replace(folder)  # the whole package appears at once
            return
        for path in staged:
            target = contained(folder, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            (temporary / path).replace(target)
        for path in removed:
            contained(folder, path).unlink(missing_ok=True)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _read(path: Path, binary: bool) -> str | bytes | None:
    try:
        return path.read_bytes() if binary else path.read_text("utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except UnicodeDecodeError:
        # A binary file where we generate text: its own bytes never hash as the
        # text we recorded, so it counts as edited (even where that text was '').
        return path.read_bytes()
