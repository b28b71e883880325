"""The command-line options several commands share, and how they become settings.

Options left out fall back to the project's ``[tool.nb2prod]`` table, then to
nb2prod's defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nb2prod.errors import UsageError
from nb2prod.notebook.read import DEFAULT_MAX_BYTES
from nb2prod.options import Options, literal, values
from nb2prod.project import Settings, settings_for
from nb2prod.standalone.compare import Tolerance

if TYPE_CHECKING:
    from nb2prod.run.execute import RunOptions

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
        "--rtol", help="Relative tolerance of float comparisons [default: 1e-9]."
    ),
]
AtolOption = Annotated[
    float | None,
    typer.Option(
        "--atol", help="Absolute tolerance of float comparisons [default: 1e-12]."
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
        "--max-calls", min=1, help="Calls recorded per function [default: 5]."
    ),
]
MaxRowsOption = Annotated[
    int | None,
    typer.Option(
        "--max-rows",
        min=1,
        help="Rows kept of a large input; its output is recomputed on them [default: 100].",
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


def settings_of(
    notebook: Path,
    out_dir: Path | None,
    name: str | None,
    kernel: str | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_calls: int | None = None,
    max_rows: int | None = None,
) -> Settings:
    """The project's [tool.nb2prod] settings for NOTEBOOK, overridden by the options."""
    return settings_for(notebook).override(
        out=out_dir,
        name=name,
        kernel=kernel,
        rtol=rtol,
        atol=atol,
        max_calls=max_calls,
        max_rows=max_rows,
    )


def run_options(given: dict[str, object], settings: Settings) -> RunOptions:
    from nb2prod.run.execute import RunOptions
    from nb2prod.run.instrument import Limits

    limits = Limits(
        settings.max_calls or Limits.max_calls, settings.max_rows or Limits.max_rows
    )
    return RunOptions(given, settings.kernel, limits)


def max_bytes(settings: Settings) -> int:
    if settings.max_size is None:
        return DEFAULT_MAX_BYTES
    return int(settings.max_size * 2**20)


def tolerance(settings: Settings) -> Tolerance:
    default = Tolerance()
    return Tolerance(
        default.rtol if settings.rtol is None else settings.rtol,
        default.atol if settings.atol is None else settings.atol,
    )


def locked_parameters(options: Options) -> dict[str, object]:
    from nb2prod.output.lock import read_lock
    from nb2prod.plan.naming import package_name

    folder = (options.out or options.notebook.parent) / package_name(
        options.notebook, options.name
    )
    lock = read_lock(folder)
    return values(lock.parameters) if lock else {}


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
