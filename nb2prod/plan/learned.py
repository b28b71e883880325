"""Learned values after a run: the literal or artifact each one ships as.

A learned value's expression reads the notebook's data, so only a run can compute
it; its record comes from that run, or from the lock the last run left.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from nb2prod.errors import ConversionError, Diagnostic, Location, error
from nb2prod.plan.model import LearnedValue, PackagePlan
from nb2prod.standalone.learned import MAX_LITERAL, literal


def learned_values(
    plan: PackagePlan,
    recorded: Mapping[str, Any],
    saved: Collection[str],
    notebook: Path,
) -> dict[str, str | None]:
    """Each learned value's literal, or None for one saved as an artifact.

    From a run, or from the lock when its entry was recorded for the statement as
    it is now; the lock is not trusted, so a literal must parse back as a plain value
    and is written out again from that value. Raise when a value has no record.
    """
    values: dict[str, str | None] = {}
    problems: list[Diagnostic] = []
    for value in plan.learned:
        for name in value.names:
            found, why = _learned_value(recorded.get(name), value, name in saved)
            if why:
                problems.append(_no_value(value, name, why, notebook, plan))
            else:
                values[name] = found
    if problems:
        raise ConversionError(problems)
    return values


def _learned_value(
    entry: Any, value: LearnedValue, saved: bool
) -> tuple[str | None, str]:
    """(literal or None for an artifact, '') or (None, why there is no value)."""
    if not isinstance(entry, Mapping):
        return None, "no run has recorded its value"
    expression = entry.get("expression")
    if expression is not None and expression != value.expression:
        return None, "the statement changed since the last run recorded its value"
    if entry.get("artifact") is True and saved:
        return None, ""
    text = entry.get("literal")
    if isinstance(text, str) and len(text) <= 2 * MAX_LITERAL:
        try:
            canonical = literal(ast.literal_eval(text))
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            canonical = None
        if canonical is not None:
            return canonical, ""
    return None, "nb2prod.lock holds no plain value for it"


def _no_value(
    value: LearnedValue, name: str, why: str, notebook: Path, plan: PackagePlan
) -> Diagnostic:
    cell = value.cell.cell.cell
    inputs = ", ".join(f"'{n}'" for n in value.inputs)
    return error(
        f"'{name}' is learned from the notebook's data ({inputs}, which no shipped "
        f"cell defines): {why}",
        Location(plan.notebook.path, cell.number, cell.id, value.line),
        f"run `nb2prod convert {notebook}` (without --no-execute): the run records it",
    )


def with_learned_artifacts(
    plan: PackagePlan, learned: Mapping[str, str | None]
) -> PackagePlan:
    """The plan with the learned values saved as artifacts among its artifacts."""
    extra = [
        (name, value.cell)
        for value in plan.learned
        for name in value.names
        if learned.get(name, "") is None
    ]
    if not extra:
        return plan
    artifacts = tuple(sorted([*plan.artifacts, *extra], key=lambda item: item[0]))
    return dataclasses.replace(plan, artifacts=artifacts)


def learned_entries(
    plan: PackagePlan, learned: Mapping[str, str | None]
) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for value in plan.learned:
        for name in value.names:
            text = learned[name]
            entries[name] = {
                "cell": value.cell.cell.cell.number,
                "expression": value.expression,
                **({"artifact": True} if text is None else {"literal": text}),
            }
    return entries
