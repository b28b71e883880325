"""Find the data nb2prod ships: the tag vocabulary and the package templates."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder ``cell_tags`` or ``templates``, installed or in a source checkout.

    A wheel carries them under ``nb2prod/_data``; a checkout (and an editable
    install) has them at the repository root, beside the ``nb2prod`` package.
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"nb2prod is missing its {name!r} folder; reinstall it")


@cache
def source_fingerprint() -> str:
    """SHA-256 of nb2prod's own modules: what a cache entry or a lock was made by.

    The version alone would not do for editable installs, where the code changes
    under the same version.
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
