"""``nb2prod.lock``: the provenance of a generated package."""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import Nb2ProdError
from nb2prod.output.paths import escape_reason
from nb2prod.standalone.compare import Tolerance

LOCK_NAME = "nb2prod.lock"
_FORMAT = 1


@dataclass(frozen=True)
class Lock:
    """What generated a package, and the hash of each file it wrote."""

    #: The nb2prod version that wrote it.
    nb2prod_version: str
    #: The notebook, relative to the package folder.
    notebook: str
    #: The notebook's source hash (cells, tags, sources; not outputs).
    notebook_hash: str
    #: Fingerprint of what generated the files besides the notebook (nb2prod,
    #: black, templates); see :mod:`nb2prod.output.fastcheck`.
    generator: str = ""
    #: SHA-256 of every generated file, by path relative to the package folder.
    files: dict[str, str] = field(default_factory=dict)
    #: Versions of the distributions the package depends on.
    dependencies: dict[str, str] = field(default_factory=dict)
    #: The distribution that provides each imported module.
    modules: dict[str, str] = field(default_factory=dict)
    #: The Python that first generated the package: its ``requires-python``.
    python: str = ""
    #: SHA-256 of every file saved from the notebook run (artifacts, cases, fixtures).
    recorded: dict[str, str] = field(default_factory=dict)
    #: Exact versions of the libraries that wrote the artifacts.
    pinned: dict[str, str] = field(default_factory=dict)
    #: ``-p NAME VALUE`` overrides of the last run, as Python literals.
    parameters: dict[str, str] = field(default_factory=dict)
    #: Annotations each recorded function's calls showed (from the last run).
    signatures: dict[str, Any] = field(default_factory=dict)
    #: The data contract predict was called with (from the last run).
    contract: dict[str, Any] = field(default_factory=dict)
    #: The tolerance the package's tests compare with; None in older locks.
    tolerance: Tolerance | None = None
    #: How each artifact was saved (file, format, trusted types), from the last run.
    artifacts: dict[str, Any] = field(default_factory=dict)
    #: Values learned from the notebook's data by the last run: per name, the
    #: statement that computed it and its ``literal``, or ``artifact: true``.
    learned: dict[str, Any] = field(default_factory=dict)
    #: SHA-256 of each module beside the notebook that the package copies, by path
    #: relative to the package folder.
    sources: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The lock file's content: stable JSON."""
        data = {
            "format": _FORMAT,
            "nb2prod_version": self.nb2prod_version,
            "notebook": self.notebook,
            "notebook_hash": self.notebook_hash,
            "generator": self.generator,
            "parameters": dict(sorted(self.parameters.items())),
            "tolerance": (
                {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol}
                if self.tolerance
                else None
            ),
            "python": self.python,
            "dependencies": dict(sorted(self.dependencies.items())),
            "modules": dict(sorted(self.modules.items())),
            "pinned": dict(sorted(self.pinned.items())),
            "files": dict(sorted(self.files.items())),
            "recorded": dict(sorted(self.recorded.items())),
            "signatures": self.signatures,
            "contract": self.contract,
            "artifacts": dict(sorted(self.artifacts.items())),
        }
        # Written only when there are some: older locks stay as they were.
        if self.learned:
            data["learned"] = dict(sorted(self.learned.items()))
        if self.sources:
            data["sources"] = dict(sorted(self.sources.items()))
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def sha256(text: str | bytes) -> str:
    """Hex SHA-256 of text (UTF-8) or bytes."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def read_lock(folder: Path) -> Lock | None:
    """The lock of the package in ``folder``, or None when there is none."""
    path = folder / LOCK_NAME
    if not path.is_file():
        return None
    reason = escape_reason(folder, LOCK_NAME)
    if reason is not None:
        raise Nb2ProdError(
            f"{path}: {reason}; nb2prod does not read or write through symbolic "
            "links out of a package: remove it"
        )
    try:
        data = json.loads(path.read_text("utf-8"))
        lock = Lock(
            nb2prod_version=str(data["nb2prod_version"]),
            notebook=str(data["notebook"]),
            notebook_hash=str(data["notebook_hash"]),
            generator=str(data.get("generator", "")),
            files={str(k): str(v) for k, v in data["files"].items()},
            dependencies=_strings(data.get("dependencies", {})),
            modules=_strings(data.get("modules", {})),
            python=str(data.get("python", "")),
            recorded=_strings(data.get("recorded", {})),
            pinned=_strings(data.get("pinned", {})),
            parameters=_strings(data.get("parameters", {})),
            signatures=dict(data.get("signatures", {})),
            contract=dict(data.get("contract", {})),
            tolerance=_tolerance(data.get("tolerance")),
            artifacts=dict(data.get("artifacts", {})),
            learned=dict(data.get("learned", {})),
            sources=_strings(data.get("sources", {})),
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise Nb2ProdError(
            f"{path}: the lock file is damaged; delete it and convert with --force"
        ) from None
    _require_trustworthy(lock, folder, path)
    return lock


def _require_trustworthy(lock: Lock, folder: Path, path: Path) -> None:
    """Refuse a lock whose entries would make nb2prod touch or run what it should not.

    Anyone who can commit to a repository can write its lock: every file it names
    must stay inside the package folder (nb2prod reads, overwrites and removes
    them), and every parameter must be a Python literal (it is written into
    config.py as it stands).
    """
    for section, entries in (("files", lock.files), ("recorded", lock.recorded)):
        for entry in entries:
            reason = (
                "is the lock itself"
                if entry == LOCK_NAME
                else escape_reason(folder, entry)
            )
            if reason is not None:
                raise Nb2ProdError(
                    f"{path}: {section} entry {entry!r} {reason}; this lock was not "
                    "written by nb2prod: delete it and convert with --force"
                )
    for name, literal in lock.parameters.items():
        if not name.isidentifier() or not _is_literal(literal):
            raise Nb2ProdError(
                f"{path}: parameters entry {name!r} is not a name and a Python "
                "literal; this lock was not written by nb2prod: delete it and "
                "convert with --force"
            )


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _strings(mapping: dict[object, object]) -> dict[str, str]:
    return {str(k): str(v) for k, v in mapping.items()}


def _tolerance(data: Any) -> Tolerance | None:
    if data is None:
        return None
    return Tolerance(rtol=float(data["rtol"]), atol=float(data["atol"]))
