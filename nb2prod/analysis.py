"""Analyse the code cells with libcst: what each top-level statement binds and reads.

Cells that ship code (export, feature, predict) and test cells get the full scope
analysis; the others only need the names they assign, which Python's own ``ast``
finds far faster.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Access,
    CodeRange,
    GlobalScope,
    MetadataWrapper,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from nb2prod.errors import Diagnostic, Location, error, warning
from nb2prod.magics import HARMLESS_CELL_MAGICS, mask
from nb2prod.reading import Notebook
from nb2prod.tagging import RoledCell
from nb2prod.vocabulary import Role

#: Names that only exist inside IPython; shipped code must not call them.
IPYTHON_ONLY = frozenset({"get_ipython", "display"})


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


def analyse(notebook: Notebook, cell: RoledCell) -> CellAnalysis:
    """Analyse one code cell: deeply if it ships code or is a test, else cheaply."""
    deep = cell.role is not None and (cell.role.ships_code or cell.role is Role.TEST)
    masked = mask(cell.source)
    problems: list[Diagnostic] = []
    here = _locator(notebook, cell)
    if deep:
        problems += _ipython_problems(
            cell, masked.cell_magic, masked.ipython_lines, here
        )
    if problems:
        return CellAnalysis(cell, (), tuple(problems), masked.cell_magic, parsed=False)
    if not deep:
        statements = _shallow(masked.source)
        return CellAnalysis(
            cell, statements or (), (), masked.cell_magic, parsed=statements is not None
        )
    refused = _refuse_before_libcst(masked.source, here)
    if refused is not None:
        return CellAnalysis(cell, (), (refused,), masked.cell_magic, parsed=False)
    try:
        module = cst.parse_module(masked.source)
        statements, found = _deep(module, here)
    except cst.ParserSyntaxError as exc:
        problems.append(_syntax_error(masked.source, exc, here))
        return CellAnalysis(cell, (), tuple(problems), masked.cell_magic, parsed=False)
    except RecursionError:
        problems.append(error(_TOO_DEEP, here()))
        return CellAnalysis(cell, (), tuple(problems), masked.cell_magic, parsed=False)
    if masked.cell_magic is not None:
        found.insert(0, _dropped_magic(masked.cell_magic, here))
    return CellAnalysis(
        cell,
        statements,
        tuple(found),
        masked.cell_magic,
        parsed=True,
        source=masked.source,
    )


#: Deeper nesting than this is refused: libcst's parser can overflow the C stack on it.
MAX_DEPTH = 500
_TOO_DEEP = (
    f"the code nests deeper than {MAX_DEPTH} levels; nb2prod refuses to analyse it"
)


def _refuse_before_libcst(source: str, here: _Here) -> Diagnostic | None:
    """Python's own parser first: its errors read better, and it guards depth."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        column = exc.offset if exc.offset and exc.offset > 0 else None
        return error(f"syntax error: {exc.msg}", here(exc.lineno, column))
    except (MemoryError, RecursionError, ValueError) as exc:
        detail = (
            _TOO_DEEP if not isinstance(exc, ValueError) else f"cannot parse: {exc}"
        )
        return error(detail, here())
    depth, line = _depth(tree)
    if depth > MAX_DEPTH:
        return error(_TOO_DEEP, here(line))
    return None


def _depth(tree: ast.AST) -> tuple[int, int | None]:
    """The deepest nesting of the syntax tree, and a line where it is reached."""
    deepest, where = 0, None
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest, where = depth, getattr(node, "lineno", where)
            if deepest > MAX_DEPTH:
                break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, where


def _dropped_magic(name: str, here: _Here) -> Diagnostic:
    return warning(
        f"cell magic %%{name} only measures or silences the cell; it is dropped",
        here(1, 1, len(name) + 2),
    )


def _syntax_error(source: str, exc: cst.ParserSyntaxError, here: _Here) -> Diagnostic:
    """Python's own wording and position where it has one (users know it); else libcst's."""
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
    except SyntaxError as python:
        if python.lineno is not None:
            column = python.offset if python.offset and python.offset > 0 else None
            return error(f"syntax error: {python.msg}", here(python.lineno, column))
    except (ValueError, OverflowError, RecursionError, MemoryError):
        pass
    return error(f"syntax error: {exc.message}", here(exc.raw_line, exc.raw_column + 1))


class _Here:
    """Builds locations inside one cell."""

    def __init__(self, notebook: Notebook, cell: RoledCell) -> None:
        self.notebook = notebook
        self.cell = cell
        self.lines = cell.source.split("\n")

    def __call__(
        self, line: int | None = None, column: int | None = None, width: int = 1
    ) -> Location:
        text = self.lines[line - 1] if line and 0 < line <= len(self.lines) else None
        return Location(
            self.notebook.path,
            self.cell.cell.number,
            self.cell.cell.id,
            line,
            column,
            text,
            width,
        )


def _locator(notebook: Notebook, cell: RoledCell) -> _Here:
    return _Here(notebook, cell)


def _ipython_problems(
    cell: RoledCell, cell_magic: str | None, lines: tuple[object, ...], here: _Here
) -> list[Diagnostic]:
    from nb2prod.magics import IPythonLine

    problems: list[Diagnostic] = []
    if cell_magic is not None and cell_magic not in HARMLESS_CELL_MAGICS:
        problems.append(
            error(
                f"cell magic %%{cell_magic} makes this cell something other than Python",
                here(1, 1, len(cell_magic) + 2),
                "move it to an untagged cell",
            )
        )
    for item in lines:
        assert isinstance(item, IPythonLine)
        column = len(item.text) - len(item.text.lstrip()) + 1
        problems.append(
            error(
                "IPython syntax cannot ship in a package",
                here(item.line, column, len(item.text.strip())),
                "move it to an untagged cell, or write plain Python",
            )
        )
    return problems


def _deep(
    module: cst.Module, here: _Here
) -> tuple[tuple[Statement, ...], list[Diagnostic]]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    scopes = wrapper.resolve(ScopeProvider)
    spans = [(_first_line(s, positions), positions[s].end.line) for s in module.body]
    binds: list[list[str]] = [[] for _ in module.body]
    uses: list[list[NameUse]] = [[] for _ in module.body]
    problems: list[Diagnostic] = []
    global_scope = scopes[module]
    assert isinstance(global_scope, GlobalScope)
    for assignment in global_scope.assignments:
        node = getattr(assignment, "node", None)
        if node is None or node not in positions:
            continue
        index = _statement_at(spans, positions[node].start.line)
        if index is not None and assignment.name not in binds[index]:
            binds[index].append(assignment.name)
    captured = [_pattern_names(statement) for statement in module.body]
    for scope in {s for s in scopes.values() if s is not None}:
        for name, access in _accesses(scope):
            if any(not isinstance(r.scope, GlobalScope) for r in access.referents):
                continue  # a local, a parameter, or a builtin
            node = access.node
            start = positions[node].start
            index = _statement_at(spans, start.line)
            if index is None:
                continue
            if not access.referents and name in captured[index]:
                continue  # bound by a match pattern, which libcst's scopes do not see
            use = NameUse(name, start.line, start.column + 1, node)
            uses[index].append(use)
            if use.name in IPYTHON_ONLY and not access.referents:
                problems.append(
                    error(
                        f"{use.name}() exists only inside IPython and cannot ship",
                        here(use.line, use.column, len(use.name)),
                        "move this call to an untagged cell",
                    )
                )
    statements = []
    for index, node in enumerate(module.body):
        header = ""
        if index == 0:
            header = "".join(module.code_for_node(line) for line in module.header)
        code = header + module.code_for_node(node)
        statements.append(
            _statement(node, spans[index], binds[index], uses[index], code, header)
        )
    return tuple(statements), problems


def _accesses(scope: Scope) -> Iterator[tuple[str, Access]]:
    """Each access of a scope with the global name it reads (``os`` for ``os.path``).

    libcst keys accesses by name (``os.path``, or ``np`` inside a string annotation)
    but exposes that mapping only as a private attribute; without it, the name comes
    from the node.
    """
    mapping = getattr(scope.accesses, "_accesses", None)
    if isinstance(mapping, Mapping):
        for key, accesses in mapping.items():
            for access in accesses:
                yield str(key).split(".")[0], access
        return
    for access in scope.accesses:
        name = get_full_name_for_node(access.node) or ""
        yield name.split(".")[0], access


def _first_line(
    node: cst.BaseStatement, positions: Mapping[cst.CSTNode, CodeRange]
) -> int:
    """The statement's first line, decorators included."""
    decorators = getattr(node, "decorators", ())
    lines = [positions[d].start.line for d in decorators if d in positions]
    first: int = positions[node].start.line
    return min([first, *lines])


def _statement_at(spans: list[tuple[int, int]], line: int) -> int | None:
    for index, (first, last) in enumerate(spans):
        if first <= line <= last:
            return index
    return None


def _statement(
    node: cst.BaseStatement,
    span: tuple[int, int],
    binds: list[str],
    uses: list[NameUse],
    code: str,
    header: str,
) -> Statement:
    imports = _imports(node, span[0])
    kind = _kind(node, binds, imports)
    if kind is Kind.IMPORT:
        binds = [binding.name for binding in imports]
    docstring = None
    if isinstance(node, cst.FunctionDef | cst.ClassDef):
        docstring = node.get_docstring()
    annotated = not isinstance(node, cst.FunctionDef) or _fully_annotated(node)
    collector = _ImportedModules()
    node.visit(collector)
    uses.sort(key=lambda use: (use.line, use.column))
    return Statement(
        kind=kind,
        binds=tuple(binds),
        uses=tuple(uses),
        imports=imports,
        modules=tuple(dict.fromkeys(collector.modules)),
        first_line=span[0],
        last_line=span[1],
        docstring=docstring,
        node=node,
        code=code,
        header=header,
        annotated=annotated,
    )


def _fully_annotated(node: cst.FunctionDef) -> bool:
    params = node.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    every += [
        p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)
    ]
    return node.returns is not None and all(p.annotation is not None for p in every)


def hydrate(cell: CellAnalysis) -> CellAnalysis:
    """The analysis with its libcst nodes, parsing the source again (after a cache hit)."""
    if not cell.source or all(s.node is not None for s in cell.statements):
        return cell
    module = cst.parse_module(cell.source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    names: dict[tuple[int, int], cst.CSTNode] = {}
    for node, where in positions.items():
        key = (where.start.line, where.start.column + 1)
        if isinstance(node, cst.Name):  # a use is a Name, unless it is dotted or quoted
            names[key] = node
        elif isinstance(node, cst.Attribute | cst.SimpleString):
            names.setdefault(key, node)
    statements = tuple(
        dataclasses.replace(
            statement,
            node=node,
            uses=tuple(
                dataclasses.replace(use, node=names.get((use.line, use.column)))
                for use in statement.uses
            ),
        )
        for statement, node in zip(cell.statements, module.body, strict=True)
    )
    return dataclasses.replace(cell, statements=statements)


def _kind(
    node: cst.BaseStatement, binds: list[str], imports: tuple[ImportBinding, ...]
) -> Kind:
    if isinstance(node, cst.FunctionDef):
        return Kind.FUNCTION
    if isinstance(node, cst.ClassDef):
        return Kind.CLASS
    if isinstance(node, cst.SimpleStatementLine):
        small = node.body
        if imports and all(isinstance(s, cst.Import | cst.ImportFrom) for s in small):
            return Kind.IMPORT
        if binds:
            return Kind.ASSIGNMENT
        return Kind.OTHER
    return Kind.COMPOUND if binds else Kind.OTHER


def _imports(node: cst.BaseStatement, line: int) -> tuple[ImportBinding, ...]:
    if not isinstance(node, cst.SimpleStatementLine):
        return ()
    found: list[ImportBinding] = []
    for small in node.body:
        if isinstance(small, cst.Import):
            for alias in small.names:
                dotted = _dotted(alias.name)
                asname = _asname(alias)
                bound = asname or dotted.split(".")[0]
                found.append(ImportBinding(bound, None, dotted, asname, 0, line))
        elif isinstance(small, cst.ImportFrom):
            module = _dotted(small.module) if small.module is not None else ""
            level = len(small.relative)
            if isinstance(small.names, cst.ImportStar):
                found.append(ImportBinding("*", module, "*", None, level, line))
                continue
            for alias in small.names:
                name = _dotted(alias.name)
                asname = _asname(alias)
                found.append(
                    ImportBinding(asname or name, module, name, asname, level, line)
                )
    return tuple(found)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None:
        return None
    target = alias.asname.name
    return target.value if isinstance(target, cst.Name) else None


def _pattern_names(statement: cst.BaseStatement) -> frozenset[str]:
    """Names that ``match`` patterns inside a statement bind."""
    collector = _PatternNames()
    statement.visit(collector)
    return frozenset(collector.names)


class _PatternNames(cst.CSTVisitor):
    """Collects the capture names of match patterns (``case [a, *rest]``)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self.names.append(node.name.value)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self.names.append(node.name.value)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None:
            self.names.append(node.rest.value)


class _ImportedModules(cst.CSTVisitor):
    """Collects the top-level module of every absolute import in a subtree."""

    def __init__(self) -> None:
        self.modules: list[str] = []

    def visit_Import(self, node: cst.Import) -> None:
        self.modules += [_dotted(alias.name).split(".")[0] for alias in node.names]

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not node.relative and node.module is not None:
            self.modules.append(_dotted(node.module).split(".")[0])


def _shallow(source: str) -> tuple[Statement, ...] | None:
    """The names each top-level statement binds, from ``ast``; None if it fails to parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    statements = []
    for node in tree.body:
        binds = tuple(dict.fromkeys(_ast_binds(node)))
        literal = isinstance(node, ast.Assign | ast.AnnAssign)
        statements.append(
            Statement(
                kind=(
                    Kind.ASSIGNMENT
                    if literal
                    else (Kind.COMPOUND if binds else Kind.OTHER)
                ),
                binds=binds,
                uses=(),
                imports=(),
                modules=(),
                first_line=node.lineno,
                last_line=node.end_lineno or node.lineno,
                docstring=None,
                code=ast.get_source_segment(source, node) or "",
            )
        )
    return tuple(statements)


def _ast_binds(node: ast.AST) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
    names: list[str] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.append(child.id)
        elif isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
            names.append(child.target.id)
            names += _ast_binds(child.value)
        elif isinstance(
            child, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
        ):
            # Only a walrus inside a comprehension binds outside it (PEP 572).
            names += [
                n.target.id
                for n in ast.walk(child)
                if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)
            ]
        elif not isinstance(child, ast.Lambda):
            names += _ast_binds(child)
    return names
