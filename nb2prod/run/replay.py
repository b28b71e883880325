"""Replay recorded calls against the package in a fresh process and compare.

The parent (:func:`replay`) copies the stdlib-only child
(:mod:`nb2prod.standalone.replaying`) to a temporary folder and starts it with the
interpreter given (a clean environment's, or this one for ``--isolation none``) and
only the package on the path, so the calls run against the package, never against
the notebook's namespace or nb2prod's own environment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nb2prod.errors import MissingModuleError
from nb2prod.plan.dependencies import distributions
from nb2prod.run.child import run_child, tolerance_options
from nb2prod.standalone.compare import Tolerance

if TYPE_CHECKING:  # not at run time: the replay child imports this module
    from nb2prod.run.interfaces import InterfaceReport


@dataclass(frozen=True)
class Mismatch:
    """The first call of a function whose result differs."""

    #: The case folder, relative to the cases folder (``predict/003``).
    case: str
    #: Where in the value the difference is.
    where: str
    #: What differs.
    detail: str


@dataclass(frozen=True)
class FunctionReport:
    """How one function's recorded calls replayed."""

    #: The function.
    function: str
    #: Its module in the package.
    module: str
    #: Calls replayed.
    calls: int
    #: Calls whose result was equal.
    equal: int
    #: Largest absolute difference over all calls.
    max_abs: float
    #: Largest relative difference over all calls.
    max_rel: float
    #: The first mismatch, if any.
    mismatch: Mismatch | None = None
    #: Notes from the comparators (e.g. compared with ==).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of replaying every recorded call."""

    #: One entry per function, sorted by name.
    functions: tuple[FunctionReport, ...]
    #: The tolerances used.
    tolerance: Tolerance
    #: Where the package was imported from.
    package_file: str = ""
    #: Calls that were not stored and so not replayed, by function.
    not_stored: dict[str, int] = field(default_factory=dict)
    #: Predict's calls through HTTP, batch and Spark (:mod:`nb2prod.run.interfaces`).
    interfaces: tuple[InterfaceReport, ...] = ()
    #: Where the calls replayed ("in a clean environment", or with nb2prod's Python).
    environment: str = ""

    @property
    def ok(self) -> bool:
        """True when every replayed call was equal, directly and through each interface."""
        direct = all(f.equal == f.calls for f in self.functions)
        return direct and all(i.ok for i in self.interfaces)

    def to_json(self) -> str:
        """The report as JSON, for ``--json``."""
        data = asdict(self)
        data["interfaces"] = [
            {**asdict(i), "status": i.status, "mismatches": list(i.mismatches)}
            for i in self.interfaces
        ]
        data["ok"] = self.ok
        return json.dumps(data, indent=2) + "\n"


def replay(
    src: Path,
    package: str,
    cases: Path,
    tolerance: Tolerance,
    python: Path | None = None,
    *,
    clean: bool = False,
    folder: Path | None = None,
) -> VerifyReport:
    """Replay the cases under ``cases`` against ``package`` found in ``src``.

    The child runs with ``python`` (default: this interpreter) and sees only ``src``
    and a copy of nb2prod's stdlib-only comparators (:mod:`nb2prod.standalone`),
    never nb2prod itself. ``clean`` says ``python`` is a clean environment's: a
    module the package needs and that is missing there is then a finding.
    """
    data = run_child(
        "replaying",
        [package, str(cases.resolve())],
        tolerance_options(tolerance),
        src,
        f"replaying the recorded calls against {package}",
        python,
        clean=clean,
    )
    if clean and data["missing"]:
        raise MissingModuleError(
            _missing(data["missing"][0], package, folder or src.parent)
        )
    functions = tuple(
        FunctionReport(
            **{**f, "mismatch": Mismatch(**f["mismatch"]) if f["mismatch"] else None,
               "notes": tuple(f["notes"])}
        )
        for f in data["functions"]
    )  # fmt: skip
    where = "in a clean environment" if clean else "with nb2prod's Python"
    return VerifyReport(functions, tolerance, data["package_file"], environment=where)


def _missing(found: dict[str, str], package: str, folder: Path) -> str:
    """One line: which call, what is missing, which file needs it, what to do."""
    module = found["module"]
    owners = distributions().get(module, [])
    distribution = owners[0] if owners else module
    if found["file"]:
        needed = f"tests/cases/{found['case']}/{found['file']}"
    else:
        needed = f"{found['during']} for {found['case']}"
    pyproject = folder / "pyproject.toml"
    return (
        f"replaying in a clean environment: {found['case']} raised {found['error']} — the package "
        f"{package} does not declare {distribution} (needed by {needed}): add it to "
        f"[project] dependencies in {pyproject.as_posix()}, or reconvert so that "
        "nb2prod finds it"
    )
