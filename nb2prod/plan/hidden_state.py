"""Guard against hidden state: shipped code that only worked because cells ran out of order.

A shipped cell reading a name that only a later cell defines fails when the notebook
runs top to bottom if the read runs before that cell does: a top-level statement
reads it, or a function reading it is called before the defining cell. A read inside
a function body that nothing calls that early runs fine top to bottom; it is only a
warning, since the notebook's order no longer tells the reader where the name comes
from.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from nb2prod.analysis.cells import CellAnalysis, NameUse
from nb2prod.analysis.magics import mask
from nb2prod.errors import Diagnostic, Location, error, warning
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.vocabulary import Role

#: Cells whose definitions the package takes.
_DEFINING = (Role.EXPORT, Role.FEATURE, Role.PREDICT, Role.ARTIFACT, Role.PARAMETERS)


@dataclass(frozen=True)
class _TopLevel:
    """What one top-level statement binds and reads, and when it reads it."""

    #: The cell's number.
    cell: int
    #: Global names it binds.
    binds: frozenset[str]
    #: Names read while the statement runs.
    now: frozenset[str]
    #: Names read only when a function or lambda it defines is called.
    later: frozenset[str]


def later_definitions(
    notebook: Notebook, cells: Sequence[CellAnalysis]
) -> list[Diagnostic]:
    """Shipped code reading a name that only a later cell defines.

    An error when the read runs before the defining cell (top to bottom, the notebook
    fails); a warning naming both cells when it is read only inside a function body
    that no statement calls before the defining cell.
    """
    first: dict[str, CellAnalysis] = {}
    for cell in cells:
        if cell.cell.role in _DEFINING:
            for statement in cell.statements:
                for name in statement.binds:
                    first.setdefault(name, cell)
    program: list[_TopLevel] = []
    problems: list[Diagnostic] = []
    for cell in cells:
        if cell.cell.role is None or not cell.cell.role.ships_code:
            continue
        late: dict[str, list[NameUse]] = {}
        for statement in cell.statements:
            for use in statement.uses:
                owner = first.get(use.name)
                if owner is not None and owner.cell.cell.number > cell.cell.cell.number:
                    late.setdefault(use.name, []).append(use)
        for name, uses in late.items():
            if not program:
                program = _program(cells)
            problems.append(_judge(notebook, cell, uses, first[name], program))
    return problems


def _judge(
    notebook: Notebook,
    cell: CellAnalysis,
    uses: list[NameUse],
    owner: CellAnalysis,
    program: list[_TopLevel],
) -> Diagnostic:
    """One diagnostic for the reads of one late name in one cell: the worst."""
    deferred: list[tuple[NameUse, str]] = []
    for use in uses:
        function = _function_around(cell.source, use.line, use.column)
        if function is None:
            return _later(notebook, cell, use.name, use.line, use.column, owner)
        deferred.append((use, function))
    here, there = cell.cell.cell.number, owner.cell.cell.number
    for use, function in deferred:
        caller = _early_call(program, function, here, there)
        if caller is not None:
            return _later_call(notebook, cell, use, owner, function, caller)
    use, function = deferred[0]
    return _later_call(notebook, cell, use, owner, function, None)


def _location(
    notebook: Notebook, cell: CellAnalysis, name: str, line: int, column: int
) -> Location:
    here = cell.cell.cell
    source_line = cell.cell.source.split("\n")[line - 1]
    return Location(
        notebook.path, here.number, here.id, line, column, source_line, len(name)
    )


def _label(cell: CellAnalysis) -> str:
    there = cell.cell.cell
    return f"cell {there.number}" + (f" [id {there.id}]" if there.id else "")


def _later(
    notebook: Notebook,
    cell: CellAnalysis,
    name: str,
    line: int,
    column: int,
    owner: CellAnalysis,
) -> Diagnostic:
    label = _label(owner)
    return error(
        f"'{name}' is defined only later, in {label}: run top to bottom, the notebook "
        "fails here",
        _location(notebook, cell, name, line, column),
        f"move {label} above cell {cell.cell.cell.number}",
    )


def _later_call(
    notebook: Notebook,
    cell: CellAnalysis,
    use: NameUse,
    owner: CellAnalysis,
    function: str,
    caller: tuple[int, str] | None,
) -> Diagnostic:
    label = _label(owner)
    location = _location(notebook, cell, use.name, use.line, use.column)
    hint = f"move {label} above cell {cell.cell.cell.number}"
    if caller is not None:
        number, called = caller
        return error(
            f"'{use.name}' is defined only later, in {label}, and cell {number} calls "
            f"{called}() before that: run top to bottom, the notebook fails there",
            location,
            hint,
        )
    return warning(
        f"'{use.name}', read inside {function}() in cell {cell.cell.cell.number}, is "
        f"defined only later, in {label}: the notebook runs top to bottom only "
        f"because nothing calls {function}() before {label}",
        location,
        hint,
    )


def _function_around(source: str, line: int, column: int) -> str | None:
    """The top-level function (or class) whose body holds the read, if it runs later.

    None when the read runs as the cell runs: a top-level statement, a decorator, a
    default value, a class body.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    lines = source.split("\n")
    for statement in tree.body:
        if not isinstance(
            statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            continue
        for first, last in _deferred_spans(statement):
            start = (first.lineno, _column(lines, first.lineno, first.col_offset))
            end = (
                last.end_lineno or last.lineno,
                _column(
                    lines, last.end_lineno or last.lineno, last.end_col_offset or 0
                ),
            )
            if start <= (line, column) <= end:
                return statement.name
    return None


def _deferred_spans(
    node: ast.AST,
) -> Iterator[tuple[ast.stmt | ast.expr, ast.stmt | ast.expr]]:
    """First and last node of each function or lambda body inside ``node``."""
    for child in ast.walk(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield child.body[0], child.body[-1]
        elif isinstance(child, ast.Lambda):
            yield child.body, child.body


def _column(lines: list[str], line: int, offset: int) -> int:
    """The 1-based character column of ``ast``'s UTF-8 byte ``offset``."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1


def _program(cells: Sequence[CellAnalysis]) -> list[_TopLevel]:
    """Every top-level statement of the notebook, in order, from Python's parser."""
    program: list[_TopLevel] = []
    for cell in cells:
        try:
            tree = ast.parse(mask(cell.cell.source).source)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        for statement in tree.body:
            reads = _Reads()
            reads.visit(statement)
            program.append(
                _TopLevel(
                    cell.cell.cell.number,
                    frozenset(reads.binds),
                    frozenset(reads.now),
                    frozenset(reads.later),
                )
            )
    return program


class _Reads(ast.NodeVisitor):
    """Names a statement binds at the top, reads as it runs, and reads when called."""

    def __init__(self) -> None:
        self.binds: set[str] = set()
        self.now: set[str] = set()
        self.later: set[str] = set()
        self.depth = 0  # inside this many function or lambda bodies

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            (self.later if self.depth else self.now).add(node.id)
        elif not self.depth:
            self.binds.add(node.id)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not self.depth:
            self.binds.add(node.name)
        for expression in [*node.decorator_list, *node.args.defaults]:
            self.visit(expression)
        for default in node.args.kw_defaults:
            if default is not None:
                self.visit(default)
        self.depth += 1
        for statement in node.body:
            self.visit(statement)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not self.depth:
            self.binds.add(node.name)
        self.generic_visit(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self.depth += 1
        self.visit(node.body)
        self.depth -= 1


def _early_call(
    program: list[_TopLevel], function: str, reader: int, owner: int
) -> tuple[int, str] | None:
    """The first cell before ``owner`` that calls ``function``, directly or not.

    A function whose body calls a watched function is watched too.
    """
    watched = {function}
    earlier = [s for s in program if s.cell < owner]
    grew = True
    while grew:
        grew = False
        for statement in earlier:
            if statement.later & watched and not statement.binds <= watched:
                watched |= statement.binds
                grew = True
    for statement in earlier:
        called = statement.now & watched
        if statement.cell >= reader and called:
            return statement.cell, sorted(called)[0]
    return None


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
