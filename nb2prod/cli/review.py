"""What ``convert`` and ``verify`` show a reviewer after the equivalence table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from nb2prod.cli import behaviour_report, summary
from nb2prod.cli.terminal import safe
from nb2prod.pipeline import Proof


def after_proof(
    out: Console, err: Console, proof: Proof, json_report: Path | None
) -> None:
    """The behavioural diff, the ``--json`` report and ``build/review.html``."""
    if proof.behaviour is not None:
        behaviour_report.behaviour(out, proof.behaviour)
    if json_report is not None:
        json_report.write_text(behaviour_report.proof_json(proof), "utf-8")
    _review_page(out, err, proof)
    if summary.summary_file() is not None:
        command = "convert" if proof.generated is not None else "verify"
        summary.append(summary.proof_markdown(command, proof))


def _review_page(out: Console, err: Console, proof: Proof) -> None:
    """Write build/review.html; a page that cannot be written is a warning only."""
    from nb2prod.cli.review_page import write_review_page

    folder = proof.prepared.job.folder
    executed = folder / "build" / proof.recording.executed.name
    try:
        page = write_review_page(proof, folder, executed)
    except Exception as exc:  # the proof stands without its page
        err.print(f"warning: build/review.html not written: {safe(str(exc))}")
        return
    out.print(f"review page: {safe(str(page))}")
