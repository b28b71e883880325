"""Every option, resolved once: command line, then ``[tool.nb2prod]``, then the defaults.

The CLI, the pre-commit hook and the Jupyter save hook all call :func:`job_for`
and hand the resulting :class:`Job` to the pipeline; nothing else reads options.
The project table lives in the repository's pyproject.toml::

    [tool.nb2prod]
    out = "packages"                 # where package folders go (default: beside each notebook)
    max-calls = 5                    # defaults for every notebook: kernel, rtol, atol,
                                     # max-calls, max-rows, max-size (MiB of a notebook file),
                                     # interfaces ("all", "direct", "http,batch", ...),
                                     # isolation ("venv" or "none")
    cache-size = 256                 # MiB of nb2prod's analysis cache (whole project only)
    cache-environments = 4           # clean environments kept (whole project only)
    [tool.nb2prod.notebooks."analysis/churn.ipynb"]
    name = "churn"                   # per notebook: name, out, and any default above

Paths are relative to the pyproject.toml. Command-line options win over the table.
``interfaces`` and ``isolation`` fall back to ``$NB2PROD_INTERFACES`` and
``$NB2PROD_ISOLATION`` when neither option nor table gives them, then to ``all`` and
``venv`` (:func:`_chosen`).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from nb2prod.errors import UsageError
from nb2prod.notebook.read import DEFAULT_MAX_BYTES
from nb2prod.plan.naming import sanitise
from nb2prod.settings.project import INTERFACES as INTERFACES
from nb2prod.settings.project import INTERFACES_VARIABLE as INTERFACES_VARIABLE
from nb2prod.settings.project import ISOLATION_VARIABLE as ISOLATION_VARIABLE
from nb2prod.settings.project import ISOLATIONS as ISOLATIONS
from nb2prod.settings.project import Settings as Settings
from nb2prod.settings.project import parse_interfaces as parse_interfaces
from nb2prod.settings.project import parse_isolation as parse_isolation
from nb2prod.settings.project import settings_for as settings_for
from nb2prod.standalone.compare import Tolerance
from nb2prod.standalone.recorder import MAX_CALLS, MAX_ROWS

T = TypeVar("T")

#: Size limit of the on-disk cache when the project sets none (see analysis/cache.py).
DEFAULT_CACHE_BYTES = 256 * 2**20
#: Clean environments kept when the project sets none (see run/environment.py).
DEFAULT_CACHE_ENVIRONMENTS = 4

#: Comparison tolerance when neither the options nor the lock give one.
DEFAULT_TOLERANCE = Tolerance()


@dataclass(frozen=True)
class Limits:
    """How much the recorder keeps."""

    #: Calls recorded per function (the first ones).
    max_calls: int = MAX_CALLS
    #: Rows kept of a large input; its output is recomputed on them.
    max_rows: int = MAX_ROWS


@dataclass(frozen=True)
class RunOptions:
    """How to run the notebook."""

    #: Values for the parameters cell, as papermill's ``-p NAME VALUE``.
    parameters: Mapping[str, object]
    #: A Jupyter kernel name; None runs nb2prod's own Python environment.
    kernel: str | None = None
    #: How much the recorder keeps.
    limits: Limits = field(default_factory=Limits)
    #: Seconds a cell may run; None for no limit.
    cell_timeout: int | None = None


@dataclass(frozen=True)
class Job:
    """One notebook and everything the user asked about it, resolved."""

    #: The notebook file, as the user named it.
    notebook: Path
    #: The package's import name.
    package: str
    #: The package folder: ``<out>/<package>``, out defaulting to the notebook's folder.
    folder: Path
    #: The name asked for (``--name`` or the project table); None when derived.
    requested_name: str | None = None
    #: Overwrite files edited since generation.
    force: bool = False
    #: Refuse notebook files larger than this.
    max_bytes: int = DEFAULT_MAX_BYTES
    #: ``-p NAME VALUE`` overrides as Python literals; None reuses the lock's.
    parameters: Mapping[str, str] | None = None
    #: The kernel to run; None runs nb2prod's own Python environment.
    kernel: str | None = None
    #: The tolerance asked for; None reuses the lock's, else the default.
    tolerance: Tolerance | None = None
    #: How much the recorder keeps.
    limits: Limits = field(default_factory=Limits)
    #: Size limit of nb2prod's on-disk cache, in bytes.
    cache_bytes: int = DEFAULT_CACHE_BYTES
    #: Clean environments kept in the cache (the least recently used go first).
    cache_environments: int = DEFAULT_CACHE_ENVIRONMENTS
    #: The interfaces replayed besides the direct call (``http``, ``batch``, ``spark``).
    interfaces: tuple[str, ...] = INTERFACES
    #: Replay in a clean environment ("venv") or in nb2prod's own ("none").
    isolation: str = "venv"

    def run_options(self, parameters: Mapping[str, str]) -> RunOptions:
        """How to run the notebook with these parameter literals."""
        return RunOptions(values(parameters), self.kernel, self.limits)


def job_for(
    notebook: Path,
    *,
    out: Path | None = None,
    name: str | None = None,
    force: bool = False,
    parameters: Mapping[str, str] | None = None,
    kernel: str | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_calls: int | None = None,
    max_rows: int | None = None,
    interfaces: str | None = None,
    isolation: str | None = None,
) -> Job:
    """The job for ``notebook``: the options given, else the project's, else defaults."""
    settings = settings_for(notebook).override(
        out=out,
        name=name,
        kernel=kernel,
        rtol=rtol,
        atol=atol,
        max_calls=max_calls,
        max_rows=max_rows,
    )
    # The name's validity is checked when planning, after the tags: `check` skips
    # a notebook without tags whatever its file is called.
    package = settings.name or sanitise(notebook.stem)
    return Job(
        notebook=notebook,
        package=package,
        folder=(settings.out or notebook.parent) / package,
        requested_name=settings.name,
        force=force,
        max_bytes=_max_bytes(settings),
        parameters=parameters,
        kernel=settings.kernel,
        tolerance=_tolerance(settings),
        limits=Limits(
            settings.max_calls or Limits.max_calls,
            settings.max_rows or Limits.max_rows,
        ),
        cache_bytes=_cache_bytes(settings),
        cache_environments=settings.cache_environments or DEFAULT_CACHE_ENVIRONMENTS,
        interfaces=_chosen(
            parse_interfaces,
            ("--interfaces", interfaces),
            settings.interfaces,
            INTERFACES_VARIABLE,
            "all",
        ),
        isolation=_chosen(
            parse_isolation,
            ("--isolation", isolation),
            settings.isolation,
            ISOLATION_VARIABLE,
            ISOLATIONS[0],
        ),
    )


def _chosen(
    parse: Callable[[str], T],
    option: tuple[str, str | None],
    table: str | None,
    variable: str,
    default: str,
) -> T:
    """The option, else the project table's value, else ``$variable``, else the
    default, parsed; a bad value is a usage error naming where it was set (the
    table's values were checked when it was read, see :func:`_checked`).
    """
    flag, given = option
    if given is not None:
        where, text = flag, given
    elif table is not None:
        where, text = "[tool.nb2prod]", table
    elif os.environ.get(variable):
        where, text = f"${variable}", os.environ[variable]
    else:
        where, text = "default", default
    try:
        return parse(text)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None


def literal(value: str) -> str:
    """A ``-p`` value as a Python literal: numbers, booleans and None as such, else a string."""
    try:
        ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return repr(value)
    return value


def values(parameters: Mapping[str, str]) -> dict[str, object]:
    """Parameter literals as the Python values papermill injects."""
    return {name: ast.literal_eval(text) for name, text in parameters.items()}


def _max_bytes(settings: Settings) -> int:
    if settings.max_size is None:
        return DEFAULT_MAX_BYTES
    return int(settings.max_size * 2**20)


def _cache_bytes(settings: Settings) -> int:
    if settings.cache_size is None:
        return DEFAULT_CACHE_BYTES
    return int(settings.cache_size * 2**20)


def _tolerance(settings: Settings) -> Tolerance | None:
    if settings.rtol is None and settings.atol is None:
        return None
    return Tolerance(
        DEFAULT_TOLERANCE.rtol if settings.rtol is None else settings.rtol,
        DEFAULT_TOLERANCE.atol if settings.atol is None else settings.atol,
    )
