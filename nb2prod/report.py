"""Tell the user what happened: file fates, warnings, stale files, tag listings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nb2prod.analysis import CellAnalysis, Kind
from nb2prod.errors import Diagnostic
from nb2prod.pipeline import StaleFile
from nb2prod.tagging import Selection
from nb2prod.vocabulary import Role, Vocabulary
from nb2prod.writing import Fate, WriteReport

_FATE_STYLE = {
    Fate.CREATED: "green",
    Fate.UPDATED: "yellow",
    Fate.UNCHANGED: "dim",
    Fate.REMOVED: "red",
    Fate.REFUSED: "bold red",
    Fate.KEPT: "magenta",
}


def warnings(console: Console, diagnostics: Iterable[Diagnostic]) -> None:
    """Print warnings, one block each."""
    for diagnostic in diagnostics:
        console.print(escape(str(diagnostic)), style="yellow", highlight=False)


def written(console: Console, report: WriteReport) -> None:
    """One line per file that changed, then a summary."""
    for change in report.changes:
        if change.fate is not Fate.UNCHANGED:
            style = _FATE_STYLE[change.fate]
            console.print(f"  [{style}]{change.fate.value:>9}[/] {escape(change.path)}")
    counts = ", ".join(
        f"{report.count(fate)} {fate.value}" for fate in Fate if report.count(fate)
    )
    console.print(f"[bold]{escape(str(report.folder))}[/]: {counts or 'nothing to do'}")


def stale(
    console: Console, folder: str, files: Sequence[StaleFile], command: str
) -> None:
    """The diff of every stale file and the command that fixes it."""
    for item in files:
        console.print(escape(item.diff), end="", highlight=False, soft_wrap=True)
    console.print(
        f"[red]{escape(folder)}: {len(files)} file(s) differ from what the notebook "
        f"generates.[/] Fix with: [bold]{escape(command)}[/]",
        highlight=False,
    )


def vocabulary_table(console: Console, vocabulary: Vocabulary) -> None:
    """The tags and what each one means."""
    table = Table(title="nb2prod tags", show_lines=False)
    table.add_column("tag", style="bold cyan", no_wrap=True)
    table.add_column("comment form", no_wrap=True)
    table.add_column("meaning")
    for tag in vocabulary.tags:
        short = tag.name.removeprefix(vocabulary.prefix)
        table.add_row(tag.name, f"# nb2prod: {short}", tag.meaning)
    console.print(table)


def tagged_cells(
    console: Console,
    selection: Selection,
    cells: Sequence[CellAnalysis],
    vocabulary: Vocabulary,
    artifacts: set[str],
) -> None:
    """Each tagged cell: number, id, tags, first line, and what it ships."""
    table = Table(title=f"{selection.notebook.path.name}: tagged cells")
    for column in ("cell", "id", "tag", "first line", "ships"):
        table.add_column(column, overflow="fold")
    for cell in cells:
        role = cell.cell.role
        if role is None:
            continue
        tag = vocabulary.by_role(role).name + (
            " (comment)" if cell.cell.from_comment else ""
        )
        first = next(
            (line for line in cell.cell.source.split("\n") if line.strip()), ""
        )
        table.add_row(
            str(cell.cell.cell.number),
            cell.cell.cell.id or "",
            tag,
            escape(first.strip()[:60]),
            escape(_ships(cell, vocabulary, artifacts)),
        )
    console.print(table)


def _ships(cell: CellAnalysis, vocabulary: Vocabulary, artifacts: set[str]) -> str:
    role = cell.cell.role
    assert role is not None
    if role.ships_code:
        names = [
            name
            for statement in cell.statements
            if statement.kind is not Kind.IMPORT
            for name in statement.binds
        ]
        return ", ".join(names) or "nothing (no definitions)"
    if role is Role.ARTIFACT:
        names = [n for s in cell.statements for n in s.binds if n in artifacts]
        return (
            ("artifacts: " + ", ".join(names)) if names else "nothing shipped code uses"
        )
    if role is Role.TEST:
        return f"test_cell_{cell.cell.cell.number} in tests/"
    return vocabulary.by_role(role).ships
