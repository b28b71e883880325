"""The deep analysis of a cell from Python's ``ast``, for cells whose constructs are simple.

libcst's parse, positions and scope resolution cost about 7 ms a cell; ``ast`` gives
the same facts in a fraction of that for most cells that ship code. This module
reproduces, for a subset of Python, exactly what :func:`nb2prod.analysis.cells._deep`
computes with libcst, without the libcst nodes (what a cache hit holds, so anything
that rewrites a cell re-parses it with libcst, as after a cache hit):

* libcst's scope rules as ``ScopeProvider`` applies them (not Python's): an
  assignment counts for a read in the same scope only if it came before it in
  libcst's visiting order (each assignment-like node raises the scope's counter when
  it is left), otherwise the read resolves in the enclosing scope; parameters'
  defaults and annotations, decorators and return annotations are read in the
  enclosing scope; a class body is invisible to the scopes inside it, except where
  libcst's fallback for a read before its scope's assignment looks at the enclosing
  scope's own names first; a name is a builtin when ``builtins`` has it;
* the order of each statement's bindings (the order in which names first enter the
  global scope), its reads sorted by position (columns in characters, not bytes);
* the text of each statement as libcst's code generation splits the cell: the cell's
  leading lines are the module header, the lines between two statements belong to
  the second, and the comment lines after a compound statement that are indented at
  least as deep as its last block belong to it.

Anything outside the subset gives None and the cell goes to libcst: walruses, ``global``, ``nonlocal``, ``match``, ``except*``,
strings libcst would parse
as annotations, dotted imports without ``as`` (libcst resolves ``a.b`` reads against
them), the IPython-only names (their diagnostics), CR and form feeds.
``tests/test_fast_scopes.py`` compares both paths on every cell of the golden cases,
the samples, the corpus and the fuzz fragments and on snippets aimed at each rule.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

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


class Unsupported(Exception):
    """The cell uses a construct this module does not reproduce libcst's view of."""


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
    try:
        return _Cell(tree, source).statements()
    except Unsupported:
        return None


@dataclass
class _Scope:
    """A global or function scope as libcst models it."""

    parent: _Scope | None
    #: A class body: invisible to the scopes inside it (its methods).
    is_class: bool = False
    #: libcst's ``_assignment_count``: raised on leaving each assignment-like node.
    count: int = 0
    #: Each name assigned here, with the counter value of each assignment.
    assigned: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class _Access:
    name: str
    scope: _Scope
    index: int
    group: int
    line: int
    offset: int  # in bytes, as ast counts


class _Cell:
    def __init__(self, tree: ast.Module, source: str) -> None:
        self.tree = tree
        self.source = source
        self.lines = source.split("\n")
        if source.endswith("\n"):
            self.lines.pop()
        self.globals = _Scope(None)
        self.accesses: list[_Access] = []
        #: The order in which names first enter the global scope.
        self.rank: dict[str, int] = {}
        self.bound: list[set[str]] = []
        self.group = 0
        self.typing_names: set[str] = set()
        self.typed = "typing" in source

    # -- the statements and their text -------------------------------------------

    def statements(self) -> tuple[Statement, ...]:
        groups = self._groups()
        self.bound = [set() for _ in groups]
        if self.typed:
            self._typing_imports()
        for index, group in enumerate(groups):
            self.group = index
            for node in group:
                self._statement(node, self.globals)
        uses: list[list[NameUse]] = [[] for _ in groups]
        for access in self.accesses:
            if self._global_read(access):
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
            found.append(
                self._made(group, spans[index], index, uses[index], code, header)
            )
        return tuple(found)

    def _groups(self) -> list[list[ast.stmt]]:
        """Top-level statements as libcst's module body has them: simple statements
        sharing a line (``a = 1; b = 2``) are one."""
        groups: list[list[ast.stmt]] = []
        for node in self.tree.body:
            if not isinstance(node, _SIMPLE) and not _compound(node):
                raise Unsupported(type(node).__name__)
            previous = groups[-1][-1] if groups else None
            if (
                previous is not None
                and isinstance(node, _SIMPLE)
                and isinstance(previous, _SIMPLE)
                and node.lineno == previous.end_lineno
            ):
                groups[-1].append(node)
            else:
                groups.append([node])
        return groups

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

    def _check_position(self, access: _Access) -> None:
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
        index: int,
        uses: list[NameUse],
        code: str,
        header: str,
    ) -> Statement:
        node = group[0]
        imports = _imports(group, span[0]) if isinstance(node, _SIMPLE) else ()
        binds = sorted(self.bound[index], key=self.rank.__getitem__)
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

    # -- scopes ------------------------------------------------------------------

    def _global_read(self, access: _Access) -> bool:
        """Whether libcst's referents of the read are all global (or there are none)."""
        scope = access.scope
        owner = _owner(scope, access.name)
        if owner is scope:
            earlier = [i for i in scope.assigned[access.name] if i < access.index]
            if earlier:
                return scope is self.globals
            if scope.parent is None:  # the builtin scope is the global one's parent
                return not hasattr(builtins, access.name)
            owner = _owner(scope.parent, access.name)
        if owner is None:
            return not hasattr(builtins, access.name)
        return owner is self.globals

    def _assign(self, scope: _Scope, name: str) -> None:
        scope.assigned.setdefault(name, []).append(scope.count)
        if scope is self.globals:
            self.rank.setdefault(name, len(self.rank))
            self.bound[self.group].add(name)

    def _read(self, node: ast.Name, scope: _Scope) -> None:
        self.accesses.append(
            _Access(
                node.id, scope, scope.count, self.group, node.lineno, node.col_offset
            )
        )

    def _statement(self, node: ast.stmt, scope: _Scope) -> None:
        if isinstance(node, _FUNCTIONS):
            self._function(node, scope)
        elif isinstance(node, ast.ClassDef):
            self._class(node, scope)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self._target(target, scope)
            self._expression(node.value, scope)
            scope.count += 1
        elif isinstance(node, ast.AugAssign):
            self._target(node.target, scope)
            self._expression(node.value, scope)
            scope.count += 1
        elif isinstance(node, ast.AnnAssign):
            self._target(node.target, scope)
            self._annotation(node.annotation, scope)
            if node.value is not None:
                self._expression(node.value, scope)
            scope.count += 1
        elif isinstance(node, ast.For | ast.AsyncFor):
            self._target(node.target, scope)
            scope.count += 1
            self._expression(node.iter, scope)
            self._body(node.body, scope)
            self._body(node.orelse, scope)
        elif isinstance(node, ast.While | ast.If):
            self._expression(node.test, scope)
            self._body(node.body, scope)
            self._body(node.orelse, scope)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                self._expression(item.context_expr, scope)
                if item.optional_vars is not None:
                    self._target(item.optional_vars, scope)
                    scope.count += 1  # the AsName
                scope.count += 1  # the WithItem
            self._body(node.body, scope)
        elif isinstance(node, ast.Try):
            self._body(node.body, scope)
            for handler in node.handlers:
                if handler.type is not None:
                    self._expression(handler.type, scope)
                if handler.name is not None:
                    self._assign(scope, handler.name)
                    scope.count += 1
                self._body(handler.body, scope)
            self._body(node.orelse, scope)
            self._body(node.finalbody, scope)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    continue
                if alias.asname is None and "." in alias.name:
                    raise Unsupported("dotted import")  # libcst resolves a.b reads
                self._assign(scope, alias.asname or alias.name)
            scope.count += 1
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self._deleted(target, scope)
        elif isinstance(node, ast.Expr | ast.Return):
            if node.value is not None:
                self._expression(node.value, scope)
        elif isinstance(node, ast.Raise):
            for part in (node.exc, node.cause):
                if part is not None:
                    self._expression(part, scope)
        elif isinstance(node, ast.Assert):
            self._expression(node.test, scope)
            if node.msg is not None:
                self._expression(node.msg, scope)
        elif not isinstance(node, ast.Pass | ast.Break | ast.Continue):
            raise Unsupported(type(node).__name__)

    def _body(self, body: list[ast.stmt], scope: _Scope) -> None:
        for node in body:
            self._statement(node, scope)

    def _function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope
    ) -> None:
        self._assign(scope, node.name)
        inner = _Scope(scope)
        self._parameters(node.args, inner, scope)
        self._body(node.body, inner)
        for decorator in node.decorator_list:
            self._expression(decorator, scope)
        if node.returns is not None:
            self._annotation(node.returns, scope)
        scope.count += 1

    def _class(self, node: ast.ClassDef, scope: _Scope) -> None:
        """libcst's order: the name, the decorators, the bases and keywords in the
        enclosing scope, then the body in the class's scope."""
        self._assign(scope, node.name)
        for decorator in node.decorator_list:
            self._expression(decorator, scope)
        for base in node.bases:
            self._expression(base, scope)
        for keyword in node.keywords:
            self._expression(keyword.value, scope)
        self._body(node.body, _Scope(scope, is_class=True))
        scope.count += 1

    def _parameters(
        self, arguments: ast.arguments, inner: _Scope, outer: _Scope
    ) -> None:
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
        for argument in every:
            self._assign(inner, argument.arg)
            if argument.annotation is not None:
                self._annotation(argument.annotation, outer)
        for default in [*arguments.defaults, *arguments.kw_defaults]:
            if default is not None:
                self._expression(default, outer)
        inner.count += 1  # the Parameters node

    def _annotation(self, node: ast.expr, scope: _Scope) -> None:
        for inside in ast.walk(node):
            if isinstance(inside, ast.Constant) and isinstance(
                inside.value, str | bytes
            ):
                raise Unsupported("string annotation")  # libcst parses it
        self._expression(node, scope)

    def _target(self, node: ast.expr, scope: _Scope) -> None:
        if isinstance(node, ast.Name):
            self._assign(scope, node.id)
        elif isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                self._target(element, scope)
        elif isinstance(node, ast.Starred):
            self._target(node.value, scope)
        elif isinstance(node, ast.Attribute | ast.Subscript):
            self._expression(node, scope)
        else:
            raise Unsupported(type(node).__name__)

    def _deleted(self, node: ast.expr, scope: _Scope) -> None:
        """``del x`` reads ``x`` in libcst's model (its DEL context is an access)."""
        if isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                self._deleted(element, scope)
        else:
            self._expression(node, scope)

    def _expression(self, node: ast.expr, scope: _Scope) -> None:
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, ast.Name):
                self._read(item, scope)
            elif isinstance(item, ast.Lambda):
                inner = _Scope(scope)
                self._parameters(item.args, inner, scope)
                self._expression(item.body, inner)
            elif isinstance(item, _COMPREHENSIONS):
                self._comprehension(item, scope)
            elif isinstance(item, _UNSUPPORTED_EXPRESSIONS):
                raise Unsupported(type(item).__name__)
            else:
                if self.typed and isinstance(item, ast.Subscript | ast.Call):
                    self._refuse_type_hint_strings(item)
                for child in ast.iter_child_nodes(item):
                    if isinstance(child, ast.expr):
                        stack.append(child)
                    elif isinstance(child, ast.keyword):
                        stack.append(child.value)
                    elif isinstance(child, ast.comprehension | ast.arguments):
                        raise Unsupported(type(child).__name__)

    def _comprehension(
        self,
        node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp,
        scope: _Scope,
    ) -> None:
        """libcst's order: the first iterable outside; inside, the first target, one
        step, its conditions, then each further ``for`` (target, iterable,
        conditions, all at one step: libcst visits them nested and leaves them
        last to first), one step for each further ``for``, and the element."""
        first, *rest = node.generators
        self._expression(first.iter, scope)
        inner = _Scope(scope)
        self._target(first.target, inner)
        inner.count += 1
        for condition in first.ifs:
            self._expression(condition, inner)
        for generator in rest:
            self._target(generator.target, inner)
            self._expression(generator.iter, inner)
            for condition in generator.ifs:
                self._expression(condition, inner)
        inner.count += len(rest)
        if isinstance(node, ast.DictComp):
            self._expression(node.key, inner)
            self._expression(node.value, inner)
        else:
            self._expression(node.elt, inner)

    def _typing_imports(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[
                0
            ] in ("typing", "typing_extensions"):
                self.typing_names.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.Import):
                self.typing_names.update(
                    a.asname or a.name
                    for a in node.names
                    if a.name.split(".")[0] in ("typing", "typing_extensions")
                )

    def _refuse_type_hint_strings(self, node: ast.Subscript | ast.Call) -> None:
        """libcst parses strings inside ``typing`` subscripts and in ``cast``,
        ``TypeVar`` and ``NewType`` calls as annotations."""
        if isinstance(node, ast.Subscript):
            if not (
                isinstance(node.value, ast.Name) and node.value.id in self.typing_names
            ):
                return
            inside = ast.walk(node.slice)
        else:
            inside = (n for a in node.args for n in ast.walk(a))
        for item in inside:
            if isinstance(item, ast.Constant) and isinstance(item.value, str | bytes):
                raise Unsupported("string in a type hint")


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_UNSUPPORTED_EXPRESSIONS = (ast.NamedExpr,)


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


def _owner(scope: _Scope | None, name: str) -> _Scope | None:
    """The nearest scope that assigns ``name`` anywhere: ``scope`` itself, then the
    scopes around it that are not class bodies (libcst's ``_next_visible_parent``)."""
    if scope is not None and name in scope.assigned:
        return scope
    while scope is not None:
        scope = scope.parent
        if scope is not None and not scope.is_class and name in scope.assigned:
            return scope
    return None


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
