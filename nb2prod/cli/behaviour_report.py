"""The behavioural diff in the terminal and in ``--json``."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from nb2prod.cli.terminal import safe
from nb2prod.pipeline import Proof
from nb2prod.run.behaviour import Artifact, ArtifactChange, BehaviourDiff


def behaviour(console: Console, diff: BehaviourDiff) -> None:
    """What changed against the package this convert replaced."""
    console.print("behaviour vs the previous package", style="bold")
    for kind, names in diff.code_changes:
        console.print(f"code {kind}: {safe(', '.join(names))}")
    for change in diff.artifacts:
        console.print(f"artifact {safe(change.name)}: {safe(artifact_text(change))}")
    if diff.functions:
        table = Table(title="outputs on the previous recorded inputs")
        for column in ("function", "calls", "changed", "max abs", "max rel", "flipped"):
            table.add_column(
                column, justify="left" if column == "function" else "right"
            )
        for moved in diff.functions:
            style = "red" if moved.changed else "green"
            table.add_row(
                safe(moved.function),
                str(moved.calls),
                f"[{style}]{moved.changed}[/]",
                f"{moved.max_abs:.3g}",
                f"{moved.max_rel:.3g}",
                moved.flipped_text,
            )
        console.print(table)
        for moved in diff.functions:
            if moved.error:
                console.print(f"note: {safe(moved.function)}: {safe(moved.error)}")
    if diff.problem:
        console.print(f"warning: {safe(diff.problem)}", style="yellow")
    moved_names = [m.function for m in diff.moved]
    if moved_names:
        console.print(f"[yellow]moved:[/] {safe(', '.join(moved_names))}")
    elif not diff.code_changes:
        if not diff.artifacts:
            console.print("[green]unchanged:[/] same code, artifacts and outputs")
    else:
        console.print("[green]same outputs[/] on every previous recorded call")


def artifact_text(change: ArtifactChange) -> str:
    """``changed: sha256 1234abcd → 5678ef01, 3.9 KiB → 4.0 KiB, type ...``."""
    old, new = change.old, change.new
    if old is None and new is not None:
        return f"added ({_facts(new)})"
    if new is None and old is not None:
        return f"removed (was {_facts(old)})"
    assert old is not None and new is not None
    parts = [f"sha256 {old.sha256[:12]} → {new.sha256[:12]}"]
    parts.append(f"{size_text(old.size)} → {size_text(new.size)}")
    parts.append(
        f"type {old.type} → {new.type}" if old.type != new.type else f"type {new.type}"
    )
    return "changed: " + ", ".join(parts)


def _facts(artifact: Artifact) -> str:
    return f"{artifact.type}, {size_text(artifact.size)}, sha256 {artifact.sha256[:12]}"


def size_text(count: int) -> str:
    """A byte count for people."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def proof_json(proof: Proof) -> str:
    """The ``--json`` report: the replay's, with the behavioural diff when there is one."""
    text = proof.report.to_json()
    if proof.behaviour is None:
        return text
    data = json.loads(text)
    data["behaviour"] = proof.behaviour.to_dict()
    return json.dumps(data, indent=2) + "\n"
