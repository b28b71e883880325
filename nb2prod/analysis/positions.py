"""Where each node of a cell is, and each top-level statement's code, in one pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState


def positions_and_code(
    module: cst.Module,
) -> tuple[Mapping[cst.CSTNode, CodeRange], Mapping[cst.CSTNode, str]]:
    """libcst's ``PositionProvider`` of every node, and the code of each top-level one.

    The same as ``wrapper.resolve(PositionProvider)`` and ``module.code_for_node``
    of each statement and header line, from one code generation instead of one plus
    one per statement, and without the wrapper's empty walk of the whole tree (which
    cost as much as the positions). If libcst's internals ever differ, the public
    API computes it.
    """
    body = {id(node) for node in (*module.header, *module.body)}
    try:
        provider = PositionProvider()
        state = _PositionsAndCode(module, provider, body)
        module._codegen(state)
    except (AttributeError, KeyError, TypeError):
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        nodes: tuple[cst.CSTNode, ...] = (*module.header, *module.body)
        codes = {node: module.code_for_node(node) for node in nodes}
        return wrapper.resolve(PositionProvider), codes
    return cast(Mapping[cst.CSTNode, CodeRange], provider._computed), state.codes


class _PositionsAndCode(PositionProvidingCodegenState):
    """libcst's position-recording code generation, keeping each top-level node's code."""

    def __init__(
        self, module: cst.Module, provider: PositionProvider, top: set[int]
    ) -> None:
        super().__init__(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=provider,
        )
        self.top = top
        self.starts: list[int] = []
        self.codes: dict[cst.CSTNode, str] = {}

    def _update_position(self, value: str) -> None:
        """The parent's line and column arithmetic, without a regex when no CR."""
        if "\r" in value:
            super()._update_position(value)
            return
        newlines = value.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(value) - value.rindex("\n") - 1
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append(CodePosition(self.line, self.column))
        if id(node) in self.top:
            self.starts.append(len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()  # the parent's after_codegen, inlined
        computed = self.provider._computed
        if node not in computed:  # a syntactic position already recorded wins
            computed[node] = CodeRange(start, CodePosition(self.line, self.column))
        if id(node) in self.top:
            self.codes[node] = "".join(self.tokens[self.starts.pop() :])


__all__ = ["positions_and_code"]
