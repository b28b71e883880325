"""Project configuration: the ``[tool.nb2prod]`` table of the repository's pyproject.toml.

    [tool.nb2prod]
    out = "packages"                 # where package folders go (default: beside each notebook)
    max-calls = 5                    # defaults for every notebook: kernel, rtol, atol,
                                     # max-calls, max-rows, max-size (MiB of a notebook file)
    [tool.nb2prod.notebooks."analysis/churn.ipynb"]
    name = "churn"                   # per notebook: name, out, and any default above

Paths are relative to the pyproject.toml. Command-line options win over the table.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod.errors import Nb2ProdError

#: Keys valid for every notebook, with the type each value must have.
_DEFAULTS: dict[str, type | tuple[type, ...]] = {
    "out": str,
    "kernel": str,
    "rtol": (int, float),
    "atol": (int, float),
    "max-calls": int,
    "max-rows": int,
    "max-size": (int, float),
}
#: Keys valid only for one notebook.
_PER_NOTEBOOK: dict[str, type | tuple[type, ...]] = {**_DEFAULTS, "name": str}


class ProjectConfigError(Nb2ProdError):
    """The ``[tool.nb2prod]`` table is not what nb2prod reads."""


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
    #: The pyproject.toml these came from, if any.
    source: Path | None = None

    def override(self, **values: Any) -> Settings:
        """These settings with the values given on the command line (None: not given)."""
        return dataclasses.replace(
            self, **{k: v for k, v in values.items() if v is not None}
        )


def settings_for(notebook: Path) -> Settings:
    """The settings for ``notebook`` from the nearest pyproject.toml with [tool.nb2prod]."""
    found = _find(notebook.resolve().parent)
    if found is None:
        return Settings()
    path, table = found
    defaults = _checked(path, "[tool.nb2prod]", table, {**_DEFAULTS, "notebooks": dict})
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
            kind = (
                "a number"
                if expected == (int, float)
                else f"a {getattr(expected, '__name__', 'value')}"
            )
            kind = {
                "a str": "a string",
                "a int": "an integer",
                "a dict": "a table",
            }.get(kind, kind)
            raise ProjectConfigError(
                f"{path}: {where}: '{key}' must be {kind}, not {value!r}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ProjectConfigError(
                f"{path}: {where}: '{key}' must be a finite number, not {value!r}"
            )
        positive = isinstance(value, int | float) and value > 0
        if key in ("max-calls", "max-rows", "max-size") and not positive:
            minimum = "above 0" if key == "max-size" else "at least 1"
            raise ProjectConfigError(f"{path}: {where}: '{key}' must be {minimum}")
    return dict(table)
