"""The notebook's global names: which cell defines each one, last definition winning."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import Enum

from nb2prod.analysis.cells import CellAnalysis, ImportBinding, Kind, Statement
from nb2prod.errors import Diagnostic, Location, error, warning
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.vocabulary import Role


class Source(Enum):
    """Where the package gets a name's value."""

    CODE = "code"  # a statement of an export, feature or predict cell
    IMPORT = "import"  # an import in such a cell
    ARTIFACT = "artifact"  # saved from the executed notebook
    CONFIG = "config"  # a literal of the parameters cell


@dataclass(frozen=True)
class Definition:
    """The winning definition of one global name."""

    #: The name.
    name: str
    #: Where its value comes from.
    source: Source
    #: The cell that defines it.
    cell: CellAnalysis
    #: The statement that binds it (None for artifacts and config).
    statement: Statement | None
    #: For imports, the binding.
    binding: ImportBinding | None = None
    #: For config, the literal's source text.
    literal: str | None = None


@dataclass(frozen=True)
class SymbolTable:
    """Every name shipped code may use, and the statements that ship."""

    #: Winning definitions by name.
    definitions: dict[str, Definition]
    #: Statements of code cells that ship, in notebook order (imports excluded).
    statements: tuple[tuple[CellAnalysis, Statement], ...]
    #: Config constants (name, literal text, cell) in the parameters cell's order.
    config: tuple[Definition, ...]
    #: Bad imports.
    diagnostics: tuple[Diagnostic, ...]
    #: Shadowing warnings, with the name each is about (kept when that name ships).
    shadows: tuple[tuple[str, Diagnostic], ...] = ()


def build_symbols(notebook: Notebook, cells: list[CellAnalysis]) -> SymbolTable:
    """Walk the cells top to bottom, recording who defines what."""
    table: dict[str, Definition] = {}
    problems: list[Diagnostic] = []
    shadows: list[tuple[str, Diagnostic]] = []
    config: dict[str, Definition] = {}
    for cell in cells:
        role = cell.cell.role
        if role is not None and role.ships_code:
            problems += _add_code_cell(notebook, cell, table, shadows)
        elif role is Role.ARTIFACT:
            for statement in cell.statements:
                for name in statement.binds:
                    table[name] = Definition(name, Source.ARTIFACT, cell, None)
        elif role is Role.PARAMETERS:
            for name, literal in _literals(cell):
                definition = Definition(
                    name, Source.CONFIG, cell, None, literal=literal
                )
                table[name] = config[name] = definition
    kept = tuple(
        (d.cell, d.statement)
        for d in _unique_statements(table)
        if d.statement is not None and d.source is Source.CODE
    )
    return SymbolTable(
        table, kept, tuple(config.values()), tuple(problems), tuple(shadows)
    )


def _add_code_cell(
    notebook: Notebook,
    cell: CellAnalysis,
    table: dict[str, Definition],
    shadows: list[tuple[str, Diagnostic]],
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    for statement in cell.statements:
        if statement.kind is Kind.OTHER:
            continue  # binds nothing: it stays in the notebook (see closure.py)
        for binding in statement.imports:
            problem = _bad_import(notebook, cell, binding)
            if problem:
                problems.append(problem)
                continue
            new = Definition(binding.name, Source.IMPORT, cell, statement, binding)
            shadows += [
                (binding.name, d)
                for d in _shadow(notebook, table.get(binding.name), new)
            ]
            table[binding.name] = new
        if statement.kind is not Kind.IMPORT:
            for name in statement.binds:
                new = Definition(name, Source.CODE, cell, statement)
                shadows += [(name, d) for d in _shadow(notebook, table.get(name), new)]
                table[name] = new
    return problems


def _unique_statements(table: dict[str, Definition]) -> list[Definition]:
    """One definition per winning statement, in notebook order."""
    seen: dict[int, Definition] = {}
    for definition in table.values():
        if definition.statement is not None:
            seen.setdefault(id(definition.statement), definition)
    return sorted(
        seen.values(),
        key=lambda d: (
            d.cell.cell.cell.number,
            d.statement.first_line if d.statement else 0,
        ),
    )


def _shadow(
    notebook: Notebook, old: Definition | None, new: Definition
) -> list[Diagnostic]:
    if old is None or old.source not in (Source.CODE, Source.IMPORT):
        return []
    if old.binding is not None and new.binding is not None:
        same = (old.binding.module, old.binding.imported) == (
            new.binding.module,
            new.binding.imported,
        )
        if same:
            return []  # the same import repeated in several cells
    if old.cell is new.cell and old.statement is new.statement:
        return []
    old_cell = old.cell.cell.cell
    line = new.statement.first_line if new.statement else None
    new_cell = new.cell.cell.cell
    return [
        warning(
            f"'{new.name}' is defined again here; the definition in cell "
            f"{old_cell.number} (line {old.statement.first_line if old.statement else '?'}) "
            "is shadowed and not shipped",
            Location(notebook.path, new_cell.number, new_cell.id, line),
        )
    ]


def _bad_import(
    notebook: Notebook, cell: CellAnalysis, binding: ImportBinding
) -> Diagnostic | None:
    here = cell.cell.cell
    source_line = cell.cell.source.split("\n")[binding.line - 1]
    location = Location(
        notebook.path,
        here.number,
        here.id,
        binding.line,
        1,
        source_line,
        len(source_line),
    )
    if binding.name == "*":
        return error(
            f"'from {binding.module} import *' hides which names the package needs",
            location,
            "import the names you use explicitly",
        )
    if binding.level:
        return error(
            "a relative import cannot ship: the notebook is not inside a package",
            location,
            "import from the installed package by its absolute name",
        )
    return None


def is_docstring(statement: Statement) -> bool:
    try:
        tree = ast.parse(statement.code.strip())
    except SyntaxError:
        return False
    body = tree.body
    return (
        len(body) == 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )


def _literals(cell: CellAnalysis) -> list[tuple[str, str]]:
    """The ``NAME = literal`` assignments of a parameters cell."""
    found: list[tuple[str, str]] = []
    try:
        tree = ast.parse(cell.cell.source)
    except SyntaxError:
        return found
    for node in tree.body:
        target, value = _simple_assignment(node)
        if target is None or value is None:
            continue
        try:
            ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        found.append((target, ast.unparse(value)))
    return found


def _simple_assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return target.id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None
