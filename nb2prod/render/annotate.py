"""Annotate shipped functions from the types their recorded calls showed.

Annotations the user wrote are kept; a missing one comes from the calls (through
the lock's ``signatures``), else from a literal default, else ``Any``. Qualified
names (``pandas.DataFrame``) become the names a module imports (``pd.DataFrame``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from nb2prod.analysis.cells import ImportBinding
from nb2prod.plan.serving import is_annotation
from nb2prod.standalone.valuetypes import describe, merge

#: Modules that annotations refer to, with the import that makes each available.
_IMPORTS = {
    "pandas": ImportBinding("pd", None, "pandas", "pd", 0, 0),
    "numpy": ImportBinding("np", None, "numpy", "np", 0, 0),
    "scipy.sparse": ImportBinding("sparse", "scipy", "sparse", None, 0, 0),
    "datetime": ImportBinding("datetime", None, "datetime", None, 0, 0),
    "decimal": ImportBinding("decimal", None, "decimal", None, 0, 0),
}
_ANY = ImportBinding("Any", "typing", "Any", None, 0, 0)
_QUALIFIED = re.compile(r"\b(scipy\.sparse|pandas|numpy|datetime|decimal)\.(\w+)")


@dataclass
class Annotator:
    """Annotates the functions of one module, collecting the imports that needs."""

    #: Imports the module already has.
    imports: Sequence[ImportBinding]
    #: Every name the module binds (so that an added import cannot shadow one).
    bound: frozenset[str]
    #: Per function, the signature its recorded calls showed.
    signatures: Mapping[str, Any]
    #: Imports the annotations need, beyond ``imports``.
    needed: dict[str, ImportBinding] = field(default_factory=dict)

    def function(self, node: cst.FunctionDef) -> cst.FunctionDef:
        """``node`` with every parameter and its return annotated."""
        if node.name.value.startswith("_"):
            return node
        signature = self.signatures.get(node.name.value, {})
        positional = list(signature.get("positional", []))
        keywords = dict(signature.get("keywords", {}))
        params = node.params
        ordered = [*params.posonly_params, *params.params]
        new_ordered = [
            self._param(
                p,
                [
                    *positional[i : i + 1],
                    *([keywords[p.name.value]] if p.name.value in keywords else []),
                ],
            )
            for i, p in enumerate(ordered)
        ]
        kwonly = [
            self._param(p, [keywords[p.name.value]] if p.name.value in keywords else [])
            for p in params.kwonly_params
        ]
        star = params.star_arg
        if isinstance(star, cst.Param):
            star = self._param(star, [])
        star_kwargs = self._param(params.star_kwarg, []) if params.star_kwarg else None
        new_params = params.with_changes(
            posonly_params=new_ordered[: len(params.posonly_params)],
            params=new_ordered[len(params.posonly_params) :],
            kwonly_params=kwonly,
            star_arg=star,
            star_kwarg=star_kwargs,
        )
        returns = node.returns
        if returns is None:
            returns = self._annotation(signature.get("returns", "Any"))
        return node.with_changes(params=new_params, returns=returns)

    def _param(self, param: cst.Param, seen: list[str]) -> cst.Param:
        if param.annotation is not None:
            return param
        types = list(seen)
        if param.default is not None:
            types.append(_default_type(param.default))
        return param.with_changes(
            annotation=self._annotation(merge(types) if types else "Any")
        )

    def _annotation(self, text: str) -> cst.Annotation:
        if not isinstance(text, str) or not is_annotation(text):
            text = "Any"  # a damaged or hostile signature: never code
        expression = _QUALIFIED.sub(self._local_name, text)
        if re.search(r"\bAny\b", expression):
            self.needed.setdefault("typing.Any", _ANY)
        return cst.Annotation(cst.parse_expression(expression))

    def _local_name(self, match: re.Match[str]) -> str:
        module, name = match.group(1), match.group(2)
        for binding in self.imports:
            if binding.module is None and binding.imported == module:
                return f"{binding.name}.{name}"
            if binding.module and f"{binding.module}.{binding.imported}" == module:
                return f"{binding.name}.{name}"
        binding = _IMPORTS[module]
        if binding.name in self.bound:
            self.needed.setdefault("typing.Any", _ANY)
            return "Any"  # the usual alias means something else here
        self.needed.setdefault(module, binding)
        return f"{binding.name}.{name}"


def _default_type(default: cst.BaseExpression) -> str:
    try:
        value = ast.literal_eval(cst.Module(body=[]).code_for_node(default))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "Any"
    return describe(value)
