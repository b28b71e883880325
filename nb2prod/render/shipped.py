"""Code that ships in other forms than the notebook wrote it: learned values as
literals, and the modules beside the notebook copied into the package."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import libcst as cst

from nb2prod.analysis.cells import ImportBinding
from nb2prod.plan.model import LearnedValue, LocalModule
from nb2prod.render.rewrite import ARTIFACTS

#: The longest expression quoted in a learned value's comment.
_QUOTED = 120


def learned_code(
    value: LearnedValue, label: str, learned: Mapping[str, str | None]
) -> str:
    """The learned statement as its value: a literal, or a read of the artifacts."""
    statement = value.statement
    lines = statement.code.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    span = statement.last_line - statement.first_line + 1
    above = lines[: max(0, len(lines) - span)]  # its comments (and the cell's header)
    code = [
        *above,
        f"# Learned from the notebook's data when it ran ({label}, line {value.line}):",
        f"#     {comment_text(value.expression)}",
    ]
    for name in value.names:
        text = learned.get(name)
        code.append(f"{name} = {text if text is not None else f'{ARTIFACTS}.{name}'}")
    return "\n".join(code) + "\n"


def comment_text(text: str) -> str:
    """``text`` made safe inside one ``#`` comment: one line, printable, bounded."""
    flat = " ".join(text.split())
    safe = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return safe if len(safe) <= _QUOTED else safe[: _QUOTED - 3] + "..."


def reads_artifacts(
    values: Iterable[LearnedValue], learned: Mapping[str, str | None]
) -> bool:
    """True when one of ``values`` ships as an artifact."""
    return any(learned.get(n, "") is None for v in values for n in v.names)


def local_import_lines(bindings: Iterable[ImportBinding]) -> list[str]:
    """Imports of modules copied into the package, made relative."""
    lines = set()
    for binding in bindings:
        alias = f" as {binding.alias}" if binding.alias else ""
        if binding.module is not None:
            lines.add(f"from .{binding.module} import {binding.imported}{alias}")
        else:
            lines.add(f"from . import {binding.imported.split('.')[0]}{alias}")
    return sorted(lines)


def local_module_file(
    module: LocalModule, notebook: Path, notebook_ref: str, local: Collection[str]
) -> str:
    """The copy of a module beside the notebook, with provenance, imports made relative."""
    where = Path(os.path.relpath(module.path, notebook.parent)).as_posix()
    header = (
        f"# Copied by nb2prod from {where}, beside {notebook.name}, which imports it:\n"
        f"# edit that file, then run `nb2prod convert {notebook_ref}`.\n"
    )
    try:
        tree = cst.parse_module(module.text)
        text = tree.visit(_RelativeImports(frozenset(local))).code
    except cst.ParserSyntaxError:
        text = module.text
    return header + text


class _RelativeImports(cst.CSTTransformer):
    """``import helpers`` → ``from . import helpers``; ``from helpers import f`` →
    ``from .helpers import f``, for the modules copied into the package."""

    def __init__(self, local: frozenset[str]) -> None:
        self.local = local

    def leave_Import(
        self, original_node: cst.Import, updated_node: cst.Import
    ) -> cst.BaseSmallStatement:
        names = updated_node.names
        if not names or not all(self._top(a.name) in self.local for a in names):
            return updated_node
        return cst.ImportFrom(
            module=None,
            relative=[cst.Dot()],
            names=[
                cst.ImportAlias(name=cst.Name(self._top(a.name)), asname=a.asname)
                for a in names
            ],
        )

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        module = updated_node.module
        if (
            updated_node.relative
            or module is None
            or self._top(module) not in self.local
        ):
            return updated_node
        return updated_node.with_changes(relative=[cst.Dot()])

    @staticmethod
    def _top(node: cst.BaseExpression) -> str:
        while isinstance(node, cst.Attribute):
            node = node.value
        return node.value if isinstance(node, cst.Name) else ""
