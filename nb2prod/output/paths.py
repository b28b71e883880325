"""Paths nb2prod reads back (from a lock, or from disk) stay inside the package folder.

A lock can come from anyone who commits to a shared repository, so each path it
names is checked before nb2prod reads, writes or removes it: relative, no ``..``,
and still inside the package folder once symbolic links are resolved. Writing checks
the same of every file it creates, so that a symbolic link in the package (a file
or a folder) never leads a write outside it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from nb2prod.errors import Nb2ProdError


def escape_reason(folder: Path, relative: str) -> str | None:
    """Why ``relative`` may not be used under ``folder``; None when it may.

    It must be a plain relative POSIX path (no ``..``, ``.``, backslash, NUL or
    empty part), and ``folder / relative`` must resolve (symbolic links followed)
    inside ``folder`` resolved; and ``folder`` itself may not be a symbolic link,
    which a repository could point anywhere.
    """
    pure = PurePosixPath(relative)
    if (
        not relative
        or "\x00" in relative
        or "\\" in relative
        or pure.is_absolute()
        or ":" in pure.parts[0]  # a Windows drive, C:x
        or any(part in ("..", ".") for part in relative.split("/"))
        or "" in relative.split("/")
    ):
        return "is not a plain relative path inside the package folder"
    if folder.is_symlink():
        return "is in a package folder that is a symbolic link"
    root = folder.resolve()
    try:
        (folder / relative).resolve().relative_to(root)
    except ValueError:
        return "leads outside the package folder through a symbolic link"
    except (OSError, RuntimeError):  # a symlink loop
        return "cannot be resolved (a symbolic link loop)"
    return None


def contained(folder: Path, relative: str) -> Path:
    """``folder / relative``, or an error when it would lead outside ``folder``."""
    reason = escape_reason(folder, relative)
    if reason is not None:
        raise Nb2ProdError(
            f"{folder / relative}: {reason}; refusing to read or write it "
            f"(remove the symbolic link, or choose another --out)"
        )
    return folder / relative
