"""Python's own parser: fast bindings of cells that ship nothing, and a depth guard.

``ast`` is far faster than libcst's scope analysis, and its errors are worded the
way users know them; it also refuses code nested deeper than libcst can parse
without overflowing the C stack.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from nb2prod.analysis.model import Kind, Statement
from nb2prod.errors import Diagnostic, Location, error

#: Deeper nesting than this is refused: libcst's parser can overflow the C stack on it.
MAX_DEPTH = 500
TOO_DEEP = (
    f"the code nests deeper than {MAX_DEPTH} levels; nb2prod refuses to analyse it"
)


def refuse_before_libcst(
    source: str, here: Callable[..., Location]
) -> Diagnostic | None:
    """Python's own parser first: its errors read better, and it guards depth."""
    return parse_checked(source, here)[0]


def parse_checked(
    source: str, here: Callable[..., Location]
) -> tuple[Diagnostic | None, ast.Module | None]:
    """:func:`refuse_before_libcst`'s objection, or None and the parsed tree."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        column = exc.offset if exc.offset and exc.offset > 0 else None
        return error(f"syntax error: {exc.msg}", here(exc.lineno, column)), None
    except (MemoryError, RecursionError, ValueError) as exc:
        detail = TOO_DEEP if not isinstance(exc, ValueError) else f"cannot parse: {exc}"
        return error(detail, here()), None
    depth, line = _depth(tree)
    if depth > MAX_DEPTH:
        return error(TOO_DEEP, here(line)), None
    return None, tree


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


def shallow(source: str) -> tuple[Statement, ...] | None:
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
