"""What a new convert changed in what the package does: the behavioural diff.

Before the run overwrites them, :func:`before` reads what the package held: its
definitions' code, its artifacts (hash, size, type) and a copy of its recorded cases
(kept under the package's ignored ``build/`` folder). After the new package is
written, :func:`compare` replays those *previous* inputs against it in a fresh
process (:mod:`nb2prod.standalone.moving`), and counts per function the calls
whose output moved, by how much, and for labels (booleans, integers, strings) the
share of predictions that flipped.
"""

from __future__ import annotations

import ast
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import Nb2ProdError
from nb2prod.run.child import run_child, tolerance_options
from nb2prod.standalone.compare import Tolerance

#: Where the previous cases are kept, relative to the package folder (ignored by git).
PREVIOUS_CASES = "build/previous-cases"
#: Modules whose definitions are not the notebook's (they change every run).
_NOT_COMPARED = ("_provenance.py",)


@dataclass(frozen=True)
class Artifact:
    """One saved artifact as its manifest and file describe it."""

    file: str
    sha256: str
    size: int
    type: str


@dataclass(frozen=True)
class Before:
    """What the package on disk held before this convert."""

    #: ``module.name`` → the code of each top-level definition.
    definitions: dict[str, str]
    #: Artifact name → its facts.
    artifacts: dict[str, Artifact]
    #: The copy of the previous recorded cases, or None when there were none.
    cases: Path | None


@dataclass(frozen=True)
class ArtifactChange:
    """An artifact added, removed or saved with other content."""

    name: str
    change: str  # "added", "removed" or "changed"
    old: Artifact | None
    new: Artifact | None


@dataclass(frozen=True)
class Moved:
    """How one function's outputs moved on the previous recorded inputs."""

    function: str
    #: Previous calls replayed.
    calls: int
    #: Calls whose output is not equal within the tolerance (or that failed).
    changed: int
    max_abs: float
    max_rel: float
    #: Labels compared (elements of boolean, integer or text outputs); 0 if none.
    labels: int = 0
    #: Labels that differ.
    flipped: int = 0
    #: The first call that failed outright, if any (e.g. the function is gone).
    error: str = ""

    @property
    def flipped_share(self) -> float | None:
        """Share of labels that flipped, or None when the outputs are not labels."""
        return self.flipped / self.labels if self.labels else None

    @property
    def flipped_text(self) -> str:
        """``3/9 (33.3%)`` when the outputs are labels, else ""."""
        share = self.flipped_share
        return "" if share is None else f"{self.flipped}/{self.labels} ({share:.1%})"


@dataclass(frozen=True)
class BehaviourDiff:
    """The behavioural diff of one convert against the package it replaced."""

    #: Definitions whose code changed, ``module.name``, sorted.
    changed_code: tuple[str, ...] = ()
    added_code: tuple[str, ...] = ()
    removed_code: tuple[str, ...] = ()
    artifacts: tuple[ArtifactChange, ...] = ()
    #: Per function, its previous calls replayed against the new package.
    functions: tuple[Moved, ...] = ()
    tolerance: Tolerance = field(default_factory=Tolerance)
    #: Why the previous calls could not be replayed ('' when they were).
    problem: str = ""

    @property
    def moved(self) -> tuple[Moved, ...]:
        """The functions whose outputs moved."""
        return tuple(m for m in self.functions if m.changed)

    @property
    def code_changes(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """``("changed" | "added" | "removed", names)``, for the kinds that have some."""
        kinds = (
            ("changed", self.changed_code),
            ("added", self.added_code),
            ("removed", self.removed_code),
        )
        return tuple((kind, names) for kind, names in kinds if names)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for ``--json``, the review page and the CI summary."""
        data = asdict(self)
        for entry, moved in zip(data["functions"], self.functions, strict=True):
            entry["flipped_share"] = moved.flipped_share
        return data


def before(folder: Path, package: str) -> Before:
    """Read what the package in ``folder`` holds now (call before writing)."""
    src = folder / "src" / package
    definitions = definitions_in(src)
    cases = folder / "tests" / "cases"
    return Before(definitions, artifacts_in(src), _keep(cases, folder))


def _keep(cases: Path, folder: Path) -> Path | None:
    """A copy of ``cases`` under ``build/``, or None (no cases, or it cannot be made)."""
    build, kept = folder / "build", folder / PREVIOUS_CASES
    if not cases.is_dir() or cases.is_symlink() or build.is_symlink():
        return None  # nothing to replay, or a build/ that points elsewhere
    try:
        if kept.exists():
            shutil.rmtree(kept)
        build.mkdir(exist_ok=True)
        shutil.copytree(cases, kept, symlinks=True)
    except OSError:  # the diff is for the reviewer: never fail convert
        return None
    return kept


def compare_with(
    old: Before, folder: Path, package: str, tolerance: Tolerance
) -> BehaviourDiff:
    """Compare the package now in ``folder`` with what :func:`before` read."""
    src = folder / "src" / package
    new = definitions_in(src)
    changed = sorted(
        n for n in old.definitions if n in new and old.definitions[n] != new[n]
    )
    artifacts = _artifact_changes(old.artifacts, artifacts_in(src))
    functions: tuple[Moved, ...] = ()
    problem = ""
    try:
        if old.cases:
            functions = _replay(folder / "src", package, old.cases, tolerance)
    except Nb2ProdError as exc:  # the diff is for the reviewer: never fail convert
        problem = str(exc)
    return BehaviourDiff(
        changed_code=tuple(changed),
        added_code=tuple(sorted(set(new) - set(old.definitions))),
        removed_code=tuple(sorted(set(old.definitions) - set(new))),
        artifacts=artifacts,
        functions=functions,
        tolerance=tolerance,
        problem=problem,
    )


def definitions_in(src: Path) -> dict[str, str]:
    """Every compared module's top-level definitions under ``src``."""
    found: dict[str, str] = {}
    for module in sorted(src.glob("*.py")) if src.is_dir() else []:
        if module.name not in _NOT_COMPARED:
            found.update(_definitions(module))
    return found


def _definitions(path: Path) -> dict[str, str]:
    """``module.name`` → source of each top-level function, class and assignment."""
    text = path.read_text("utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {f"{path.stem}.<module>": text}
    lines = text.splitlines(keepends=True)
    found: dict[str, str] = {}
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        # Whole lines (top-level statements start a line): ast.get_source_segment
        # splits the text again for every node, quadratic in a long module.
        code = "".join(lines[node.lineno - 1 : node.end_lineno])
        for name in names:
            found[f"{path.stem}.{name}"] = code
    return found


def artifacts_in(src: Path) -> dict[str, Artifact]:
    """The package's artifacts as its manifest lists them (with their files' sizes)."""
    manifest = src / "artifacts" / "manifest.json"
    try:
        entries = json.loads(manifest.read_text("utf-8"))["artifacts"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    found = {}
    for name, entry in entries.items() if isinstance(entries, dict) else []:
        if not isinstance(entry, dict):
            continue
        path = src / "artifacts" / str(entry.get("file", ""))
        size = path.stat().st_size if path.is_file() else 0
        found[str(name)] = Artifact(
            str(entry.get("file", "")),
            str(entry.get("sha256", "")),
            size,
            str(entry.get("type", "")),
        )
    return found


def _artifact_changes(
    old: dict[str, Artifact], new: dict[str, Artifact]
) -> tuple[ArtifactChange, ...]:
    changes = []
    for name in sorted(set(old) | set(new)):
        was, now = old.get(name), new.get(name)
        if was is None:
            changes.append(ArtifactChange(name, "added", None, now))
        elif now is None:
            changes.append(ArtifactChange(name, "removed", was, None))
        elif (was.sha256, was.type) != (now.sha256, now.type):
            changes.append(ArtifactChange(name, "changed", was, now))
    return tuple(changes)


def _replay(
    src: Path, package: str, cases: Path, tolerance: Tolerance
) -> tuple[Moved, ...]:
    """Replay ``cases`` against the package in a fresh process (as replay does)."""
    data = run_child(
        "moving",
        [package, str(cases.resolve())],
        tolerance_options(tolerance),
        src,
        f"replaying the previous recorded calls against the new {package}",
    )
    return tuple(Moved(**entry) for entry in data)
