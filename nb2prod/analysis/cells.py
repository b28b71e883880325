"""Analyse the code cells with libcst: what each top-level statement binds and reads.

Cells that ship code (export, feature, predict) and test cells get the full scope
analysis; the others only need the names they assign, which Python's own ``ast``
finds far faster. The full analysis of a cell whose constructs are simple comes from
``ast`` too (:mod:`nb2prod.analysis.fast`, the same result without libcst nodes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import cast

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Access,
    CodeRange,
    ExpressionContextProvider,
    GlobalScope,
    MetadataWrapper,
    Scope,
    ScopeProvider,
)

from nb2prod.analysis import fast
from nb2prod.analysis.magics import Fate, IPythonLine, MaskedCell, mask, rule_for
from nb2prod.analysis.model import CellAnalysis, ImportBinding, Kind, NameUse, Statement
from nb2prod.analysis.positions import positions_and_code
from nb2prod.analysis.statements import (
    ImportedModules,
    comprehension_walruses,
    fully_annotated,
    imports_of,
    pattern_names,
    statement_kind,
)
from nb2prod.analysis.syntax import TOO_DEEP, parse_checked, shallow
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
    "analyse_quickly",
    "hydrate",
    "is_deep",
]

#: Names that only exist inside IPython; shipped code must not call them.
IPYTHON_ONLY = frozenset({"get_ipython", "display"})


def analyse(notebook: Notebook, cell: RoledCell) -> CellAnalysis:
    """Analyse one code cell: deeply if it ships code or is a test, else cheaply."""
    found = _analyse(notebook, cell, libcst=True)
    assert found is not None  # libcst was allowed
    return found


def analyse_quickly(notebook: Notebook, cell: RoledCell) -> CellAnalysis | None:
    """:func:`analyse`, or None when that needs libcst (a deep cell outside the
    subset :mod:`nb2prod.analysis.fast` reproduces)."""
    return _analyse(notebook, cell, libcst=False)


def _analyse(notebook: Notebook, cell: RoledCell, libcst: bool) -> CellAnalysis | None:
    deep = is_deep(cell)
    masked = mask(cell.source)
    here = _Here(notebook, cell)
    problems: list[Diagnostic] = []
    notes: list[Diagnostic] = []
    if deep:
        problems, notes = _ipython_problems(masked, here)
    if not deep:
        cheap = shallow(masked.source)
        return CellAnalysis(
            cell, cheap or (), (), masked.cell_magic, parsed=cheap is not None
        )
    refused, tree = parse_checked(masked.source, here)
    statements: tuple[Statement, ...] = ()
    found: list[Diagnostic] = []
    quick = None if tree is None else fast.statements(tree, masked.source)
    if quick is not None:
        statements = quick  # what libcst would give, without its nodes
    elif refused is None:
        if not libcst:
            return None
        try:
            module = cst.parse_module(masked.source)
            statements, found = _deep(module, masked.source, here)
        except cst.ParserSyntaxError as exc:
            refused = _syntax_error(exc, here)
        except RecursionError:
            refused = error(TOO_DEEP, here())
    if refused is not None:
        diagnostics = (*problems, refused, *notes)
        return CellAnalysis(cell, (), diagnostics, masked.cell_magic, parsed=False)
    # A cell with IPython that cannot ship is still analysed, so that what it
    # defines does not turn into "not defined" errors elsewhere.
    return CellAnalysis(
        cell,
        statements,
        (*problems, *notes, *found),
        masked.cell_magic,
        parsed=not problems,
        source=masked.source,
    )


def is_deep(cell: RoledCell) -> bool:
    """Whether the cell gets libcst's scope analysis: it ships code, or is a test."""
    return cell.role is not None and (cell.role.ships_code or cell.role is Role.TEST)


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
    masked: MaskedCell, here: _Here
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """Errors for IPython syntax that cannot ship; warnings for what is dropped."""
    problems: list[Diagnostic] = []
    notes: list[Diagnostic] = []
    if masked.cell_magic is not None:
        key = f"%%{masked.cell_magic}"
        rule = rule_for(key)
        where = here(1, 1, len(key))
        if rule.fate is Fate.REFUSE:
            problems.append(
                error(
                    f"cell magic {key} {rule.why}", where, "move it to an untagged cell"
                )
            )
        else:
            notes.append(warning(f"cell magic {key} {rule.why}; it is dropped", where))
    for item in masked.ipython_lines:
        column = len(item.text) - len(item.text.lstrip()) + 1
        where = here(item.line, column, len(item.text.strip()))
        if item.rule.fate is Fate.REFUSE:
            problems.append(_refused(item, where))
        elif item.rule.fate is Fate.UNWRAP:
            message = (
                f"line magic {item.magic} {item.rule.why}; "
                "the magic is dropped, the statement ships"
            )
            notes.append(warning(message, where))
        else:
            message = f"line magic {item.magic} {item.rule.why}; it is dropped"
            notes.append(warning(message, where))
    return problems, notes


def _refused(item: IPythonLine, where: Location) -> Diagnostic:
    hint = "move it to an untagged cell, or write plain Python"
    if not item.magic:
        return error(f"IPython syntax cannot ship: it {item.rule.why}", where, hint)
    if item.magic == "!":
        if item.text.lstrip()[1:].lstrip().startswith("pip"):
            hint = "move it to an untagged cell; the package declares its dependencies"
        return error(f"shell command cannot ship: it {item.rule.why}", where, hint)
    return error(
        f"line magic {item.magic} cannot ship: it {item.rule.why}",
        where,
        "move it to an untagged cell",
    )


def _deep(
    module: cst.Module, source: str, here: _Here
) -> tuple[tuple[Statement, ...], list[Diagnostic]]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions, codes = positions_and_code(module)
    scopes = scopes_of(wrapper)
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
    # Each helper below walks a whole statement; the keyword each looks for must
    # appear in the text, so a cell without it skips the walk (most cells do).
    captured = [
        pattern_names(statement) if _mentions(source, "case") else frozenset()
        for statement in module.body
    ]
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
            header = "".join(codes[line] for line in module.header)
        code = header + codes[node]
        statements.append(
            _statement(node, spans[index], binds[index], uses[index], code, header)
        )
    return tuple(statements), problems


def scopes_of(wrapper: MetadataWrapper) -> Mapping[cst.CSTNode, Scope | None]:
    """``wrapper.resolve(ScopeProvider)``, computed without the batched traversal.

    Both providers it needs do all their work in ``visit_Module`` (each walks the
    tree with its own visitor); the wrapper adds a second, empty walk of the whole
    tree and looks up each provider's visitor methods with ``inspect`` on every
    call, which together cost more than the analysis on a small cell. Here each
    provider's ``visit_Module`` runs once, fed what the wrapper would feed it; if
    libcst's internals ever differ, the wrapper computes it.
    """
    module = wrapper.module
    try:
        context = ExpressionContextProvider()
        context.visit_Module(module)
        provider = ScopeProvider()
        provider.metadata = {ExpressionContextProvider: context._computed}
        provider.visit_Module(module)
    except (AttributeError, KeyError, TypeError):
        return wrapper.resolve(ScopeProvider)
    return cast(Mapping[cst.CSTNode, Scope | None], provider._computed)


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


def _mentions(text: str, keyword: str) -> bool:
    """Whether a walk looking for ``keyword``'s syntax could find any."""
    return keyword in text


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
    imports = imports_of(node, span[0])
    kind = statement_kind(node, binds, imports)
    if kind is Kind.IMPORT:
        binds = [binding.name for binding in imports]
    elif isinstance(node, cst.FunctionDef | cst.ClassDef):
        binds = [node.name.value]  # not the names its body declares `global`
    elif _mentions(code, ":="):
        binds += [n for n in comprehension_walruses(node) if n not in binds]
    docstring = None
    if isinstance(node, cst.FunctionDef | cst.ClassDef):
        docstring = node.get_docstring()
    annotated = not isinstance(node, cst.FunctionDef) or fully_annotated(node)
    collector = ImportedModules()
    if _mentions(code, "import"):
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


def hydrate(cell: CellAnalysis) -> CellAnalysis:
    """The analysis with its libcst nodes, parsing the source again (after a cache hit)."""
    if not cell.source or all(s.node is not None for s in cell.statements):
        return cell
    module = cst.parse_module(cell.source)
    positions, _ = positions_and_code(module)
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
