"""Tell the user what happened: file fates, warnings, stale files, tag listings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

from nb2prod.analysis.cells import CellAnalysis, Kind
from nb2prod.cli.terminal import safe
from nb2prod.errors import Diagnostic, Severity
from nb2prod.notebook.tags import Selection
from nb2prod.notebook.vocabulary import Role, Vocabulary
from nb2prod.output.lock import Lock
from nb2prod.output.writing import Fate, WriteReport
from nb2prod.pipeline import Inspection, StaleFile
from nb2prod.plan import model as plan_model
from nb2prod.plan.naming import test_name
from nb2prod.run.execute import Recording
from nb2prod.run.interfaces import InterfaceReport
from nb2prod.run.replay import VerifyReport

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
        console.print(safe(str(diagnostic)), style="yellow", highlight=False)


def written(console: Console, report: WriteReport) -> None:
    """One line per generated file that changed, one per folder of recorded files."""
    folded: dict[tuple[str, Fate], int] = {}
    for change in report.changes:
        if change.fate is Fate.UNCHANGED:
            continue
        folder = _recorded_folder(change.path)
        if folder:
            folded[(folder, change.fate)] = folded.get((folder, change.fate), 0) + 1
            continue
        style = _FATE_STYLE[change.fate]
        console.print(f"  [{style}]{change.fate.value:>9}[/] {safe(change.path)}")
    for (folder, fate), count in sorted(
        folded.items(), key=lambda i: (i[0][0], i[0][1].value)
    ):
        style = _FATE_STYLE[fate]
        console.print(f"  [{style}]{fate.value:>9}[/] {safe(folder)} ({count} files)")
    counts = ", ".join(
        f"{report.count(fate)} {fate.value}" for fate in Fate if report.count(fate)
    )
    console.print(f"[bold]{safe(str(report.folder))}[/]: {counts or 'nothing to do'}")


def _recorded_folder(path: str) -> str:
    for prefix in ("tests/cases/", "tests/fixtures/"):
        if path.startswith(prefix):
            return prefix
    return ""


def learned(console: Console, plan: plan_model.PackagePlan, lock: Lock) -> None:
    """The values the package ships as the notebook computed them from its data."""
    for value in plan.learned:
        cell = value.cell.cell.cell
        for name in value.names:
            entry = lock.learned.get(name, {})
            shown = entry.get("literal") if "literal" in entry else "an artifact"
            text = str(shown)
            if len(text) > 60:
                text = text[:57] + "..."
            console.print(
                f"  [cyan]  learned[/] {safe(name)} = {safe(text)} (cell "
                f"{cell.number}, line {value.line}: {safe(value.expression[:80])})"
            )


def recording_warnings(console: Console, recording: Recording) -> None:
    """What the recorder could not store."""
    for message in recording.warnings:
        console.print(f"warning: {safe(message)}", style="yellow")


def equivalence(console: Console, report: VerifyReport, recording: Recording) -> None:
    """A table of replayed calls per function, then the first mismatch of each."""
    table = Table(title="package vs notebook")
    for column in ("function", "calls", "replayed", "equal", "max abs", "max rel"):
        table.add_column(column, justify="left" if column == "function" else "right")
    for function in report.functions:
        style = "green" if function.equal == function.calls else "red"
        table.add_row(
            function.function,
            str(recording.calls.get(function.function, 0)),
            str(function.calls),
            f"[{style}]{function.equal}[/]",
            f"{function.max_abs:.3g}",
            f"{function.max_rel:.3g}",
        )
    console.print(table)
    for function in report.functions:
        for note in function.notes:
            console.print(f"note: {function.function}: {safe(note)}", style="dim")
        if function.mismatch is not None:
            mismatch = function.mismatch
            where = f" at {mismatch.where}" if mismatch.where else ""
            console.print(
                f"[red]mismatch:[/] {safe(function.function)}, call tests/cases/"
                f"{safe(mismatch.case)}{safe(where)}: {safe(mismatch.detail)}"
            )
    interfaces(console, report.interfaces)
    seconds = f"notebook ran in {recording.seconds:.1f} s"
    if report.environment:
        seconds += f"; replayed {report.environment}"
    tolerance = f"rtol={report.tolerance.rtol:g}, atol={report.tolerance.atol:g}"
    if report.ok:
        through = ", ".join(
            ["direct"] + [i.interface for i in report.interfaces if i.calls]
        )
        console.print(
            f"[green]equivalent:[/] every recorded call matches, through {through} "
            f"({tolerance}; {seconds})"
        )
    else:
        failed = sum(1 for f in report.functions if f.equal != f.calls)
        differ = [f"{failed} function(s)"] if failed else []
        differ += [i.interface for i in report.interfaces if not i.ok]
        console.print(
            f"[red]not equivalent:[/] {', '.join(differ)} differ ({tolerance}; {seconds})"
        )


def interfaces(console: Console, reports: Sequence[InterfaceReport]) -> None:
    """One table per interface (a row per call), or the reason it was not run."""
    for found in reports:
        if found.skipped:
            console.print(f"{found.interface}: {safe(found.skipped)}", style="dim")
            continue
        table = Table(
            title=f"predict through {found.interface} ({found.seconds:.1f} s)"
        )
        for column in ("call", "rows", "equal", "max abs", "max rel"):
            table.add_column(column, justify="left" if column == "call" else "right")
        for call in found.calls:
            equal = "[green]yes[/]" if call.equal else "[red]no[/]"
            table.add_row(
                call.case,
                str(call.rows),
                equal,
                f"{call.max_abs:.3g}",
                f"{call.max_rel:.3g}",
            )
        if found.calls:
            console.print(table)
        for note in found.notes:
            console.print(f"note: {found.interface}: {safe(note)}", style="dim")
        for mismatch in found.mismatches:
            console.print(f"[red]mismatch:[/] {safe(mismatch)}")


def stale(
    console: Console, folder: str, files: Sequence[StaleFile], command: str
) -> None:
    """The diff of every stale file and the command that fixes it."""
    for item in files:
        console.print(safe(item.diff), end="", highlight=False, soft_wrap=True)
    console.print(
        f"[red]{safe(folder)}: {len(files)} file(s) differ from what the notebook "
        f"generates.[/] Fix with: [bold]{safe(command)}[/]",
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
    found: Inspection,
) -> None:
    """Each tagged cell: number, id, tags, first line, what it ships, its problems."""
    table = Table(title=f"{selection.notebook.path.name}: tagged cells")
    for column in ("cell", "id", "tag", "first line", "ships", "problems"):
        table.add_column(column, overflow="fold")
    artifacts = None if found.failed else set(found.artifacts)
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
        number = cell.cell.cell.number
        table.add_row(
            str(number),
            cell.cell.cell.id or "",
            tag,
            safe(first.strip()[:60]),
            safe(_ships(cell, vocabulary, artifacts, found.plan)),
            _counts(d for d in found.diagnostics if d.location.cell == number),
        )
    console.print(table)


def problems(console: Console, diagnostics: Sequence[Diagnostic]) -> None:
    """Every problem and warning, located, then how many errors."""
    for diagnostic in diagnostics:
        style = "red" if diagnostic.severity is Severity.ERROR else "yellow"
        console.print(safe(str(diagnostic)), style=style, highlight=False)
    counted = _counts(diagnostics)
    if counted:
        console.print(counted)


def _counts(diagnostics: Iterable[Diagnostic]) -> str:
    """'2 errors, 1 warning', or '' for none."""
    severities = [d.severity for d in diagnostics]
    parts = []
    for severity in (Severity.ERROR, Severity.WARNING):
        count = severities.count(severity)
        if count:
            noun = severity.value + ("s" if count != 1 else "")
            parts.append(f"{count} {noun}")
    return ", ".join(parts)


def _ships(
    cell: CellAnalysis,
    vocabulary: Vocabulary,
    artifacts: set[str] | None,
    plan: plan_model.PackagePlan | None,
) -> str:
    role = cell.cell.role
    assert role is not None
    if not cell.parsed and (role.ships_code or role is Role.TEST):
        return "nothing until its errors are fixed"
    if role.ships_code and plan is not None:
        return _statement_fates(cell.cell.cell.number, plan)
    if role.ships_code:
        names = [
            name
            for statement in cell.statements
            if statement.kind is not Kind.IMPORT
            for name in statement.binds
        ]
        return ", ".join(names) or "nothing (no definitions)"
    if role is Role.ARTIFACT:
        if artifacts is None:
            return "unknown until the errors are fixed"
        names = [n for s in cell.statements for n in s.binds if n in artifacts]
        return (
            ("artifacts: " + ", ".join(names)) if names else "nothing shipped code uses"
        )
    if role is Role.TEST:
        return f"{test_name(cell.cell.cell.number, cell.cell.cell.id)} in tests/"
    return vocabulary.by_role(role).ships


def _statement_fates(number: int, plan: plan_model.PackagePlan) -> str:
    """Per statement: its code ships, its learned value ships, or it stays behind."""
    fates = [f for f in plan.fates if f.cell == number and f.names]
    ships = [n for f in fates if f.fate is plan_model.Fate.SHIPS for n in f.names]
    learned = [
        n for v in plan.learned if v.cell.cell.cell.number == number for n in v.names
    ]
    parts = [", ".join(ships)] if ships else []
    if learned:
        parts.append("learned: " + ", ".join(learned))
    if not parts:
        parts.append("nothing (no definitions shipped code uses)")
    stays = [
        f"{', '.join(f.names)} (line {f.line})"
        for f in fates
        if f.fate is plan_model.Fate.NOTEBOOK
    ]
    if stays:
        parts.append("stays in the notebook: " + "; ".join(stays))
    return "; ".join(parts)
