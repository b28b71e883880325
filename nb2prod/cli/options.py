"""The command-line options several commands share; :func:`nb2prod.settings.job_for`
resolves them (options left out fall back to ``[tool.nb2prod]``, then to the defaults
stated once in :mod:`nb2prod.settings`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nb2prod.errors import UsageError
from nb2prod.settings import (
    DEFAULT_TOLERANCE,
    INTERFACES,
    INTERFACES_VARIABLE,
    ISOLATION_VARIABLE,
    ISOLATIONS,
    Limits,
    literal,
)

NotebookArg = Annotated[
    Path, typer.Argument(help="The notebook (.ipynb).", show_default=False)
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Folder to put the package folder in [default: the notebook's folder].",
    ),
]
NameOption = Annotated[
    str | None,
    typer.Option(
        "--name", help="Package name [default: from the notebook's file name]."
    ),
]
KernelOption = Annotated[
    str | None,
    typer.Option(
        "--kernel",
        help="Jupyter kernel to run the notebook [default: nb2prod's own Python].",
    ),
]
RtolOption = Annotated[
    float | None,
    typer.Option(
        "--rtol",
        help="Relative tolerance of float comparisons "
        f"[default: the last run's, else {DEFAULT_TOLERANCE.rtol:g}].",
    ),
]
AtolOption = Annotated[
    float | None,
    typer.Option(
        "--atol",
        help="Absolute tolerance of float comparisons "
        f"[default: the last run's, else {DEFAULT_TOLERANCE.atol:g}].",
    ),
]
JsonOption = Annotated[
    Path | None,
    typer.Option(
        "--json", help="Also write the equivalence report as JSON to this file."
    ),
]
MaxCallsOption = Annotated[
    int | None,
    typer.Option(
        "--max-calls",
        min=1,
        help=f"Calls recorded per function [default: {Limits.max_calls}].",
    ),
]
MaxRowsOption = Annotated[
    int | None,
    typer.Option(
        "--max-rows",
        min=1,
        help="Rows kept of a large input; its output is recomputed on them "
        f"[default: {Limits.max_rows}].",
    ),
]

InterfacesOption = Annotated[
    str | None,
    typer.Option(
        "--interfaces",
        help="Interfaces predict's recorded calls are replayed through besides the "
        f"direct call: all ({', '.join(INTERFACES)}), direct (none), or some of them, "
        f"comma-separated [default: [tool.nb2prod], else ${INTERFACES_VARIABLE}, "
        "else all].",
    ),
]
NoExecuteOption = Annotated[
    bool,
    typer.Option(
        "--no-execute", help="Write the package without running the notebook."
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Overwrite generated files you edited since.")
]


class Isolation(StrEnum):
    """Where convert and verify replay (:data:`nb2prod.settings.ISOLATIONS`)."""

    venv = "venv"
    none = "none"


assert tuple(i.value for i in Isolation) == ISOLATIONS

IsolationOption = Annotated[
    Isolation | None,
    typer.Option(
        "--isolation",
        help="Replay the recorded calls in a clean environment with only the package "
        "and its declared dependencies (venv), or in nb2prod's own (none: faster, "
        f"proves less) [default: ${ISOLATION_VARIABLE}, else venv].",
        show_default=False,
    ),
]


def parameters_from(extra: list[str]) -> dict[str, str]:
    """``-p NAME VALUE`` pairs (typer has no repeatable two-value option)."""
    found: dict[str, str] = {}
    rest = list(extra)
    while rest:
        flag = rest.pop(0)
        if flag not in ("-p", "--parameter") or len(rest) < 2:
            raise UsageError(
                f"unexpected argument {flag!r}; parameters are given as -p NAME VALUE"
            )
        name, value = rest.pop(0), rest.pop(0)
        if not name.isidentifier():
            raise UsageError(f"-p {name}: not a valid parameter name")
        found[name] = literal(value)
    return found


def require_usable(out: Path | None, json_report: Path | None) -> None:
    """Refuse, before any work, an --out that is a file or a --json with no folder."""
    if out is not None and out.exists() and not out.is_dir():
        raise UsageError(
            f"--out {out}: is a file; --out names the folder that receives the "
            "package folder"
        )
    if json_report is None:
        return
    if json_report.is_dir():
        raise UsageError(f"--json {json_report}: is a folder; name a file")
    if not json_report.parent.is_dir():
        raise UsageError(
            f"--json {json_report}: the folder {json_report.parent} does not exist"
        )
