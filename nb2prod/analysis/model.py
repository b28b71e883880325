"""What the analysis of a cell finds: its statements, their bindings and reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # libcst takes a fifth of a second to import: `check` needs none
    import libcst as cst

from nb2prod.errors import Diagnostic
from nb2prod.notebook.tags import RoledCell


class Kind(Enum):
    """What a top-level statement is."""

    IMPORT = "import"
    FUNCTION = "function"
    CLASS = "class"
    ASSIGNMENT = "assignment"
    COMPOUND = "compound"
    OTHER = "other"


@dataclass(frozen=True)
class NameUse:
    """A read of a global name."""

    #: The name read.
    name: str
    #: 1-based line in the cell.
    line: int
    #: 1-based column.
    column: int
    #: The libcst node that reads it (a Name), for rewriting.
    node: cst.CSTNode | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ImportBinding:
    """One name bound by an import statement."""

    #: The name the import binds in the notebook's namespace.
    name: str
    #: ``from MODULE import ...``; None for ``import a.b``.
    module: str | None
    #: What is imported: ``a.b`` in ``import a.b``, ``x`` in ``from m import x``.
    imported: str
    #: The ``as`` name, if any.
    alias: str | None
    #: The number of leading dots of a relative import.
    level: int
    #: 1-based line in the cell.
    line: int

    @property
    def top_module(self) -> str:
        """The top-level module this import needs installed."""
        return (self.module or self.imported).split(".")[0]


@dataclass(frozen=True)
class Statement:
    """A top-level statement of a cell."""

    #: What it is.
    kind: Kind
    #: Global names it binds, in order.
    binds: tuple[str, ...]
    #: Global names it reads (not its own locals, parameters or builtins).
    uses: tuple[NameUse, ...]
    #: For an import statement, each name it binds.
    imports: tuple[ImportBinding, ...]
    #: Top-level modules imported anywhere inside it (function-local imports too).
    modules: tuple[str, ...]
    #: 1-based first and last line in the cell.
    first_line: int
    last_line: int
    #: The docstring of a function or class.
    docstring: str | None
    #: The libcst node; None for cells analysed with ``ast`` only.
    node: cst.BaseStatement | None = field(default=None, compare=False, repr=False)
    #: Its source text, comments above it included.
    code: str = ""
    #: Comments at the top of the cell, before its first statement.
    header: str = ""
    #: For a function, True when every parameter and the return are annotated.
    annotated: bool = True


@dataclass(frozen=True)
class CellAnalysis:
    """The statements of one code cell."""

    #: The cell and its role.
    cell: RoledCell
    #: Its top-level statements, in order (empty when it does not parse).
    statements: tuple[Statement, ...]
    #: Syntax errors and IPython syntax in cells that ship.
    diagnostics: tuple[Diagnostic, ...]
    #: The cell magic dropped from line 1, if any.
    cell_magic: str | None
    #: True when the source parsed.
    parsed: bool
    #: The source libcst parsed (IPython syntax masked); '' for shallow analyses.
    source: str = ""
