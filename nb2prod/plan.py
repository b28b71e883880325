"""Decide the package: its modules, what each imports, its API, artifacts and tests.

Pure decisions over the cell analyses; nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nb2prod.analysis import CellAnalysis, ImportBinding, Kind, NameUse, Statement
from nb2prod.errors import ConversionError, Diagnostic, Location, Severity, error
from nb2prod.hidden_state import later_definitions, out_of_order
from nb2prod.reading import Notebook
from nb2prod.symbols import Definition, Source, SymbolTable, build_symbols
from nb2prod.vocabulary import Role, Vocabulary

#: The module each shipping role writes into, in import order (a module may only
#: import from modules before it).
MODULE_OF_ROLE = {
    Role.EXPORT: "common",
    Role.FEATURE: "features",
    Role.PREDICT: "predict",
}
MODULE_ORDER = ("config", "artifacts", "common", "features", "predict")


@dataclass(frozen=True)
class Block:
    """The code one cell contributes to one module."""

    #: The cell it comes from.
    cell: CellAnalysis
    #: Markdown directly above the cell, or ''.
    markdown: str
    #: Its shipped statements, in order (imports are hoisted to the module's top).
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class ModulePlan:
    """One generated module of shipped code."""

    #: Module name inside the package (``features``).
    name: str
    #: Third-party and standard-library imports its code uses.
    imports: tuple[ImportBinding, ...]
    #: ``(module, name)`` pairs imported from sibling modules.
    internal: tuple[tuple[str, str], ...]
    #: The blocks, in notebook order.
    blocks: tuple[Block, ...]
    #: Reads of artifact names, rewritten to ``artifacts.<name>``.
    artifact_uses: tuple[NameUse, ...]


@dataclass(frozen=True)
class PublicFunction:
    """A function of the package's API."""

    #: Its name.
    name: str
    #: The module that defines it.
    module: str
    #: ``feature`` or ``predict``.
    role: Role
    #: The cell that defines it.
    cell: CellAnalysis
    #: First paragraph of its docstring, else of the markdown above its cell.
    summary: str


@dataclass(frozen=True)
class TestPlan:
    """A test cell turned into a pytest test."""

    #: The test function's name.
    name: str
    #: The cell.
    cell: CellAnalysis
    #: Markdown directly above the cell, or ''.
    markdown: str
    #: Third-party imports the test uses.
    imports: tuple[ImportBinding, ...]
    #: ``(module, name)`` pairs imported from the package (module '' = its top).
    package_imports: tuple[tuple[str, str], ...]
    #: Notebook data it reads, loaded from saved fixtures.
    fixtures: tuple[str, ...]
    #: Its statements (imports excluded).
    statements: tuple[Statement, ...]
    #: Reads of artifact names, rewritten to ``artifacts.<name>``.
    artifact_uses: tuple[NameUse, ...]


@dataclass(frozen=True)
class ConfigConstant:
    """A literal of the parameters cell."""

    #: Its name.
    name: str
    #: Its literal, as source text.
    literal: str
    #: The cell it comes from.
    cell: CellAnalysis


@dataclass(frozen=True)
class PackagePlan:
    """Everything the renderer needs to write the package."""

    #: The notebook.
    notebook: Notebook
    #: Import name of the package.
    package: str
    #: Modules of shipped code that have any code, in import order.
    modules: tuple[ModulePlan, ...]
    #: Feature functions then the predict function.
    public: tuple[PublicFunction, ...]
    #: The predict function, if the notebook has one.
    predict: PublicFunction | None
    #: Config constants.
    config: tuple[ConfigConstant, ...]
    #: Names of artifacts shipped code reads, with the artifact cell of each.
    artifacts: tuple[tuple[str, CellAnalysis], ...]
    #: Converted test cells.
    tests: tuple[TestPlan, ...]
    #: Top-level modules the shipped code imports (for dependencies).
    runtime_modules: tuple[str, ...]
    #: Top-level modules only the tests import.
    test_modules: tuple[str, ...]
    #: Warnings found while planning.
    diagnostics: tuple[Diagnostic, ...]


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
    resolver = _Resolver(notebook, cells, symbols, vocabulary)
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


def markdown_above(notebook: Notebook, cell: CellAnalysis) -> str:
    """The markdown cells directly above a code cell, joined."""
    texts: list[str] = []
    for other in reversed(notebook.cells[: cell.cell.cell.number - 1]):
        if other.kind != "markdown":
            break
        texts.insert(0, other.source.strip())
    return "\n\n".join(t for t in texts if t)


class _Resolver:
    """Resolves each name shipped code reads to where the package gets it."""

    def __init__(
        self,
        notebook: Notebook,
        cells: list[CellAnalysis],
        symbols: SymbolTable,
        vocabulary: Vocabulary,
    ) -> None:
        self.notebook = notebook
        self.cells = cells
        self.symbols = symbols
        self.vocabulary = vocabulary
        self.problems: list[Diagnostic] = []
        self.artifacts: dict[str, CellAnalysis] = {}
        self.runtime_modules: set[str] = set()
        self.test_modules: set[str] = set()
        self._reported: set[tuple[int, str]] = set()

    def module(self, name: str, role: Role) -> ModulePlan:
        blocks: list[Block] = []
        imports: dict[tuple[str | None, str, str | None], ImportBinding] = {}
        internal: set[tuple[str, str]] = set()
        artifact_uses: list[NameUse] = []
        for cell, statements in _group_by_cell(self.symbols.statements, role):
            blocks.append(Block(cell, markdown_above(self.notebook, cell), statements))
            for statement in statements:
                self.runtime_modules.update(statement.modules)
                for use in statement.uses:
                    found = self._lookup(cell, use)
                    if found is None:
                        continue
                    if found.source is Source.IMPORT and found.binding is not None:
                        imports[_import_key(found.binding)] = found.binding
                        self.runtime_modules.add(found.binding.top_module)
                    elif found.source is Source.ARTIFACT:
                        self.artifacts[use.name] = found.cell
                        artifact_uses.append(use)
                    elif found.source is Source.CONFIG:
                        internal.add(("config", use.name))
                    elif found.cell.cell.role is not None:
                        owner = MODULE_OF_ROLE[found.cell.cell.role]
                        if owner != name:
                            internal.add((owner, use.name))
        return ModulePlan(
            name=name,
            imports=tuple(imports.values()),
            internal=tuple(sorted(internal)),
            blocks=tuple(blocks),
            artifact_uses=tuple(artifact_uses),
        )

    def test(self, cell: CellAnalysis, package: str) -> TestPlan:
        own_imports = {b.name: b for s in cell.statements for b in s.imports}
        local: set[str] = set()
        imports: dict[tuple[str | None, str, str | None], ImportBinding] = {}
        package_imports: set[tuple[str, str]] = set()
        fixtures: list[str] = []
        artifact_uses: list[NameUse] = []
        statements = [s for s in cell.statements if s.kind is not Kind.IMPORT]
        for statement in cell.statements:
            self.test_modules.update(statement.modules)
            if statement.kind is Kind.COMPOUND:
                local.update(statement.binds)  # loop and with targets
            for use in statement.uses:
                if use.name in local or use.name in fixtures:
                    continue
                if use.name in own_imports:
                    imports[_import_key(own_imports[use.name])] = own_imports[use.name]
                    continue
                found = self.symbols.definitions.get(use.name)
                if found is None or found.cell.cell.cell.number > cell.cell.cell.number:
                    if self._assigned_before(cell, use.name):
                        fixtures.append(use.name)
                    else:
                        self._undefined(cell, use)
                    continue
                if found.source is Source.IMPORT and found.binding is not None:
                    imports[_import_key(found.binding)] = found.binding
                    self.test_modules.add(found.binding.top_module)
                elif found.source is Source.ARTIFACT:
                    self.artifacts[use.name] = found.cell
                    artifact_uses.append(use)
                elif found.source is Source.CONFIG:
                    package_imports.add(("config", use.name))
                elif found.cell.cell.role is not None:
                    package_imports.add(
                        (MODULE_OF_ROLE[found.cell.cell.role], use.name)
                    )
            if statement.kind is not Kind.IMPORT:
                local.update(statement.binds)
        return TestPlan(
            name=f"test_cell_{cell.cell.cell.number}",
            cell=cell,
            markdown=markdown_above(self.notebook, cell),
            imports=tuple(imports.values()),
            package_imports=tuple(sorted(package_imports)),
            fixtures=tuple(fixtures),
            statements=tuple(statements),
            artifact_uses=tuple(artifact_uses),
        )

    def _lookup(self, cell: CellAnalysis, use: NameUse) -> Definition | None:
        found = self.symbols.definitions.get(use.name)
        if found is None:
            self._undefined(cell, use)
        return found

    def _assigned_before(self, cell: CellAnalysis, name: str) -> bool:
        return any(
            name in statement.binds
            for other in self.cells
            if other.cell.cell.number < cell.cell.cell.number
            for statement in other.statements
        )

    def _undefined(self, cell: CellAnalysis, use: NameUse) -> None:
        key = (cell.cell.cell.number, use.name)
        if key in self._reported:
            return
        self._reported.add(key)
        here = cell.cell.cell
        source_line = cell.cell.source.split("\n")[use.line - 1]
        location = Location(
            self.notebook.path,
            here.number,
            here.id,
            use.line,
            use.column,
            source_line,
            len(use.name),
        )
        self.problems.append(
            error(
                f"name '{use.name}' is not defined by any shipped cell",
                location,
                self._hint(use.name),
            )
        )

    def _hint(self, name: str) -> str:
        for other in reversed(self.cells):
            if any(name in s.binds for s in other.statements):
                where = f"cell {other.cell.cell.number}"
                if other.cell.cell.id:
                    where += f" [id {other.cell.cell.id}]"
                role = other.cell.role
                if role is Role.SKIP:
                    return f"{where} assigns it but is tagged nb2prod:skip"
                if role is Role.TEST:
                    return (
                        f"{where} assigns it but is a test cell; tests are not shipped"
                    )
                export = self.vocabulary.by_role(Role.EXPORT).name
                artifact = self.vocabulary.by_role(Role.ARTIFACT).name
                return (
                    f"{where} assigns it: tag that cell {export} to ship its code, "
                    f"or {artifact} if '{name}' is a trained object"
                )
        return "define it in a tagged cell, or import it there"


def _group_by_cell(
    statements: Iterable[tuple[CellAnalysis, Statement]], role: Role
) -> list[tuple[CellAnalysis, tuple[Statement, ...]]]:
    groups: list[tuple[CellAnalysis, list[Statement]]] = []
    for cell, statement in statements:
        if cell.cell.role is not role:
            continue
        if groups and groups[-1][0] is cell:
            groups[-1][1].append(statement)
        else:
            groups.append((cell, [statement]))
    return [(cell, tuple(found)) for cell, found in groups]


def _import_key(binding: ImportBinding) -> tuple[str | None, str, str | None]:
    return (binding.module, binding.imported, binding.alias)


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
