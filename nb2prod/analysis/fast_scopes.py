"""libcst's ``ScopeProvider`` as it behaves, reproduced over Python's ``ast``.

:mod:`nb2prod.analysis.fast` walks each top-level statement with :class:`Walk`, which
records every assignment and every read with libcst's counters, and asks
:meth:`Walk.global_read` which reads libcst would call global (or unresolved). The
rules, from ``libcst/metadata/scope_provider.py``:

* each scope has a counter, raised on leaving each assignment-like node (an
  assignment, an import, a function or class definition, a function's parameters, a
  ``with`` item and its ``as``, an ``except ... as``, a comprehension's further
  ``for``); a read is at the counter's value, and an assignment of its own scope
  counts for it only if it is at a lower value; otherwise the read resolves in the
  enclosing scope;
* resolving looks at the scope itself, then at the enclosing scopes that are not
  class bodies; a name no scope assigns is a builtin when ``builtins`` has it;
* a function's name, decorators, defaults, annotations and return annotation, a
  class's name, decorators, bases and keywords, and a comprehension's first iterable
  belong to the enclosing scope; a ``for`` target is assigned before its iterable is
  read; ``del x`` reads ``x``; ``x += 1`` only assigns it.

Anything else raises :class:`Unsupported` and the cell goes to libcst.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class Unsupported(Exception):
    """The cell uses a construct this module does not reproduce libcst's view of."""


@dataclass
class Scope:
    """A global, function, class or comprehension scope as libcst models it."""

    parent: Scope | None
    #: A class body: invisible to the scopes inside it (its methods).
    is_class: bool = False
    #: libcst's ``_assignment_count``: raised on leaving each assignment-like node.
    count: int = 0
    #: Each name assigned here, with the counter value of each assignment.
    assigned: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class Access:
    """A read of a name, where libcst would record it."""

    name: str
    scope: Scope
    index: int
    group: int
    line: int
    offset: int  # in bytes, as ast counts


class Walk:
    """The assignments and reads of one cell's top-level statements."""

    def __init__(self, tree: ast.Module, source: str, groups: int) -> None:
        self.globals = Scope(None)
        self.accesses: list[Access] = []
        #: The order in which names first enter the global scope.
        self.rank: dict[str, int] = {}
        #: The global names each top-level statement assigns.
        self.bound: list[set[str]] = [set() for _ in range(groups)]
        #: The top-level statement being walked.
        self.group = 0
        self.tree = tree
        self.typing_names: set[str] = set()
        self.typed = "typing" in source
        if self.typed:
            self._typing_imports()

    def global_read(self, access: Access) -> bool:
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

    def _assign(self, scope: Scope, name: str) -> None:
        scope.assigned.setdefault(name, []).append(scope.count)
        if scope is self.globals:
            self.rank.setdefault(name, len(self.rank))
            self.bound[self.group].add(name)

    def _read(self, node: ast.Name, scope: Scope) -> None:
        self.accesses.append(
            Access(
                node.id, scope, scope.count, self.group, node.lineno, node.col_offset
            )
        )

    def statement(self, node: ast.stmt, scope: Scope) -> None:
        """Record the statement's assignments and reads in libcst's visiting order."""
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

    def _body(self, body: list[ast.stmt], scope: Scope) -> None:
        for node in body:
            self.statement(node, scope)

    def _function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope
    ) -> None:
        self._assign(scope, node.name)
        inner = Scope(scope)
        self._parameters(node.args, inner, scope)
        self._body(node.body, inner)
        for decorator in node.decorator_list:
            self._expression(decorator, scope)
        if node.returns is not None:
            self._annotation(node.returns, scope)
        scope.count += 1

    def _class(self, node: ast.ClassDef, scope: Scope) -> None:
        """libcst's order: the name, the decorators, the bases and keywords in the
        enclosing scope, then the body in the class's scope."""
        self._assign(scope, node.name)
        for decorator in node.decorator_list:
            self._expression(decorator, scope)
        for base in node.bases:
            self._expression(base, scope)
        for keyword in node.keywords:
            self._expression(keyword.value, scope)
        self._body(node.body, Scope(scope, is_class=True))
        scope.count += 1

    def _parameters(self, arguments: ast.arguments, inner: Scope, outer: Scope) -> None:
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

    def _annotation(self, node: ast.expr, scope: Scope) -> None:
        for inside in ast.walk(node):
            if isinstance(inside, ast.Constant) and isinstance(
                inside.value, str | bytes
            ):
                raise Unsupported("string annotation")  # libcst parses it
        self._expression(node, scope)

    def _target(self, node: ast.expr, scope: Scope) -> None:
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

    def _deleted(self, node: ast.expr, scope: Scope) -> None:
        """``del x`` reads ``x`` in libcst's model (its DEL context is an access)."""
        if isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                self._deleted(element, scope)
        else:
            self._expression(node, scope)

    def _expression(self, node: ast.expr, scope: Scope) -> None:
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, ast.Name):
                self._read(item, scope)
            elif isinstance(item, ast.Lambda):
                inner = Scope(scope)
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
        scope: Scope,
    ) -> None:
        """libcst's order: the first iterable outside; inside, the first target, one
        step, its conditions, then each further ``for`` (target, iterable,
        conditions, all at one step: libcst visits them nested and leaves them
        last to first), one step for each further ``for``, and the element."""
        first, *rest = node.generators
        self._expression(first.iter, scope)
        inner = Scope(scope)
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


def _owner(scope: Scope | None, name: str) -> Scope | None:
    """The nearest scope that assigns ``name`` anywhere: ``scope`` itself, then the
    scopes around it that are not class bodies (libcst's ``_next_visible_parent``)."""
    if scope is not None and name in scope.assigned:
        return scope
    while scope is not None:
        scope = scope.parent
        if scope is not None and not scope.is_class and name in scope.assigned:
            return scope
    return None


__all__ = ["Access", "Scope", "Unsupported", "Walk"]
