"""Guard against hidden state: shipped code that only worked because cells ran out of order."""

from __future__ import annotations

from collections.abc import Sequence

from nb2prod.analysis.cells import CellAnalysis
from nb2prod.errors import Diagnostic, Location, error, warning
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.vocabulary import Role

#: Cells whose definitions the package takes.
_DEFINING = (Role.EXPORT, Role.FEATURE, Role.PREDICT, Role.ARTIFACT, Role.PARAMETERS)


def later_definitions(
    notebook: Notebook, cells: Sequence[CellAnalysis]
) -> list[Diagnostic]:
    """Shipped code reading a name that only a later cell defines.

    Run top to bottom, the notebook would reach this cell before the name exists;
    it worked only because the cells ran in another order.
    """
    first: dict[str, CellAnalysis] = {}
    for cell in cells:
        if cell.cell.role in _DEFINING:
            for statement in cell.statements:
                for name in statement.binds:
                    first.setdefault(name, cell)
    problems: list[Diagnostic] = []
    for cell in cells:
        if cell.cell.role is None or not cell.cell.role.ships_code:
            continue
        reported: set[str] = set()
        for statement in cell.statements:
            for use in statement.uses:
                owner = first.get(use.name)
                if owner is None or use.name in reported:
                    continue
                if owner.cell.cell.number > cell.cell.cell.number:
                    reported.add(use.name)
                    problems.append(
                        _later(notebook, cell, use.name, use.line, use.column, owner)
                    )
    return problems


def _later(
    notebook: Notebook,
    cell: CellAnalysis,
    name: str,
    line: int,
    column: int,
    owner: CellAnalysis,
) -> Diagnostic:
    here, there = cell.cell.cell, owner.cell.cell
    label = f"cell {there.number}" + (f" [id {there.id}]" if there.id else "")
    source_line = cell.cell.source.split("\n")[line - 1]
    location = Location(
        notebook.path, here.number, here.id, line, column, source_line, len(name)
    )
    return error(
        f"'{name}' is defined only later, in {label}: run top to bottom, the notebook "
        "fails here",
        location,
        f"move {label} above cell {here.number}",
    )


def out_of_order(notebook: Notebook, cells: Sequence[CellAnalysis]) -> list[Diagnostic]:
    """A warning when execution counts show tagged cells last ran out of order."""
    previous: CellAnalysis | None = None
    for cell in cells:
        count = cell.cell.cell.execution_count
        if cell.cell.role is None or count is None:
            continue
        last = previous.cell.cell.execution_count if previous else None
        if previous is not None and last is not None and count < last:
            here, there = cell.cell.cell, previous.cell.cell
            return [
                warning(
                    f"cell {here.number} last ran before cell {there.number} above it "
                    f"(execution counts {count} and {last}): what you saw may depend on "
                    "that order; nb2prod convert runs the notebook top to bottom",
                    Location(notebook.path, here.number, here.id),
                )
            ]
        previous = cell
    return []
