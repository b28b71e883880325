"""Write the package: atomically, and never over a file the user changed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from nb2prod.errors import WriteRefusedError
from nb2prod.output.lock import LOCK_NAME, Lock, sha256


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
    a known file whose hash changed was edited by the user.
    """
    changes: list[FileChange] = []
    for path in sorted(set(files) | set(known)):
        new = files.get(path)
        old = _read(folder / path, binary=isinstance(new, bytes) or new is None)
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


def write(report: WriteReport, lock: Lock) -> None:
    """Carry out ``report``, writing the lock last; raise if any file is refused."""
    refuse(report)
    folder = report.folder
    staged: dict[str, str | bytes | None] = {
        c.path: c.new for c in report.changes if c.fate in (Fate.CREATED, Fate.UPDATED)
    }
    staged[LOCK_NAME] = lock.text()
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(prefix=f".{folder.name}.nb2prod-", dir=folder.parent)
    )
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
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (temporary / path).replace(folder / path)
        for change in report.changes:
            if change.fate is Fate.REMOVED:
                (folder / change.path).unlink(missing_ok=True)
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
