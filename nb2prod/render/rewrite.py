"""libcst rewrites of shipped statements: artifact reads, and test bodies."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst

from nb2prod.analysis.cells import NameUse, Statement

#: The module name shipped code reads artifacts through (``artifacts.model``).
ARTIFACTS = "artifacts"


class _QualifyArtifacts(cst.CSTTransformer):
    """Turns reads of artifact names into ``artifacts.<name>`` attribute reads."""

    def __init__(self, nodes: Sequence[cst.CSTNode]) -> None:
        self.targets = {id(node) for node in nodes}

    def leave_Name(
        self, original_node: cst.Name, updated_node: cst.Name
    ) -> cst.BaseExpression:
        if id(original_node) not in self.targets:
            return updated_node
        return cst.Attribute(
            value=cst.Name(ARTIFACTS), attr=cst.Name(updated_node.value)
        )


def statement_code(
    statement: Statement,
    artifact_uses: Sequence[NameUse],
    annotate: Callable[[cst.FunctionDef], cst.FunctionDef] | None = None,
) -> str:
    """The statement's source, artifact reads qualified and functions annotated."""
    node = statement.node
    nodes = [use.node for use in artifact_uses if use.node is not None]
    changed = False
    if node is not None and nodes and _contains(statement, artifact_uses):
        rewritten = node.visit(_QualifyArtifacts(nodes))
        assert isinstance(rewritten, cst.BaseStatement)
        node, changed = rewritten, True
    if annotate is not None and isinstance(node, cst.FunctionDef):
        annotated = annotate(node)
        changed = changed or not annotated.deep_equals(node)
        node = annotated
    if node is None or not changed:
        return statement.code
    return statement.header + _code_of(node)


def test_function(
    name: str,
    statements: Sequence[Statement],
    fixtures: Sequence[str],
    artifact_uses: Sequence[NameUse],
) -> str:
    """A pytest function whose body is the test cell's statements."""
    nodes = [use.node for use in artifact_uses if use.node is not None]
    transformer = _QualifyArtifacts(nodes)
    body: list[cst.BaseStatement] = [
        cst.parse_statement(f'{fixture} = notebook_data("{fixture}")\n')
        for fixture in fixtures
    ]
    for statement in statements:
        if statement.node is not None:
            rewritten = statement.node.visit(transformer)
            assert isinstance(rewritten, cst.BaseStatement)
            body.append(rewritten)
    if len(body) > len(fixtures):
        body[len(fixtures)] = _without_blank_lines_above(body[len(fixtures)])
    if not body:
        body.append(cst.SimpleStatementLine([cst.Pass()]))
    params = "notebook_data: Callable[[str], Any]" if fixtures else ""
    stub = cst.parse_statement(f"def {name}({params}) -> None:\n    pass\n")
    assert isinstance(stub, cst.FunctionDef)
    function = stub.with_changes(body=cst.IndentedBlock(body=body))
    return _code_of(function)


def _without_blank_lines_above(node: cst.BaseStatement) -> cst.BaseStatement:
    """Drop the blank lines (not the comments) above a test's first statement."""
    if not isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
        return node
    lines = list(node.leading_lines)
    while lines and lines[0].comment is None:
        lines.pop(0)
    return node.with_changes(leading_lines=lines)


def _contains(statement: Statement, uses: Sequence[NameUse]) -> bool:
    return any(use in statement.uses for use in uses)


def _code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
