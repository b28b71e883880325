"""The package plan: the values the planner decides and the renderer reads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from nb2prod.analysis.model import CellAnalysis, ImportBinding, NameUse, Statement
from nb2prod.errors import Diagnostic
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.vocabulary import Role

#: The module each shipping role writes into, in import order (a module may only
#: import from modules before it).
MODULE_OF_ROLE = {
    Role.EXPORT: "common",
    Role.FEATURE: "features",
    Role.PREDICT: "predict",
}
MODULE_ORDER = ("config", "artifacts", "common", "features", "predict")


class Fate(Enum):
    """What becomes of one top-level statement of a cell that ships code."""

    SHIPS = "ships"  # its code ships: shipped code needs what it binds
    LEARNED = "learned"  # its value ships, computed by the run: it reads notebook data
    NOTEBOOK = "notebook"  # it stays in the notebook: shipped code does not need it
    IMPORT = "import"  # an import: it ships where shipped code uses what it binds


@dataclass(frozen=True)
class LearnedValue:
    """An assignment whose value the run computes from the notebook's data.

    Its expression reads names no shipped cell defines (a training frame), so the
    package ships the value the notebook computed, not the expression.
    """

    #: The names it binds that shipped code reads, in the order it binds them.
    names: tuple[str, ...]
    #: The cell that assigns them.
    cell: CellAnalysis
    #: The assignment.
    statement: Statement
    #: The names it reads that no shipped cell defines.
    inputs: tuple[str, ...]

    @property
    def line(self) -> int:
        """Its first line in the cell."""
        return self.statement.first_line

    @property
    def expression(self) -> str:
        """The statement as the notebook writes it, on one line."""
        lines = self.cell.cell.source.split("\n")
        text = "\n".join(
            lines[self.statement.first_line - 1 : self.statement.last_line]
        )
        return " ".join(text.split())


@dataclass(frozen=True)
class StatementFate:
    """One statement of a cell that ships code, and what becomes of it."""

    #: The cell's number.
    cell: int
    #: The statement's first line in the cell.
    line: int
    #: The names it binds.
    names: tuple[str, ...]
    #: What becomes of it.
    fate: Fate


@dataclass(frozen=True)
class LocalModule:
    """A Python module beside the notebook (or on a folder it adds to ``sys.path``)
    that shipped code imports: it is copied into the package."""

    #: Its import name (``helpers``).
    name: str
    #: The file.
    path: Path
    #: Its source.
    text: str
    #: Top-level modules it imports itself.
    imports: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """The code one cell contributes to one module."""

    #: The cell it comes from.
    cell: CellAnalysis
    #: Markdown directly above the cell, or ''.
    markdown: str
    #: Its shipped statements, in order (imports are hoisted to the module's top).
    statements: tuple[Statement, ...]
    #: The statements among them whose value ships instead of their code.
    learned: tuple[LearnedValue, ...] = ()


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
    #: Imports of modules copied into the package, written relative (``from .helpers``).
    local_imports: tuple[ImportBinding, ...] = ()


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
    #: Values the run computes from the notebook's data, in notebook order.
    learned: tuple[LearnedValue, ...] = ()
    #: What becomes of each statement of the cells that ship code.
    fates: tuple[StatementFate, ...] = ()
    #: Modules beside the notebook that ship with the package.
    local_modules: tuple[LocalModule, ...] = ()
