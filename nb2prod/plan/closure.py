"""Which statements of the cells that ship code actually ship: the closure.

Every function and class of an export, feature or predict cell ships: they are the
package's API and its helpers. Any other statement ships only when shipped code
reads what it binds, transitively. So ``df = pd.read_csv(...)`` beside
``FEATURES = [...]`` stays in the notebook, and importing the package reads no data.

A needed assignment that reads names only untagged cells assign (``FEE_MEDIAN =
float(raw.fee.median())``) is a *learned value*: the run computes it and the
package ships that value, not the expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nb2prod.analysis.cells import CellAnalysis, Kind, Statement
from nb2prod.errors import Diagnostic, Location, warning
from nb2prod.notebook.read import Notebook
from nb2prod.plan.model import Fate, LearnedValue, StatementFate
from nb2prod.plan.symbols import Source, SymbolTable, is_docstring

_Key = tuple[int, int]


def key(cell: CellAnalysis, statement: Statement) -> _Key:
    """A statement's identity: its cell's number and its first line."""
    return (cell.cell.cell.number, statement.first_line)


@dataclass(frozen=True)
class Closure:
    """The statements that ship, and those whose value ships instead."""

    #: Statements whose code ships, by key.
    kept: frozenset[_Key]
    #: Statements whose value ships, in notebook order.
    learned: tuple[LearnedValue, ...]
    #: Names read by the code that ships (imports included).
    reads: frozenset[str]
    #: What becomes of each statement of the shipping cells.
    fates: tuple[StatementFate, ...]
    #: Bare statements that touch state shipped code reads.
    diagnostics: tuple[Diagnostic, ...]

    def ships(self, cell: CellAnalysis, statement: Statement | None) -> bool:
        """True when the statement's code or value ships."""
        if statement is None:
            return False
        return key(cell, statement) in self.kept or any(
            key(v.cell, v.statement) == key(cell, statement) for v in self.learned
        )


def closure(
    notebook: Notebook, cells: Sequence[CellAnalysis], symbols: SymbolTable
) -> Closure:
    """Follow the reads of shipped code from its functions and classes."""
    untagged = {
        name
        for cell in cells
        if cell.cell.role is None
        for statement in cell.statements
        for name in statement.binds
    }
    kept: dict[_Key, tuple[CellAnalysis, Statement]] = {}
    learned: dict[_Key, tuple[CellAnalysis, Statement, tuple[str, ...]]] = {}
    wanted: dict[_Key, list[str]] = {}
    stack = [
        (cell, statement)
        for cell, statement in symbols.statements
        if statement.kind in (Kind.FUNCTION, Kind.CLASS)
    ]
    reads: set[str] = set()
    while stack:
        cell, statement = stack.pop()
        here = key(cell, statement)
        if here in kept or here in learned:
            continue
        inputs = tuple(
            dict.fromkeys(
                use.name
                for use in statement.uses
                if use.name not in symbols.definitions and use.name in untagged
            )
        )
        if inputs and statement.kind not in (Kind.FUNCTION, Kind.CLASS):
            learned[here] = (cell, statement, inputs)
            continue
        kept[here] = (cell, statement)
        for use in statement.uses:
            reads.add(use.name)
            found = symbols.definitions.get(use.name)
            if found is None or found.source is not Source.CODE:
                continue
            assert found.statement is not None
            names = wanted.setdefault(key(found.cell, found.statement), [])
            if use.name not in names:
                names.append(use.name)
            stack.append((found.cell, found.statement))
    values = tuple(
        LearnedValue(
            tuple(n for n in statement.binds if n in wanted.get(k, [])),
            cell,
            statement,
            inputs,
        )
        for k, (cell, statement, inputs) in sorted(learned.items())
    )
    done = Closure(frozenset(kept), values, frozenset(reads), (), ())
    fates = tuple(_fates(cells, done))
    problems = tuple(_side_effects(notebook, cells, done, symbols))
    return Closure(done.kept, values, done.reads, fates, problems)


def _fates(cells: Sequence[CellAnalysis], done: Closure) -> list[StatementFate]:
    learned = {key(v.cell, v.statement) for v in done.learned}
    found = []
    for cell in cells:
        if cell.cell.role is None or not cell.cell.role.ships_code:
            continue
        for statement in cell.statements:
            here = key(cell, statement)
            if statement.kind is Kind.IMPORT:
                fate = Fate.IMPORT
            elif here in done.kept:
                fate = Fate.SHIPS
            elif here in learned:
                fate = Fate.LEARNED
            else:
                fate = Fate.NOTEBOOK
            found.append(StatementFate(here[0], here[1], statement.binds, fate))
    return found


def _side_effects(
    notebook: Notebook,
    cells: Sequence[CellAnalysis],
    done: Closure,
    symbols: SymbolTable,
) -> list[Diagnostic]:
    """A bare statement (a call, a mutation) reading what shipped code reads.

    It binds nothing, so it cannot ship; yet it may change what shipped code
    computes (``np.random.seed(0)``, ``LABELS.update(...)``). Bare statements that
    touch only notebook data (``df.head()``) stay in the notebook silently.
    """
    bound = {
        name
        for cell, statement in symbols.statements
        if key(cell, statement) in done.kept
        for name in statement.binds
    }
    touched = done.reads | bound
    problems = []
    for cell in cells:
        if cell.cell.role is None or not cell.cell.role.ships_code:
            continue
        for statement in cell.statements:
            if statement.kind is not Kind.OTHER or is_docstring(statement):
                continue
            names = [u.name for u in statement.uses if u.name in touched]
            if not names:
                continue
            here = cell.cell.cell
            first = cell.cell.source.split("\n")[statement.first_line - 1]
            problems.append(
                warning(
                    "this statement defines nothing, so it is not shipped, but it "
                    f"reads '{names[0]}', which shipped code uses: the package does "
                    "not do what it does (a seed, a setting, a change to a value)",
                    Location(
                        notebook.path,
                        here.number,
                        here.id,
                        statement.first_line,
                        None,
                        first,
                    ),
                    "if shipped code needs it, do it inside the function that needs "
                    "it; else move it to an untagged cell",
                )
            )
    return problems
