"""The ``[tool.nb2prod]`` table of the nearest pyproject.toml, read and checked.

Every key is checked where it is read, so a mistake names the file and the table;
:mod:`nb2prod.settings` then lets the command line win over what this returns.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod.errors import ProjectConfigError

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
    "cache-environments": int,
}
#: Keys whose value must be above 0.
_POSITIVE = frozenset(
    {"max-calls", "max-rows", "max-size", "cache-size", "cache-environments"}
)
#: Keys valid only for one notebook.
_PER_NOTEBOOK: dict[str, type | tuple[type, ...]] = {**_DEFAULTS, "name": str}


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
    #: Clean environments kept in the cache.
    cache_environments: int | None = None
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


#: Keys whose text must parse, with their parser (ValueError if it does not).
_PARSED: dict[str, Callable[[str], object]] = {
    "interfaces": parse_interfaces,
    "isolation": parse_isolation,
}


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
        cache_environments=merged.get("cache-environments"),
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
        if key in _POSITIVE and not positive:
            minimum = "above 0" if key.endswith("-size") else "at least 1"
            raise ProjectConfigError(f"{path}: {where}: '{key}' must be {minimum}")
    return dict(table)


def _kind(expected: type | tuple[type, ...]) -> str:
    if expected == (int, float):
        return "a number"
    return {str: "a string", int: "an integer", dict: "a table"}.get(
        expected if isinstance(expected, type) else dict, "a value"
    )
