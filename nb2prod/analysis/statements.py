"""What one top-level statement is, with libcst: its kind, imports and odd bindings."""

from __future__ import annotations

import libcst as cst

from nb2prod.analysis.model import ImportBinding, Kind


def comprehension_walruses(node: cst.BaseStatement) -> list[str]:
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


def fully_annotated(node: cst.FunctionDef) -> bool:
    params = node.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    every += [
        p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)
    ]
    return node.returns is not None and all(p.annotation is not None for p in every)


def statement_kind(
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


def imports_of(node: cst.BaseStatement, line: int) -> tuple[ImportBinding, ...]:
    if not isinstance(node, cst.SimpleStatementLine):
        return ()
    found: list[ImportBinding] = []
    for small in node.body:
        if isinstance(small, cst.Import):
            for alias in small.names:
                dotted = dotted_name(alias.name)
                asname = _asname(alias)
                bound = asname or dotted.split(".")[0]
                found.append(ImportBinding(bound, None, dotted, asname, 0, line))
        elif isinstance(small, cst.ImportFrom):
            module = dotted_name(small.module) if small.module is not None else ""
            level = len(small.relative)
            if isinstance(small.names, cst.ImportStar):
                found.append(ImportBinding("*", module, "*", None, level, line))
                continue
            for alias in small.names:
                name = dotted_name(alias.name)
                asname = _asname(alias)
                found.append(
                    ImportBinding(asname or name, module, name, asname, level, line)
                )
    return tuple(found)


def dotted_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted_name(node.value)}.{node.attr.value}"
    return ""


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None:
        return None
    target = alias.asname.name
    return target.value if isinstance(target, cst.Name) else None


def pattern_names(statement: cst.BaseStatement) -> frozenset[str]:
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


class ImportedModules(cst.CSTVisitor):
    """Collects the top-level module of every absolute import in a subtree."""

    def __init__(self) -> None:
        self.modules: list[str] = []

    def visit_Import(self, node: cst.Import) -> None:
        self.modules += [dotted_name(alias.name).split(".")[0] for alias in node.names]

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not node.relative and node.module is not None:
            self.modules.append(dotted_name(node.module).split(".")[0])
