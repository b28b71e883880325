"""The deep analysis of a cell from Python's ``ast``, for cells whose constructs are simple.

libcst's parse, positions and scope resolution cost about 7 ms a cell; ``ast`` gives
the same facts in a fraction of that for most cells that ship code. This module
reproduces, for a subset of Python, exactly what :func:`nb2prod.analysis.cells._deep`
computes with libcst, without the libcst nodes (what a cache hit holds, so anything
that rewrites a cell re-parses it with libcst, as after a cache hit):

* libcst's scope rules as ``ScopeProvider`` applies them, not Python's
  (:mod:`nb2prod.analysis.fast_scopes` lists them);
* the order of each statement's bindings (the order in which names first enter the
  global scope), its reads sorted by position (columns in characters, not bytes);
* the text of each statement as libcst's code generation splits the cell: the cell's
  leading lines are the module header, the lines between two statements belong to
  the second, and the comment lines after a compound statement that are indented at
  least as deep as its last block belong to it.

Anything outside the subset gives None and the cell goes to libcst: walruses,
``global``, ``nonlocal``, ``match``, ``except*``, strings libcst would parse as
annotations, dotted imports without ``as`` (libcst resolves ``a.b`` reads against
them), the IPython-only names (their diagnostics), CR and form feeds, and text that
NFKC normalization changes (``ast`` normalizes identifiers, libcst does not).
``tests/test_fast_scopes.py`` compares both paths on every cell of the golden cases,
the samples, the corpus and the fuzz fragments and on snippets aimed at each rule.
"""

from __future__ import annotations

import ast
import unicodedata

from nb2prod.analysis.fast_scopes import Access, Unsupported, Walk
from nb2prod.analysis.model import ImportBinding, Kind, NameUse, Statement

#: Names that only exist inside IPython (``cells.IPYTHON_ONLY``): their reads are
#: diagnosed on the libcst path.
_IPYTHON_ONLY = ("get_ipython", "display")

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFINITIONS = (*_FUNCTIONS, ast.ClassDef)
_SIMPLE = (
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Expr,
    ast.Import,
    ast.ImportFrom,
    ast.Return,
    ast.Raise,
    ast.Assert,
    ast.Delete,
    ast.Pass,
    ast.Break,
    ast.Continue,
    ast.Global,
    ast.Nonlocal,
)


def statements(tree: ast.Module, source: str) -> tuple[Statement, ...] | None:
    """The cell's statements as the libcst path gives them (without nodes), or None
    when the cell is outside the subset reproduced here."""
    try:
        return strict_statements(tree, source)
    except Exception:  # a cell this module cannot handle only costs libcst's time
        return None


def strict_statements(tree: ast.Module, source: str) -> tuple[Statement, ...] | None:
    """:func:`statements`, letting an unexpected error through (for the tests)."""
    if "\r" in source or "\f" in source or "\x00" in source:
        return None
    if any(name in source for name in _IPYTHON_ONLY):
        return None
    if not source.isascii() and unicodedata.normalize("NFKC", source) != source:
        return None  # ast normalizes identifiers (NFKC), libcst keeps their spelling
    try:
        return _Cell(tree, source).statements()
    except Unsupported:
        return None


class _Cell:
    def __init__(self, tree: ast.Module, source: str) -> None:
        self.tree = tree
        self.source = source
        self.lines = source.split("\n")
        if source.endswith("\n"):
            self.lines.pop()

    # -- the statements and their text -------------------------------------------

    def statements(self) -> tuple[Statement, ...]:
        groups = self._groups()
        walk = Walk(self.tree, self.source, len(groups))
        for index, group in enumerate(groups):
            walk.group = index
            for node in group:
                walk.statement(node, walk.globals)
        uses: list[list[NameUse]] = [[] for _ in groups]
        for access in walk.accesses:
            if walk.global_read(access):
                self._check_position(access)
                column = self._column(access.line, access.offset)
                uses[access.group].append(NameUse(access.name, access.line, column))
        spans = [self._span(group) for group in groups]
        ends = [
            self._region_end(group, span)
            for group, span in zip(groups, spans, strict=True)
        ]
        found = []
        for index, group in enumerate(groups):
            first = spans[index][0]
            if index == 0:
                header = self._text(1, first - 1)
                code = header + self._text(first, ends[0])
            else:
                header = ""
                code = self._text(ends[index - 1] + 1, ends[index])
            binds = sorted(walk.bound[index], key=walk.rank.__getitem__)
            found.append(
                self._made(group, spans[index], binds, uses[index], code, header)
            )
        return tuple(found)

    def _groups(self) -> list[list[ast.stmt]]:
        """Top-level statements as libcst's module body has them: simple statements
        sharing a logical line (``a = 1; b = 2``, also across a backslash) are one."""
        groups: list[list[ast.stmt]] = []
        for node in self.tree.body:
            if not isinstance(node, _SIMPLE) and not _compound(node):
                raise Unsupported(type(node).__name__)
            previous = groups[-1][-1] if groups else None
            if (
                previous is not None
                and isinstance(node, _SIMPLE)
                and isinstance(previous, _SIMPLE)
                and self._after_semicolon(previous, node)
            ):
                groups[-1].append(node)
            else:
                groups.append([node])
        return groups

    def _after_semicolon(self, previous: ast.stmt, node: ast.stmt) -> bool:
        """Whether only a ``;`` (and blanks, backslash continuations) separates them
        on one logical line."""
        end_line = previous.end_lineno or previous.lineno
        end = self.lines[end_line - 1].encode()[previous.end_col_offset or 0 :]
        if end_line == node.lineno:
            between = end[: node.col_offset - (previous.end_col_offset or 0)].decode()
        else:
            middle = self.lines[end_line : node.lineno - 1]
            start = self.lines[node.lineno - 1].encode()[: node.col_offset]
            between = "\n".join([end.decode(), *middle, start.decode()])
        return between.replace("\\\n", "").strip(" \t") == ";"

    def _span(self, group: list[ast.stmt]) -> tuple[int, int]:
        first = group[0]
        lines = [first.lineno]
        if isinstance(first, _DEFINITIONS):
            lines += [d.lineno for d in first.decorator_list]
        return min(lines), group[-1].end_lineno or group[-1].lineno

    def _region_end(self, group: list[ast.stmt], span: tuple[int, int]) -> int:
        """The last line of the statement's text: its comment lines after a compound
        statement's last block, indented at least as deep as that block, included."""
        last = span[1]
        indent = self._block_indent(group[-1])
        if indent is None:
            return last
        end = last
        line = last + 1
        while line <= len(self.lines):
            text = self.lines[line - 1]
            stripped = text.strip()
            if stripped and not stripped.startswith("#"):
                break
            if stripped and text.startswith(indent):
                end = line
            line += 1
        return end

    def _block_indent(self, node: ast.stmt) -> str | None:
        """The indentation of the compound statement's last block; None for a simple
        statement or a last clause on its header's line."""
        body: list[ast.stmt]
        if isinstance(node, _SIMPLE):
            return None
        if isinstance(node, ast.If):
            if node.orelse and self._is_elif(node.orelse):
                return self._block_indent(node.orelse[0])
            body = node.orelse or node.body
        elif isinstance(node, ast.For | ast.AsyncFor | ast.While):
            body = node.orelse or node.body
        elif isinstance(node, ast.Try):
            body = (
                node.finalbody
                or node.orelse
                or (node.handlers[-1].body if node.handlers else [])
                or node.body
            )
        elif isinstance(node, (*_DEFINITIONS, ast.With, ast.AsyncWith)):
            body = node.body
        else:
            raise Unsupported(type(node).__name__)
        first = body[0]
        text = self.lines[first.lineno - 1].encode()
        prefix = text[: first.col_offset]
        if prefix.strip():
            return None  # `else: x` on one line: libcst has no block there
        return prefix.decode()

    def _is_elif(self, orelse: list[ast.stmt]) -> bool:
        node = orelse[0]
        if len(orelse) != 1 or not isinstance(node, ast.If):
            return False
        text = self.lines[node.lineno - 1].encode()
        return text[node.col_offset :].startswith(b"elif")

    def _text(self, first: int, last: int) -> str:
        return "".join(line + "\n" for line in self.lines[first - 1 : last])

    def _check_position(self, access: Access) -> None:
        """The name is where ``ast`` says (inside f-strings, its positions have had
        bugs in some Python releases); otherwise libcst's positions are used."""
        text = self.lines[access.line - 1].encode()
        name = access.name.encode()
        end = access.offset + len(name)
        if text[access.offset : end] != name or text[end : end + 1].isalnum():
            raise Unsupported("a position ast may have wrong")

    def _column(self, line: int, offset: int) -> int:
        """libcst's 1-based column (characters) from ast's offset (UTF-8 bytes)."""
        text = self.lines[line - 1]
        if text.isascii():
            return offset + 1
        return len(text.encode()[:offset].decode()) + 1

    def _made(
        self,
        group: list[ast.stmt],
        span: tuple[int, int],
        binds: list[str],
        uses: list[NameUse],
        code: str,
        header: str,
    ) -> Statement:
        node = group[0]
        imports = _imports(group, span[0]) if isinstance(node, _SIMPLE) else ()
        kind: Kind
        if isinstance(node, _FUNCTIONS):
            kind = Kind.FUNCTION
            binds = [node.name]
        elif isinstance(node, ast.ClassDef):
            kind = Kind.CLASS
            binds = [node.name]
        elif isinstance(node, _SIMPLE):
            if imports and all(
                isinstance(n, ast.Import | ast.ImportFrom) for n in group
            ):
                kind = Kind.IMPORT
                binds = [binding.name for binding in imports]
            else:
                kind = Kind.ASSIGNMENT if binds else Kind.OTHER
        else:
            kind = Kind.COMPOUND if binds else Kind.OTHER
        docstring = None
        annotated = True
        if isinstance(node, ast.ClassDef):
            docstring = ast.get_docstring(node)
        if isinstance(node, _FUNCTIONS):
            docstring = ast.get_docstring(node)
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            annotated = node.returns is not None and all(
                a.annotation is not None for a in every
            )
        uses.sort(key=lambda use: (use.line, use.column))
        return Statement(
            kind=kind,
            binds=tuple(binds),
            uses=tuple(uses),
            imports=imports,
            modules=_modules(group),
            first_line=span[0],
            last_line=span[1],
            docstring=docstring,
            code=code,
            header=header,
            annotated=annotated,
        )


def _compound(node: ast.stmt) -> bool:
    return isinstance(
        node,
        ast.FunctionDef
        | ast.AsyncFunctionDef
        | ast.ClassDef
        | ast.If
        | ast.For
        | ast.AsyncFor
        | ast.While
        | ast.With
        | ast.AsyncWith
        | ast.Try,
    )


def _imports(group: list[ast.stmt], line: int) -> tuple[ImportBinding, ...]:
    found: list[ImportBinding] = []
    for node in group:
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                found.append(
                    ImportBinding(bound, None, alias.name, alias.asname, 0, line)
                )
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                if alias.name == "*":
                    found.append(
                        ImportBinding("*", module, "*", None, node.level, line)
                    )
                    continue
                found.append(
                    ImportBinding(
                        alias.asname or alias.name,
                        module,
                        alias.name,
                        alias.asname,
                        node.level,
                        line,
                    )
                )
    return tuple(found)


def _modules(group: list[ast.stmt]) -> tuple[str, ...]:
    """Top-level modules of the absolute imports anywhere inside, in source order."""
    imports = [
        node
        for statement in group
        for node in ast.walk(statement)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    imports.sort(key=lambda node: (node.lineno, node.col_offset))
    modules: list[str] = []
    for node in imports:
        if isinstance(node, ast.Import):
            modules += [alias.name.split(".")[0] for alias in node.names]
        elif node.level == 0 and node.module is not None:
            modules.append(node.module.split(".")[0])
    return tuple(dict.fromkeys(modules))


__all__ = ["Unsupported", "statements", "strict_statements"]
