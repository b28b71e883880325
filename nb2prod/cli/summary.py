"""A Markdown summary for the CI job page, when ``GITHUB_STEP_SUMMARY`` names a file.

GitHub Actions shows what a step appends to that file on the run's summary page;
``convert``, ``verify`` and ``check`` append the equivalence table, the behavioural
diff and the files that changed (or are stale).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nb2prod.output.writing import Fate, WriteReport
from nb2prod.render.escaping import code, md

if TYPE_CHECKING:  # imported by the CLI at start: the pipeline only when used
    from nb2prod.pipeline import Proof, StaleFile
    from nb2prod.run.behaviour import BehaviourDiff

#: The environment variable GitHub Actions sets to the step's summary file.
VARIABLE = "GITHUB_STEP_SUMMARY"
#: Folders of recorded files, listed as one line each.
_FOLDED = ("tests/cases/", "tests/fixtures/")


def summary_file() -> Path | None:
    """The file to append to, or None outside GitHub Actions."""
    value = os.environ.get(VARIABLE, "")
    return Path(value) if value else None


def append(text: str) -> None:
    """Append ``text`` to the summary file, if there is one."""
    target = summary_file()
    if target is not None:
        with target.open("a", encoding="utf-8") as handle:
            handle.write(text.rstrip("\n") + "\n\n")


def proof_markdown(command: str, proof: Proof) -> str:
    """``convert`` or ``verify``: the equivalence table, behaviour, files changed."""
    job = proof.prepared.job
    report = proof.report
    lines = [
        f"### nb2prod {command} {code(job.notebook.name)} → {code(job.folder.name)}"
    ]
    tolerance = f"rtol={report.tolerance.rtol:g}, atol={report.tolerance.atol:g}"
    verdict = (
        "**equivalent**: every recorded call matches"
        if report.ok
        else f"**not equivalent**: {sum(f.equal != f.calls for f in report.functions)}"
        f" function(s) and {sum(not i.ok for i in report.interfaces)} interface(s) differ"
    )
    lines += ["", f"{verdict} ({tolerance})", ""]
    rows = []
    for f in report.functions:
        mark = "✅" if f.equal == f.calls else "❌"
        rows.append(
            [
                code(f.function),
                str(proof.recording.calls.get(f.function, 0)),
                str(f.calls),
                f"{mark} {f.equal}",
                f"{f.max_abs:.3g}",
                f"{f.max_rel:.3g}",
            ]
        )
    head = ["function", "calls", "replayed", "equal", "max abs", "max rel"]
    lines.append(_table(head, rows))
    if report.interfaces:
        through = [
            [md(i.interface), str(len(i.calls)), f"{'✅' if i.ok else '❌'} {i.status}"]
            for i in report.interfaces
        ]
        lines += ["", _table(["predict through", "calls", "status"], through)]
        lines += [
            f"- mismatch: {md(m)}" for i in report.interfaces for m in i.mismatches
        ]
    for f in report.functions:
        if f.mismatch is not None:
            where = f" at {f.mismatch.where}" if f.mismatch.where else ""
            lines.append(
                f"- mismatch: {code(f.function)}, call "
                f"{code('tests/cases/' + f.mismatch.case)}{md(where)}: "
                f"{md(f.mismatch.detail)}"
            )
    if proof.behaviour is not None:
        lines += ["", behaviour_markdown(proof.behaviour)]
    if proof.written is not None:
        lines += ["", written_markdown(proof.written)]
    return "\n".join(lines)


def behaviour_markdown(diff: BehaviourDiff) -> str:
    """The behavioural diff as Markdown."""
    from nb2prod.cli.behaviour_report import artifact_text

    lines = ["#### Behaviour vs the previous package", ""]
    for kind, names in diff.code_changes:
        lines.append(f"- Code {kind}: {', '.join(code(n) for n in names)}")
    for change in diff.artifacts:
        lines.append(f"- Artifact {code(change.name)}: {md(artifact_text(change))}")
    if not (diff.code_changes or diff.artifacts):
        lines.append("- No code or artifact changed")
    if diff.problem:
        lines.append(f"- ⚠️ {md(diff.problem)}")
    rows = []
    for moved in diff.functions:
        rows.append(
            [
                code(moved.function),
                str(moved.calls),
                f"{'⚠️ ' if moved.changed else ''}{moved.changed}",
                f"{moved.max_abs:.3g}",
                f"{moved.max_rel:.3g}",
                moved.flipped_text,
            ]
        )
    if rows:
        head = ["function", "previous calls", "changed", "max abs", "max rel"]
        lines += ["", _table([*head, "flipped"], rows)]
    return "\n".join(lines)


def written_markdown(report: WriteReport) -> str:
    """The files convert created, updated or removed (recorded folders folded)."""
    lines = ["#### Files changed", ""]
    folded: dict[tuple[str, str], int] = {}
    for change in report.changes:
        if change.fate is Fate.UNCHANGED:
            continue
        folder = next((f for f in _FOLDED if change.path.startswith(f)), "")
        if folder:
            key = (folder, change.fate.value)
            folded[key] = folded.get(key, 0) + 1
        else:
            lines.append(f"- {change.fate.value} {code(change.path)}")
    for (folder, fate), count in sorted(folded.items()):
        lines.append(f"- {fate} {code(folder)} ({count} files)")
    if len(lines) == 2:
        lines.append("- none")
    return "\n".join(lines)


def check_markdown(folder: str, notebook: str, stale: Sequence[StaleFile]) -> str:
    """``check``: up to date, or the stale files and the diff's size."""
    title = f"### nb2prod check {code(notebook)} → {code(Path(folder).name)}"
    if not stale:
        return f"{title}\n\n✅ up to date"
    lines = [
        title,
        "",
        f"❌ {len(stale)} file(s) differ from what the notebook generates",
        "",
    ]
    for item in stale:
        changed = sum(
            1
            for line in item.diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        )
        lines.append(f"- {code(item.path)} ({changed} changed lines)")
    return "\n".join(lines)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    aligned = ["---"] + ["---:"] * (len(head) - 1)
    lines = [
        "| " + " | ".join(head) + " |",
        "| " + " | ".join(aligned) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
