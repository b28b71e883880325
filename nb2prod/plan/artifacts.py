"""How each artifact is stored: skops (types listed in code) or joblib (a pickle)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SKOPS = "skops"
JOBLIB = "joblib"


@dataclass(frozen=True)
class SavedArtifact:
    """One artifact's file and how the package loads it."""

    #: The artifact's name; its file is ``<name>.<format>`` under ``artifacts/``.
    name: str
    #: ``skops`` or ``joblib``: also the import the loader needs.
    format: str
    #: For skops, the types the file may hold beyond skops' own trusted ones.
    trusted: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        """The file name, never taken from a lock or manifest (no path can sneak in)."""
        return f"{self.name}.{self.format}"


def saved_artifacts(
    names: Iterable[str], recorded: Mapping[str, Any]
) -> dict[str, SavedArtifact]:
    """Each artifact's storage, as the last run recorded it (skops until a run says)."""
    found: dict[str, SavedArtifact] = {}
    for name in names:
        entry = recorded.get(name)
        if isinstance(entry, Mapping) and entry.get("format") in (SKOPS, JOBLIB):
            trusted = entry.get("trusted", ())
            found[name] = SavedArtifact(
                name,
                str(entry["format"]),
                tuple(str(t) for t in trusted) if isinstance(trusted, list) else (),
            )
        else:
            found[name] = SavedArtifact(name, SKOPS)
    return found
