"""Decide the package: its modules, what each imports, its API, artifacts and tests.

Pure decisions over the cell analyses; nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Iterable

from nb2prod.analysis.cells import CellAnalysis, Kind
from nb2prod.errors import ConversionError, Diagnostic, Location, Severity, error
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.vocabulary import Role, Vocabulary
from nb2prod.plan.hidden_state import later_definitions, out_of_order
from nb2prod.plan.model import (
    MODULE_OF_ROLE,
    MODULE_ORDER,
    Block,
    ConfigConstant,
    ModulePlan,
    PackagePlan,
    PublicFunction,
    TestPlan,
)
from nb2prod.plan.resolver import Resolver, markdown_above
from nb2prod.plan.symbols import SymbolTable, build_symbols

__all__ = [
    "MODULE_OF_ROLE",
    "Block",
    "ConfigConstant",
    "ModulePlan",
    "PackagePlan",
    "PublicFunction",
    "TestPlan",
    "make_plan",
    "markdown_above",
]


def make_plan(
    notebook: Notebook,
    cells: list[CellAnalysis],
    package: str,
    vocabulary: Vocabulary,
    earlier: Iterable[Diagnostic] = (),
) -> PackagePlan:
    """Plan the package, or raise :class:`ConversionError` listing every problem."""
    symbols = build_symbols(notebook, cells)
    problems = [*earlier, *(d for cell in cells for d in cell.diagnostics)]
    problems += symbols.diagnostics
    resolver = Resolver(notebook, cells, symbols, vocabulary)
    modules = [resolver.module(name, role) for role, name in MODULE_OF_ROLE.items()]
    modules = [m for m in modules if m.blocks]
    public, predict = _public_functions(notebook, cells, symbols, problems)
    tests = [
        resolver.test(cell, package) for cell in cells if cell.cell.role is Role.TEST
    ]
    problems += resolver.problems + _cycles(notebook, modules, symbols)
    problems += later_definitions(notebook, cells) + out_of_order(notebook, cells)
    if any(d.severity is Severity.ERROR for d in problems):
        raise ConversionError(problems)
    config = tuple(
        ConfigConstant(d.name, d.literal or "None", d.cell) for d in symbols.config
    )
    return PackagePlan(
        notebook=notebook,
        package=package,
        modules=tuple(modules),
        public=(*public, *([predict] if predict else [])),
        predict=predict,
        config=config,
        artifacts=tuple(sorted(resolver.artifacts.items())),
        tests=tuple(tests),
        runtime_modules=tuple(sorted(resolver.runtime_modules)),
        test_modules=tuple(sorted(resolver.test_modules - resolver.runtime_modules)),
        diagnostics=tuple(problems),
    )


def _public_functions(
    notebook: Notebook,
    cells: list[CellAnalysis],
    symbols: SymbolTable,
    problems: list[Diagnostic],
) -> tuple[list[PublicFunction], PublicFunction | None]:
    features: list[PublicFunction] = []
    predicts: list[PublicFunction] = []
    candidates = [
        (cell, statement)
        for cell, statement in symbols.statements
        if statement.kind is Kind.FUNCTION
        and cell.cell.role in (Role.FEATURE, Role.PREDICT)
        and not statement.binds[0].startswith("_")
    ]
    for cell, statement in candidates:
        role = cell.cell.role
        assert role is not None
        name = statement.binds[0]
        # The markdown above a cell describes the function only when it is alone there.
        alone = sum(1 for other, _ in candidates if other is cell) == 1
        markdown = markdown_above(notebook, cell) if alone else ""
        summary = _summary(statement.docstring or markdown)
        function = PublicFunction(name, MODULE_OF_ROLE[role], role, cell, summary)
        (features if role is Role.FEATURE else predicts).append(function)
    predict_cells = [c for c in cells if c.cell.role is Role.PREDICT and c.parsed]
    if predict_cells and len(predicts) != 1:
        problems.append(_predict_problem(notebook, predict_cells, predicts))
        return features, None
    return features, (predicts[0] if predicts else None)


def _predict_problem(
    notebook: Notebook, cells: list[CellAnalysis], predicts: list[PublicFunction]
) -> Diagnostic:
    if not predicts:
        cell = cells[0].cell.cell
        return error(
            "the predict cell defines no public function",
            Location(notebook.path, cell.number, cell.id),
            "define the prediction entrypoint, e.g. `def predict(df): ...`",
        )
    second = predicts[1]
    statement = next(s for s in second.cell.statements if s.binds[:1] == (second.name,))
    cell = second.cell.cell.cell
    names = ", ".join(f"'{p.name}' (cell {p.cell.cell.cell.number})" for p in predicts)
    return error(
        f"predict cells must define exactly one public function; found {names}",
        Location(notebook.path, cell.number, cell.id, statement.first_line),
        "make helpers private with a leading underscore, or move them to an nb2prod:export cell",
    )


def _summary(text: str) -> str:
    paragraph = text.strip().split("\n\n")[0]
    lines = [line.strip().lstrip("#").strip() for line in paragraph.splitlines()]
    return " ".join(line for line in lines if line)


def _cycles(
    notebook: Notebook, modules: list[ModulePlan], symbols: SymbolTable
) -> list[Diagnostic]:
    """A module may only import from modules before it in MODULE_ORDER."""
    problems: list[Diagnostic] = []
    for module in modules:
        for owner, name in module.internal:
            if MODULE_ORDER.index(owner) < MODULE_ORDER.index(module.name):
                continue
            definition = symbols.definitions[name]
            user = next(
                (cell, statement)
                for block in module.blocks
                for statement in block.statements
                for cell in [block.cell]
                if any(use.name == name for use in statement.uses)
            )
            here = user[0].cell.cell
            use = next(u for u in user[1].uses if u.name == name)
            problems.append(
                error(
                    f"'{name}' is defined in a {definition.cell.cell.role.value if definition.cell.cell.role else ''} "
                    f"cell ({definition.cell.cell.cell.number}) but used by {module.name} code; "
                    "shared code may not depend on feature or predict code",
                    Location(notebook.path, here.number, here.id, use.line, use.column),
                    f"move '{name}' into an nb2prod:export cell",
                )
            )
    return problems
