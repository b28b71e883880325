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
    [tool.nb2prod.notebooks."analysis/churn.ipynb"]
    name = "churn"                   # per notebook: name, out, and any default above

Paths are relative to the pyproject.toml. Command-line options win over the table.
``interfaces`` and ``isolation`` fall back to ``$NB2PROD_INTERFACES`` and
``$NB2PROD_ISOLATION`` when neither option nor table gives them, then to ``all`` and
``venv`` (:func:`_chosen`).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from nb2prod.errors import ProjectConfigError, UsageError
from nb2prod.notebook.read import DEFAULT_MAX_BYTES
from nb2prod.plan.naming import sanitise
from nb2prod.standalone.compare import Tolerance
from nb2prod.standalone.recorder import MAX_CALLS, MAX_ROWS

T = TypeVar("T")

#: Size limit of the on-disk cache when the project sets none (see analysis/cache.py).
DEFAULT_CACHE_BYTES = 256 * 2**20

#: Comparison tolerance when neither the options nor the lock give one.
DEFAULT_TOLERANCE = Tolerance()

#: The interfaces a package's predict calls are replayed through besides the direct
#: call, in the order they run.
INTERFACES = ("http", "batch", "spark")
#: The environment variable that sets the interfaces when neither option nor table do.
INTERFACES_VARIABLE = "NB2PROD_INTERFACES"
#: Where convert and verify replay the recorded calls: a clean environment with only
#: the package and its declared dependencies, or nb2prod's own (faster, proves less).
ISOLATIONS = ("venv", "none")
#: The isolation when neither the options, the project nor this variable give one.
ISOLATION_VARIABLE = "NB2PROD_ISOLATION"

#: Keys valid for every notebook, with the type each value must have.
_DEFAULTS: dict[str, type | tuple[type, ...]] = {
    "out": str,
    "kernel": str,
    "rtol": (int, float),
    "atol": (int, float),
    "max-calls": int,
    "max-rows": int,
    "max-size": (int, float),
    "isolation": str,
    "interfaces": str,
}
#: Keys valid only in the project table: they are not about one notebook.
_TOP: dict[str, type | tuple[type, ...]] = {
    **_DEFAULTS,
    "notebooks": dict,
    "cache-size": (int, float),
}
#: Keys valid only for one notebook.
_PER_NOTEBOOK: dict[str, type | tuple[type, ...]] = {**_DEFAULTS, "name": str}


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
class Settings:
    """What the project configuration says about one notebook (None: not set)."""

    #: The folder that holds the package folder.
    out: Path | None = None
    #: The package name.
    name: str | None = None
    #: The kernel to run the notebook with.
    kernel: str | None = None
    #: Relative tolerance of comparisons.
    rtol: float | None = None
    #: Absolute tolerance of comparisons.
    atol: float | None = None
    #: Calls recorded per function.
    max_calls: int | None = None
    #: Rows kept of a large input.
    max_rows: int | None = None
    #: Largest notebook file read, in MiB.
    max_size: float | None = None
    #: Size limit of the analysis cache, in MiB.
    cache_size: float | None = None
    #: The interfaces to replay through, as written (``all``, ``http,batch``...).
    interfaces: str | None = None
    #: Where the recorded calls replay: "venv" or "none".
    isolation: str | None = None
    #: The pyproject.toml these came from, if any.
    source: Path | None = None

    def override(self, **values: Any) -> Settings:
        """These settings with the values given on the command line (None: not given)."""
        return dataclasses.replace(
            self, **{k: v for k, v in values.items() if v is not None}
        )


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


def parse_interfaces(text: str) -> tuple[str, ...]:
    """The interfaces named by ``text``, besides the direct call (which always runs).

    ``all`` is every one, ``direct`` none, else a comma-separated list of ``http``,
    ``batch`` and ``spark`` (``direct`` may be among them). ValueError otherwise.
    """
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if words == ["all"]:
        return INTERFACES
    unknown = sorted(set(words) - {*INTERFACES, "direct"})
    if unknown or not words:
        raise ValueError(
            f"{text!r}: name 'all', 'direct' or some of {', '.join(INTERFACES)}, "
            "comma-separated"
        )
    return tuple(i for i in INTERFACES if i in words)


def parse_isolation(text: str) -> str:
    """``text`` if it names an isolation, else ValueError."""
    if text not in ISOLATIONS:
        raise ValueError(f"must be one of {', '.join(ISOLATIONS)}, not {text!r}")
    return text


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


#: Keys whose text must parse, with their parser (ValueError if it does not).
_PARSED: dict[str, Callable[[str], object]] = {
    "interfaces": parse_interfaces,
    "isolation": parse_isolation,
}


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


def settings_for(notebook: Path) -> Settings:
    """The settings for ``notebook`` from the nearest pyproject.toml with [tool.nb2prod]."""
    found = _find(notebook.resolve().parent)
    if found is None:
        return Settings()
    path, table = found
    defaults = _checked(path, "[tool.nb2prod]", table, _TOP)
    notebooks = table.get("notebooks", {})
    own: dict[str, Any] = {}
    for key, value in notebooks.items():
        where = f'[tool.nb2prod.notebooks."{key}"]'
        if not isinstance(value, dict):
            raise ProjectConfigError(f"{path}: {where} must be a table")
        checked = _checked(path, where, value, _PER_NOTEBOOK)
        if (path.parent / key).resolve() == notebook.resolve():
            own = checked
    merged = {k: v for k, v in defaults.items() if k != "notebooks"} | own
    out = merged.get("out")
    return Settings(
        out=(path.parent / out) if out is not None else None,
        name=merged.get("name"),
        kernel=merged.get("kernel"),
        rtol=float(merged["rtol"]) if "rtol" in merged else None,
        atol=float(merged["atol"]) if "atol" in merged else None,
        max_calls=merged.get("max-calls"),
        max_rows=merged.get("max-rows"),
        max_size=float(merged["max-size"]) if "max-size" in merged else None,
        cache_size=float(merged["cache-size"]) if "cache-size" in merged else None,
        interfaces=merged.get("interfaces"),
        isolation=merged.get("isolation"),
        source=path,
    )


def _find(folder: Path) -> tuple[Path, Mapping[str, Any]] | None:
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProjectConfigError(f"{path}: not valid TOML: {exc}") from None
        table = data.get("tool", {}).get("nb2prod")
        if table is not None:
            if not isinstance(table, dict):
                raise ProjectConfigError(f"{path}: [tool.nb2prod] must be a table")
            return path, table
    return None


def _checked(
    path: Path,
    where: str,
    table: Mapping[str, Any],
    allowed: Mapping[str, type | tuple[type, ...]],
) -> dict[str, Any]:
    for key, value in table.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = (
                f"; did you mean '{close[0]}'?"
                if close
                else f"; known keys: {', '.join(allowed)}"
            )
            raise ProjectConfigError(f"{path}: {where}: unknown key '{key}'{hint}")
        expected = allowed[key]
        if isinstance(value, bool) or not isinstance(value, expected):
            raise ProjectConfigError(
                f"{path}: {where}: '{key}' must be {_kind(expected)}, not {value!r}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ProjectConfigError(
                f"{path}: {where}: '{key}' must be a finite number, not {value!r}"
            )
        if key in _PARSED:  # a string: its type was checked just above
            try:
                _PARSED[key](str(value))
            except ValueError as exc:
                raise ProjectConfigError(f"{path}: {where}: '{key}': {exc}") from None
        positive = isinstance(value, int | float) and value > 0
        if key in ("max-calls", "max-rows", "max-size", "cache-size") and not positive:
            minimum = "above 0" if key.endswith("-size") else "at least 1"
            raise ProjectConfigError(f"{path}: {where}: '{key}' must be {minimum}")
    return dict(table)


def _kind(expected: type | tuple[type, ...]) -> str:
    if expected == (int, float):
        return "a number"
    return {str: "a string", int: "an integer", dict: "a table"}.get(
        expected if isinstance(expected, type) else dict, "a value"
    )
