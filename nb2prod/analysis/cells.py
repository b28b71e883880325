"""Analyse the code cells with libcst: what each top-level statement binds and reads.

Cells that ship code (export, feature, predict) and test cells get the full scope
analysis; the others only need the names they assign, which Python's own ``ast``
finds far faster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

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

from nb2prod.analysis.magics import HARMLESS_CELL_MAGICS, mask
from nb2prod.analysis.model import CellAnalysis, ImportBinding, Kind, NameUse, Statement
from nb2prod.analysis.syntax import TOO_DEEP, refuse_before_libcst, shallow
from nb2prod.errors import Diagnostic, Location, error, warning
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.tags import RoledCell
from nb2prod.notebook.vocabulary import Role

__all__ = [
    "CellAnalysis",
    "ImportBinding",
    "Kind",
    "NameUse",
    "Statement",
    "analyse",
    "hydrate",
]

#: Names that only exist inside IPython; shipped code must not call them.
IPYTHON_ONLY = frozenset({"get_ipython", "display"})


def analyse(notebook: Notebook, cell: RoledCell) -> CellAnalysis:
    """Analyse one code cell: deeply if it ships code or is a test, else cheaply."""
    deep = cell.role is not None and (cell.role.ships_code or cell.role is Role.TEST)
    masked = mask(cell.source)
    problems: list[Diagnostic] = []
    here = _Here(notebook, cell)
    if deep:
        problems += _ipython_problems(
            cell, masked.cell_magic, masked.ipython_lines, here
        )
    if problems:
        return CellAnalysis(cell, (), tuple(problems), masked.cell_magic, parsed=False)
    if not deep:
        statements = shallow(masked.source)
        return CellAnalysis(
            cell, statements or (), (), masked.cell_magic, parsed=statements is not None
        )
    refused = refuse_before_libcst(masked.source, here)
    if refused is not None:
        return CellAnalysis(cell, (), (refused,), masked.cell_magic, parsed=False)
    try:
        module = cst.parse_module(masked.source)
        statements, found = _deep(module, here)
    except cst.ParserSyntaxError as exc:
        problems.append(_syntax_error(exc, here))
        return CellAnalysis(cell, (), tuple(problems), masked.cell_magic, parsed=False)
    except RecursionError:
        problems.append(error(TOO_DEEP, here()))
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


def _dropped_magic(name: str, here: _Here) -> Diagnostic:
    return warning(
        f"cell magic %%{name} only measures or silences the cell; it is dropped",
        here(1, 1, len(name) + 2),
    )


def _syntax_error(exc: cst.ParserSyntaxError, here: _Here) -> Diagnostic:
    """libcst's objection to code Python's own parser accepted (syntax.py ran first)."""
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


def _ipython_problems(
    cell: RoledCell, cell_magic: str | None, lines: tuple[object, ...], here: _Here
) -> list[Diagnostic]:
    from nb2prod.analysis.magics import IPythonLine

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
    elif isinstance(node, cst.FunctionDef | cst.ClassDef):
        binds = [node.name.value]  # not the names its body declares `global`
    else:
        binds += [n for n in _comprehension_walruses(node) if n not in binds]
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


def _comprehension_walruses(node: cst.BaseStatement) -> list[str]:
    """Names a walrus binds inside a comprehension: the enclosing scope's (PEP 572).

    libcst's scopes keep them in the comprehension; at the top of a cell that
    enclosing scope is the notebook's global one.
    """
    collector = _Walruses()
    node.visit(collector)
    return collector.names


class _Walruses(cst.CSTVisitor):
    """Collects walrus targets inside comprehensions, outside functions and lambdas."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self.depth += 1

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self.depth -= 1

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self.depth += 1

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self.depth -= 1

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self.depth += 1

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self.depth -= 1

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self.depth += 1

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self.depth -= 1

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        if self.depth and isinstance(node.target, cst.Name):
            self.names.append(node.target.value)


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
