"""Resolve each name shipped code reads to where the package gets it.

A name comes from a shipped statement (same module, or imported from a sibling),
an import, an artifact, the config, or, for test cells, the notebook's data saved
as a fixture; anything else is an error naming the cell, line and column.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nb2prod.analysis.cells import CellAnalysis, ImportBinding, Kind, NameUse, Statement
from nb2prod.errors import Diagnostic, Location, error
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.vocabulary import Role, Vocabulary
from nb2prod.plan.closure import Closure, key
from nb2prod.plan.model import MODULE_OF_ROLE, Block, LocalModule, ModulePlan, TestPlan
from nb2prod.plan.naming import test_name
from nb2prod.plan.symbols import Definition, Source, SymbolTable


def markdown_above(notebook: Notebook, cell: CellAnalysis) -> str:
    """The markdown cells directly above a code cell, joined."""
    texts: list[str] = []
    for other in reversed(notebook.cells[: cell.cell.cell.number - 1]):
        if other.kind != "markdown":
            break
        texts.insert(0, other.source.strip())
    return "\n\n".join(t for t in texts if t)


@dataclass
class _Needs:
    """What one package module or test reads from outside itself."""

    #: Where third-party imports are counted (runtime or test modules).
    modules: set[str]
    #: The package name when this is a test (its imports of local modules go
    #: through the package); None for a package module.
    package: str | None = None
    #: Import statements it needs, by (module, imported, alias).
    imports: dict[tuple[str | None, str, str | None], ImportBinding] = field(
        default_factory=dict
    )
    #: Imports of modules beside the notebook, which ship with the package.
    local: dict[tuple[str | None, str, str | None], ImportBinding] = field(
        default_factory=dict
    )
    #: Names it imports from the package's own modules: (module, name).
    internal: set[tuple[str, str]] = field(default_factory=set)
    #: Reads of artifact names, rewritten to load them.
    artifact_uses: list[NameUse] = field(default_factory=list)


class Resolver:
    """Resolves each name shipped code reads to where the package gets it."""

    def __init__(
        self,
        notebook: Notebook,
        cells: list[CellAnalysis],
        symbols: SymbolTable,
        vocabulary: Vocabulary,
        closure: Closure,
        local: Mapping[str, LocalModule] | None = None,
    ) -> None:
        self.notebook = notebook
        self.cells = cells
        self.symbols = symbols
        self.vocabulary = vocabulary
        self.closure = closure
        self.local = dict(local or {})
        #: Modules beside the notebook that shipped code or tests import.
        self.local_used: set[str] = set()
        self.problems: list[Diagnostic] = []
        self.artifacts: dict[str, CellAnalysis] = {}
        self.runtime_modules: set[str] = set()
        self.test_modules: set[str] = set()
        self._reported: set[tuple[int, str]] = set()

    def module(self, name: str, role: Role) -> ModulePlan:
        blocks: list[Block] = []
        needs = _Needs(self.runtime_modules)
        shipped = [
            (cell, statement)
            for cell, statement in self.symbols.statements
            if self.closure.ships(cell, statement)
        ]
        for cell, statements in _group_by_cell(shipped, role):
            learned = tuple(v for v in self.closure.learned if v.cell is cell)
            values = {key(v.cell, v.statement) for v in learned}
            markdown = markdown_above(self.notebook, cell)
            blocks.append(Block(cell, markdown, statements, learned))
            for statement in statements:
                if key(cell, statement) in values:
                    continue  # its value ships, not its code
                self.runtime_modules.update(statement.modules)
                for use in statement.uses:
                    found = self._lookup(cell, use)
                    if found is not None:
                        self._take(found, use, needs, name)
        return ModulePlan(
            name=name,
            imports=tuple(needs.imports.values()),
            internal=tuple(sorted(needs.internal)),
            blocks=tuple(blocks),
            artifact_uses=tuple(needs.artifact_uses),
            local_imports=tuple(needs.local.values()),
        )

    def test(self, cell: CellAnalysis, package: str) -> TestPlan:
        own_imports = {b.name: b for s in cell.statements for b in s.imports}
        local: set[str] = set()
        needs = _Needs(self.test_modules, package)
        fixtures: list[str] = []
        statements = [s for s in cell.statements if s.kind is not Kind.IMPORT]
        for statement in cell.statements:
            self.test_modules.update(statement.modules)
            if statement.kind is Kind.COMPOUND:
                local.update(statement.binds)  # loop and with targets
            for use in statement.uses:
                if use.name in local or use.name in fixtures:
                    continue
                if use.name in own_imports:
                    binding = self._for_tests(own_imports[use.name], package)
                    needs.imports[_import_key(binding)] = binding
                    continue
                found = self.symbols.definitions.get(use.name)
                if (
                    found is not None
                    and found.source is Source.CODE
                    and not self.closure.ships(found.cell, found.statement)
                ):
                    found = None  # it stays in the notebook: its value is test data
                if found is None or found.cell.cell.cell.number > cell.cell.cell.number:
                    if self._assigned_before(cell, use.name):
                        fixtures.append(use.name)
                    else:
                        self._undefined(cell, use)
                    continue
                self._take(found, use, needs, None)
            if statement.kind is not Kind.IMPORT:
                local.update(statement.binds)
        return TestPlan(
            name=test_name(cell.cell.cell.number, cell.cell.cell.id),
            cell=cell,
            markdown=markdown_above(self.notebook, cell),
            imports=tuple(needs.imports.values()),
            package_imports=tuple(sorted(needs.internal)),
            fixtures=tuple(fixtures),
            statements=tuple(statements),
            artifact_uses=tuple(needs.artifact_uses),
        )

    def _take(
        self, found: Definition, use: NameUse, needs: _Needs, module: str | None
    ) -> None:
        """Record where ``module`` (None for a test) gets ``use`` from."""
        if found.source is Source.IMPORT and found.binding is not None:
            binding = found.binding
            if needs.package is not None:
                # A test imports a local module from the package.
                binding = self._for_tests(binding, needs.package)
            elif self._is_local(binding):
                needs.local[_import_key(binding)] = binding
                return
            needs.imports[_import_key(binding)] = binding
            needs.modules.add(binding.top_module)
        elif found.source is Source.ARTIFACT:
            self.artifacts[use.name] = found.cell
            needs.artifact_uses.append(use)
        elif found.source is Source.CONFIG:
            needs.internal.add(("config", use.name))
        elif found.cell.cell.role is not None:
            owner = MODULE_OF_ROLE[found.cell.cell.role]
            if owner != module:
                needs.internal.add((owner, use.name))

    def _is_local(self, binding: ImportBinding) -> bool:
        if binding.level or binding.top_module not in self.local:
            return False
        self.local_used.add(binding.top_module)
        return True

    def _for_tests(self, binding: ImportBinding, package: str) -> ImportBinding:
        """A test's import of a module beside the notebook, from the package instead."""
        if not self._is_local(binding):
            return binding
        if binding.module is not None:
            return dataclasses.replace(binding, module=f"{package}.{binding.module}")
        return dataclasses.replace(binding, module=package)

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
                    f"or {artifact} if '{name}' is a trained object; or assign what "
                    "you need from it in a shipped cell: a learned value"
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
