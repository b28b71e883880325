"""Build the instrumented copy of a notebook that papermill runs.

The user's cells are kept as they are (``nb2prod:skip`` cells dropped); one-line
cells calling :class:`nb2prod.standalone.recorder.Session` are injected around them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nb2prod.analysis.cells import CellAnalysis, Kind
from nb2prod.notebook.vocabulary import Role
from nb2prod.plan.planner import PackagePlan
from nb2prod.settings import Limits
from nb2prod.standalone import recorder
from nb2prod.standalone.recorder import SESSION

#: Tag of every cell nb2prod injects.
INJECTED = "nb2prod-injected"
#: Metadata key holding a kept cell's number in the user's notebook.
CELL_NUMBER = "nb2prod_cell"


def instrument(
    plan: PackagePlan, cells: Sequence[CellAnalysis], folder: Path, limits: Limits
) -> Any:
    """The notebook to run: the user's cells plus the recorder's."""
    import nbformat  # imported here: it is slow to import, and only runs need it

    # The copy is made from the very read the plan came from: a save while the
    # kernel runs cannot make the recording describe another notebook.
    original = nbformat.from_dict(copy.deepcopy(plan.notebook.document))  # type: ignore[no-untyped-call]
    roles = {c.cell.cell.number: c.cell.role for c in cells}
    wraps = _wraps_after(plan)
    fixtures = {t.cell.cell.cell.number: t for t in plan.tests if t.fixtures}
    entrypoint = plan.predict.name if plan.predict else None
    new_cells = [_injected(_setup(folder, limits, entrypoint))]
    for number, cell in enumerate(original.cells, 1):
        if roles.get(number) is Role.SKIP:
            continue
        if number in fixtures:
            test = fixtures[number]
            new_cells.append(
                _injected(_call("fixtures", test.name, "globals()", test.fixtures))
            )
        cell.metadata[CELL_NUMBER] = number
        if roles.get(number) is Role.PARAMETERS:  # papermill only reads metadata tags
            tags = cell.metadata.setdefault("tags", [])
            if "parameters" not in tags:
                tags.append("parameters")
        new_cells.append(cell)
        for module, names in wraps.get(number, {}).items():
            new_cells.append(_injected(_call("wrap", "globals()", module, names)))
    artifacts = [name for name, _ in plan.artifacts]
    shipped = _definitions(plan)
    learned = [name for value in plan.learned for name in value.names]
    new_cells.append(
        _injected(
            _call("finish", "globals()", artifacts, plan.package, shipped, learned)
        )
    )
    original.cells = new_cells
    return original


def _wraps_after(plan: PackagePlan) -> dict[int, dict[str, list[str]]]:
    """For each cell number, the public functions it defines, by module.

    Every public function is recorded (export helpers too, for their types and
    golden cases); only feature and predict functions must be called.
    """
    wraps: dict[int, dict[str, list[str]]] = {}
    for module in plan.modules:
        for block in module.blocks:
            for statement in block.statements:
                name = statement.binds[0] if statement.binds else "_"
                if statement.kind is not Kind.FUNCTION or name.startswith("_"):
                    continue
                number = block.cell.cell.cell.number
                wraps.setdefault(number, {}).setdefault(module.name, []).append(name)
    return wraps


def _definitions(plan: PackagePlan) -> dict[str, str]:
    """Each function and class the package defines, with its module."""
    return {
        name: module.name
        for module in plan.modules
        for block in module.blocks
        for statement in block.statements
        if statement.kind in (Kind.FUNCTION, Kind.CLASS)
        for name in statement.binds
    }


def _setup(folder: Path, limits: Limits, entrypoint: str | None) -> str:
    return (
        f"import {recorder.__name__}\n"
        f"{SESSION} = {recorder.__name__}.Session({json.dumps(str(folder))}, "
        f"max_calls={limits.max_calls}, max_rows={limits.max_rows}, "
        f"entrypoint={json.dumps(entrypoint) if entrypoint else None})"
    )


def _call(method: str, *args: object) -> str:
    rendered = [a if a == "globals()" else json.dumps(a) for a in args]
    return f"{SESSION}.{method}({', '.join(rendered)})"


def _injected(source: str) -> Any:
    from nbformat.v4 import new_code_cell

    return new_code_cell(source, metadata={"tags": [INJECTED]})  # type: ignore[no-untyped-call]
