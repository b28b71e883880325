"""How every command runs: the consoles, ``--debug``, errors as one line, progress."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from nb2prod.cli.terminal import safe
from nb2prod.errors import ConversionError, Nb2ProdError

if TYPE_CHECKING:
    from nb2prod.run.execute import Progress as ProgressCallback

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
#: Whether errors show their traceback (``--debug``), for the command running now.
state = {"debug": False}


def _set_debug(value: bool) -> bool:
    if value:
        state["debug"] = True
    return value  # an option callback's result becomes the parameter's value


# Global, and accepted after the command too (`nb2prod convert --debug x.ipynb`).
DebugOption = Annotated[
    bool,
    typer.Option("--debug", callback=_set_debug, help="Show tracebacks of errors."),
]


@contextmanager
def errors() -> Iterator[None]:
    """Print nb2prod's errors as one message and exit with their code."""
    try:
        yield
    except Nb2ProdError as exc:
        if state["debug"]:
            details = getattr(exc, "details", "")
            if details:
                err.print(safe(details))
            raise
        # Located problems carry their own severity; other errors get one.
        prefix = "" if isinstance(exc, ConversionError) else "[red]error:[/] "
        err.print(f"{prefix}{safe(str(exc))}")
        raise typer.Exit(exc.exit_code) from None
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        if state["debug"]:
            raise
        # Tasks the interrupt abandoned (nbclient's) log when collected at exit.
        logging.disable(logging.CRITICAL)
        err.print("[red]interrupted[/]: nothing more was written")
        raise typer.Exit(130) from None
    except Exception as exc:
        if state["debug"]:
            raise
        err.print(
            f"[red]internal error:[/] {safe(type(exc).__name__)}: {safe(str(exc))}\n"
            "This is a bug in nb2prod; rerun with --debug for the traceback and report it."
        )
        raise typer.Exit(3) from None


@contextmanager
def progress_bar(label: str) -> Iterator[ProgressCallback]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=err, transient=True, disable=not err.is_terminal
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
