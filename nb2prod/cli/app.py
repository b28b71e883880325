"""The ``nb2prod`` command: parse options, call the pipeline, map errors to exit codes."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from nb2prod import __version__
from nb2prod.cli.options import (
    AtolOption,
    ForceOption,
    InterfacesOption,
    IsolationOption,
    JsonOption,
    KernelOption,
    MaxCallsOption,
    MaxRowsOption,
    NameOption,
    NoExecuteOption,
    NotebookArg,
    OutOption,
    RtolOption,
    parameters_from,
    require_usable,
)
from nb2prod.cli.session import DebugOption, err, errors, out, progress_bar, state
from nb2prod.cli.summary import append, check_markdown
from nb2prod.cli.terminal import safe, up_to_date_line
from nb2prod.errors import (
    UntaggedNotebookError,
    UsageError,
)
from nb2prod.notebook.read import read_notebook
from nb2prod.notebook.vocabulary import load_vocabulary
from nb2prod.output.fastcheck import up_to_date
from nb2prod.output.lock import LOCK_NAME
from nb2prod.output.paths import contained
from nb2prod.settings import job_for

if TYPE_CHECKING:  # the pipeline is imported by the commands that need it: startup is
    # what `nb2prod check` costs on every commit
    from nb2prod.pipeline import Proof

app = typer.Typer(
    name="nb2prod",
    help="Turn a tagged Jupyter notebook into a typed, tested, servable package.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)
_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def _version(value: bool) -> None:
    if value:
        out.print(f"nb2prod {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: DebugOption = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Turn a tagged Jupyter notebook into a typed, tested, servable package.

    Example: `nb2prod convert analysis.ipynb`
    """
    state["debug"] = debug  # a command's own --debug sets it again below


@app.command(context_settings=_EXTRA)
def convert(
    context: typer.Context,
    notebook: NotebookArg,
    out_dir: OutOption = None,
    name: NameOption = None,
    no_execute: NoExecuteOption = False,
    force: ForceOption = False,
    kernel: KernelOption = None,
    rtol: RtolOption = None,
    atol: AtolOption = None,
    json_report: JsonOption = None,
    max_calls: MaxCallsOption = None,
    max_rows: MaxRowsOption = None,
    interfaces: InterfacesOption = None,
    isolation: IsolationOption = None,
    debug: DebugOption = False,
) -> None:
    """Write NOTEBOOK's package, run the notebook, and prove the package computes the same.

    The notebook runs with papermill (the user's file is only read); its artifacts
    and the calls to feature and predict functions are saved in the package, then
    replayed against it. Exit 1 on any mismatch. `-p NAME VALUE` (repeatable) sets a
    parameter of the `parameters` cell for the run and the package's config.
    Defaults come from `[tool.nb2prod]` in the project's pyproject.toml.

    Example: `nb2prod convert analysis.ipynb -p THRESHOLD 0.4`
    """
    from nb2prod import pipeline
    from nb2prod.cli import report

    with errors():
        job = job_for(
            notebook,
            out=out_dir,
            name=name,
            force=force,
            parameters=parameters_from(context.args),
            kernel=kernel,
            rtol=rtol,
            atol=atol,
            max_calls=max_calls,
            max_rows=max_rows,
            interfaces=interfaces,
            isolation=isolation.value if isolation else None,
        )
        require_usable(job.folder.parent, json_report)
        if no_execute:
            generated, written = pipeline.convert_static(job)
            report.warnings(err, generated.warnings)
            report.learned(out, generated.plan, generated.lock)
            report.written(out, written)
            return
        with progress_bar(f"running {notebook.name}") as progress:
            proof = pipeline.convert(job, progress)
        if not _show_proof(proof, json_report):
            raise typer.Exit(1)


@app.command(context_settings=_EXTRA)
def verify(
    context: typer.Context,
    notebooks: Annotated[
        list[Path], typer.Argument(help="Notebooks to verify.", show_default=False)
    ],
    out_dir: OutOption = None,
    name: NameOption = None,
    kernel: KernelOption = None,
    rtol: RtolOption = None,
    atol: AtolOption = None,
    json_report: JsonOption = None,
    max_calls: MaxCallsOption = None,
    max_rows: MaxRowsOption = None,
    interfaces: InterfacesOption = None,
    isolation: IsolationOption = None,
    debug: DebugOption = False,
) -> None:
    """Run each notebook again and compare its calls with the package already on disk.

    Changes no package file (build/ gets review.html). Exit 1 on any mismatch,
    naming the function, the call and where the values differ. The `-p` values of
    the last convert are reused unless given again. Untagged notebooks are skipped.

    Example: `nb2prod verify analysis.ipynb --json report.json`
    """
    from nb2prod import pipeline

    failed = False
    with errors():
        parameters = parameters_from(context.args)
        if len(notebooks) > 1 and (name or json_report or parameters):
            raise UsageError(
                "--name, --json and -p apply to one notebook; verify them one at a time"
            )
        for notebook in notebooks:
            job = job_for(
                notebook,
                out=out_dir,
                name=name,
                parameters=parameters or None,  # None: the last convert's
                kernel=kernel,
                rtol=rtol,
                atol=atol,
                max_calls=max_calls,
                max_rows=max_rows,
                interfaces=interfaces,
                isolation=isolation.value if isolation else None,
            )
            require_usable(job.folder.parent, json_report)
            try:
                with progress_bar(f"running {notebook.name}") as progress:
                    proof = pipeline.verify(job, progress)
            except UntaggedNotebookError:
                continue
            failed |= not _show_proof(proof, json_report)
    if failed:
        raise typer.Exit(1)


def _show_proof(proof: Proof, json_report: Path | None) -> bool:
    """Print the proof; True when every recorded call matched."""
    from nb2prod.cli import report, review

    report.warnings(err, proof.warnings)
    report.recording_warnings(err, proof.recording)
    if proof.generated is not None:
        report.learned(out, proof.generated.plan, proof.generated.lock)
    if proof.written is not None:
        report.written(out, proof.written)
    report.equivalence(out, proof.report, proof.recording)
    review.after_proof(out, err, proof, json_report)
    return proof.report.ok


@app.command()
def check(
    notebooks: Annotated[
        list[Path], typer.Argument(help="Notebooks to check.", show_default=False)
    ],
    out_dir: OutOption = None,
    name: NameOption = None,
    debug: DebugOption = False,
) -> None:
    """Fail with a diff when a package on disk is not what its notebook generates now.

    Static and fast (no kernel): this is the pre-commit hook. Notebooks without
    nb2prod tags are skipped.

    Example: `nb2prod check analysis.ipynb`
    """
    from nb2prod.notebook.tags import is_tagged

    failed = False
    with errors():
        if name is not None and len(notebooks) > 1:
            raise UsageError("--name applies to one notebook; check them one at a time")
        for notebook in notebooks:
            job = job_for(notebook, out=out_dir, name=name)
            read = read_notebook(notebook, job.max_bytes)
            command = shlex.join(
                ["nb2prod", "convert", str(notebook)]
                + (["--out", str(out_dir)] if out_dir is not None else [])
                + (["--name", name] if name is not None else [])
            )
            # contained(): a package folder that is a symbolic link is refused first.
            if not contained(job.folder, LOCK_NAME).is_file() and is_tagged(read):
                failed = True
                err.print(
                    f"[red]{safe(str(job.folder))}: no package generated by nb2prod "
                    f"here.[/] Create it with: [bold]{safe(command)}[/]",
                    highlight=False,
                )
                continue
            # Else the lock proves it: no need to generate.
            if not up_to_date(job, read):
                from nb2prod import pipeline
                from nb2prod.cli import report

                try:
                    _, stale = pipeline.check(job, read)
                except UntaggedNotebookError:
                    continue
                if stale:
                    failed = True
                    report.stale(out, str(job.folder), stale, command)
                    append(check_markdown(str(job.folder), notebook.name, stale))
                    continue
            out.print(escape(up_to_date_line(job.folder, notebook)))
            append(check_markdown(str(job.folder), notebook.name, []))
    if failed:
        raise typer.Exit(1)


@app.command()
def diff(
    notebook: NotebookArg,
    out_dir: OutOption = None,
    name: NameOption = None,
    debug: DebugOption = False,
) -> None:
    """Show what `convert --no-execute` would change, as a unified diff; write nothing.

    Exits 1 when there are changes, 0 when the package is up to date.

    Example: `nb2prod diff analysis.ipynb | less`
    """
    from nb2prod import pipeline

    with errors():
        _, written, text = pipeline.diff(job_for(notebook, out=out_dir, name=name))
    if text:
        sys.stdout.write(text)
        raise typer.Exit(1)
    out.print(f"{safe(str(written.folder))}: no changes")


@app.command()
def tags(
    notebook: Annotated[
        Path | None,
        typer.Argument(
            help="A notebook whose tagged cells to show.", show_default=False
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """List the tag vocabulary, or NOTEBOOK's tagged cells, what each ships and its problems.

    Runs the same analysis as `convert` (no kernel): exits 1 when convert would stop.

    Example: `nb2prod tags analysis.ipynb`
    """
    from nb2prod import generation, pipeline
    from nb2prod.cli import report

    vocabulary = load_vocabulary()
    with errors():
        if notebook is None:
            report.vocabulary_table(out, vocabulary)
            return
        job = job_for(notebook)
        read = read_notebook(notebook, job.max_bytes)
        selection, cells = generation.analyse_cells(read)
        generation.require_tags(selection)
        found = pipeline.inspect(job, read)
        report.tagged_cells(out, selection, cells, vocabulary, found)
        report.problems(err, found.diagnostics)
        if found.refusal is not None:
            raise found.refusal
    if found.failed:
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the console script."""
    app()
