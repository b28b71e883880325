"""The ``nb2prod`` command: parse options, call the pipeline, map errors to exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from nb2prod import __version__, pipeline, report
from nb2prod.errors import ConversionError, Nb2ProdError, UsageError
from nb2prod.pipeline import Options, UntaggedNotebookError
from nb2prod.vocabulary import load_vocabulary

app = typer.Typer(
    name="nb2prod",
    help="Turn a tagged Jupyter notebook into a typed, tested, servable package.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False}

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


def _version(value: bool) -> None:
    if value:
        out.print(f"nb2prod {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Turn a tagged Jupyter notebook into a typed, tested, servable package.

    Example: `nb2prod convert analysis.ipynb --no-execute`
    """
    _state["debug"] = debug


@contextmanager
def _errors() -> Iterator[None]:
    """Print nb2prod's errors as one message and exit with their code."""
    try:
        yield
    except Nb2ProdError as exc:
        if _state["debug"]:
            raise
        # Located problems carry their own severity; other errors get one.
        prefix = "" if isinstance(exc, ConversionError) else "[red]error:[/] "
        err.print(f"{prefix}{escape(str(exc))}")
        raise typer.Exit(exc.exit_code) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        if _state["debug"]:
            raise
        err.print(
            f"[red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}\n"
            "This is a bug in nb2prod; rerun with --debug for the traceback and report it."
        )
        raise typer.Exit(3) from None


@app.command()
def convert(
    notebook: NotebookArg,
    out_dir: OutOption = None,
    name: NameOption = None,
    no_execute: Annotated[
        bool,
        typer.Option(
            "--no-execute", help="Write the package without running the notebook."
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Overwrite generated files you edited since."),
    ] = False,
) -> None:
    """Write the package generated from NOTEBOOK's tagged cells.

    Example: `nb2prod convert analysis.ipynb --no-execute --out build/`
    """
    with _errors():
        if not no_execute:
            raise UsageError(
                "running the notebook to save artifacts and prove equivalence is not "
                f"available in nb2prod {__version__} yet; pass --no-execute"
            )
        generated, written = pipeline.convert_static(
            Options(notebook, out_dir, name, force)
        )
        report.warnings(err, generated.warnings)
        report.written(out, written)


@app.command()
def check(
    notebooks: Annotated[
        list[Path], typer.Argument(help="Notebooks to check.", show_default=False)
    ],
    out_dir: OutOption = None,
    name: NameOption = None,
) -> None:
    """Fail with a diff when a package on disk is not what its notebook generates now.

    Static and fast (no kernel): this is the pre-commit hook. Notebooks without
    nb2prod tags are skipped.

    Example: `nb2prod check analysis.ipynb`
    """
    failed = False
    with _errors():
        if name is not None and len(notebooks) > 1:
            raise UsageError("--name applies to one notebook; check them one at a time")
        for notebook in notebooks:
            try:
                generated, stale = pipeline.check(Options(notebook, out_dir, name))
            except UntaggedNotebookError:
                continue
            if stale:
                failed = True
                command = f"nb2prod convert {notebook}" + (
                    f" --out {out_dir}" if out_dir else ""
                )
                report.stale(out, str(generated.folder), stale, command)
            else:
                out.print(
                    f"{escape(str(generated.folder))}: up to date with {escape(notebook.name)}"
                )
    if failed:
        raise typer.Exit(1)


@app.command()
def diff(
    notebook: NotebookArg, out_dir: OutOption = None, name: NameOption = None
) -> None:
    """Show what `convert` would change, as a unified diff; write nothing.

    Exits 1 when there are changes, 0 when the package is up to date.

    Example: `nb2prod diff analysis.ipynb | less`
    """
    with _errors():
        _, written, text = pipeline.diff(Options(notebook, out_dir, name))
    if text:
        sys.stdout.write(text)
        raise typer.Exit(1)
    out.print(f"{escape(str(written.folder))}: no changes")


@app.command()
def tags(
    notebook: Annotated[
        Path | None,
        typer.Argument(
            help="A notebook whose tagged cells to show.", show_default=False
        ),
    ] = None,
) -> None:
    """List the tag vocabulary, or NOTEBOOK's tagged cells and what each ships.

    Example: `nb2prod tags analysis.ipynb`
    """
    vocabulary = load_vocabulary()
    with _errors():
        if notebook is None:
            report.vocabulary_table(out, vocabulary)
            return
        selection, cells = pipeline.analyse_cells(Options(notebook))
        pipeline.require_tags(selection)
        artifacts = pipeline.artifact_names(notebook, selection, cells)
        report.tagged_cells(out, selection, cells, vocabulary, artifacts)


def main() -> None:
    """Entry point of the console script."""
    app()
