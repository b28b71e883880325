"""Decide the package: its modules, what each imports, its API, artifacts and tests.

Pure decisions over the cell analyses; nothing here reads or writes files.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping

from nb2prod.analysis.cells import CellAnalysis, Kind
from nb2prod.errors import ConversionError, Diagnostic, Location, Severity, error
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.vocabulary import Role, Vocabulary
from nb2prod.plan.closure import Closure, closure
from nb2prod.plan.hidden_state import later_definitions, out_of_order
from nb2prod.plan.model import (
    MODULE_OF_ROLE,
    MODULE_ORDER,
    Block,
    ConfigConstant,
    LocalModule,
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
    local: Mapping[str, LocalModule] | None = None,
) -> PackagePlan:
    """Plan the package, or raise :class:`ConversionError` listing every problem.

    ``local`` holds the modules beside the notebook that its cells import (found
    by :func:`nb2prod.plan.local_modules.find_local_modules`, which reads them).
    """
    local = dict(local or {})
    symbols = build_symbols(notebook, cells)
    shipping = closure(notebook, cells, symbols)
    problems = [*earlier, *(d for cell in cells for d in cell.diagnostics)]
    problems += [*symbols.diagnostics, *shipping.diagnostics]
    problems += [
        d
        for name, d in symbols.shadows
        if name in shipping.reads or _ships(name, symbols, shipping)
    ]
    resolver = Resolver(notebook, cells, symbols, vocabulary, shipping, local)
    modules = [resolver.module(name, role) for role, name in MODULE_OF_ROLE.items()]
    modules = [m for m in modules if m.blocks]
    public, predict = _public_functions(notebook, cells, symbols, problems)
    tests = [
        resolver.test(cell, package) for cell in cells if cell.cell.role is Role.TEST
    ]
    names = [test.name for test in tests]
    tests = [  # ids differing only in - and _ give one name: their positions then
        (
            dataclasses.replace(test, name=f"test_cell_{test.cell.cell.cell.number}")
            if names.count(test.name) > 1
            else test
        )
        for test in tests
    ]
    problems += resolver.problems + _cycles(notebook, modules, symbols)
    problems += later_definitions(notebook, cells) + out_of_order(notebook, cells)
    shipped_local = _local_closure(resolver.local_used, local)
    problems += _local_collisions(notebook, shipped_local)
    if any(d.severity is Severity.ERROR for d in problems):
        raise ConversionError(problems)
    own = set(local) | {n for m in shipped_local for n in m.imports if n in local}
    runtime = (resolver.runtime_modules - own) | {
        name for m in shipped_local for name in m.imports if name not in local
    }
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
        runtime_modules=tuple(sorted(runtime)),
        test_modules=tuple(sorted(resolver.test_modules - runtime - own)),
        diagnostics=tuple(problems),
        learned=shipping.learned,
        fates=shipping.fates,
        local_modules=tuple(shipped_local),
    )


def _ships(name: str, symbols: SymbolTable, shipping: Closure) -> bool:
    found = symbols.definitions.get(name)
    return found is not None and shipping.ships(found.cell, found.statement)


#: Modules every package has: a module beside the notebook may not take their names.
RESERVED = frozenset(
    {*MODULE_ORDER, "serve", "batch", "spark", "_provenance", "__init__", "__main__"}
)


def _local_closure(
    used: Iterable[str], local: Mapping[str, LocalModule]
) -> list[LocalModule]:
    """The local modules shipped code imports, and those they import in turn."""
    found: dict[str, LocalModule] = {}
    stack = sorted(used)
    while stack:
        name = stack.pop()
        if name in found or name not in local:
            continue
        found[name] = local[name]
        stack += [n for n in local[name].imports if n in local]
    return [found[name] for name in sorted(found)]


def _local_collisions(
    notebook: Notebook, modules: list[LocalModule]
) -> list[Diagnostic]:
    return [
        error(
            f"{module.path.name} beside the notebook would ship as the package's "
            f"module '{module.name}', which nb2prod writes itself",
            Location(notebook.path),
            f"rename {module.path.name} (and its imports)",
        )
        for module in modules
        if module.name in RESERVED
    ]


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
    # The markdown above a cell describes a function only when it is alone there.
    per_cell = Counter(id(cell) for cell, _ in candidates)
    for cell, statement in candidates:
        role = cell.cell.role
        assert role is not None
        name = statement.binds[0]
        alone = per_cell[id(cell)] == 1
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
