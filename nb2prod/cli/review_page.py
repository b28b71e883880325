"""``build/review.html``: one self-contained page for the reviewer of a notebook change.

It holds the equivalence table, the behavioural diff, the data contract, the
artifacts, the learned values, and the executed notebook rendered by nbconvert's
HTML exporter (its plots included, as data URIs). The page makes no outside
request: nbconvert's require.js, MathJax, Mermaid and widget scripts (loaded from
CDNs by default) are left out, and a Content-Security-Policy forbids the browser
any other load, whatever a notebook output holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from nb2prod.cli.behaviour_report import artifact_text, size_text
from nb2prod.output.lock import Lock
from nb2prod.output.paths import contained
from nb2prod.pipeline import Proof
from nb2prod.run.behaviour import BehaviourDiff, artifacts_in

#: Where the page goes, relative to the package folder (git ignores build/).
PAGE = "build/review.html"
#: Nothing leaves the page: data URIs and inline styles and scripts only.
POLICY = (
    "default-src 'none'; img-src data:; media-src data:; font-src data:; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'"
)
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.nb2prod_policy }}">
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style>{{ resources.nb2prod_css }}</style>{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
{{ resources.nb2prod_review }}
{%- endblock body_header -%}
"""
_CSS = """
.nb2prod-review { font-family: system-ui, sans-serif; max-width: 72rem;
  margin: 1rem auto; padding: 0 1rem; }
.nb2prod-review table { border-collapse: collapse; margin: .5rem 0 1rem; }
.nb2prod-review th, .nb2prod-review td { border: 1px solid #ccc;
  padding: .2rem .6rem; text-align: right; }
.nb2prod-review th:first-child, .nb2prod-review td:first-child { text-align: left; }
.nb2prod-review .bad { color: #b00020; font-weight: bold; }
.nb2prod-review .good { color: #1b7a2e; }
.nb2prod-review pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; }
"""


def write_review_page(proof: Proof, folder: Path, executed: Path | None) -> Path:
    """Write the page for ``proof`` under ``folder``; return its path."""
    import nbformat

    lock = proof.generated.lock if proof.generated else proof.prepared.previous
    sections = [
        f"<h1>Review of {escape(proof.prepared.job.notebook.name)}</h1>",
        _equivalence(proof),
    ]
    if proof.behaviour is not None:
        sections.append(_behaviour(proof.behaviour))
    src = folder / "src" / proof.prepared.job.package
    sections += [_contract(lock), _artifacts(src), _learned(lock)]
    sections.append("<h2>The executed notebook</h2>")
    review = '<section class="nb2prod-review">' + "\n".join(sections) + "</section>"
    if executed is not None and executed.is_file():
        notebook = nbformat.read(str(executed), as_version=4)  # type: ignore[no-untyped-call]
    else:  # no run to show: the notebook as read
        document = proof.prepared.selection.notebook.document
        notebook = nbformat.from_dict(document)  # type: ignore[no-untyped-call]
        review += "<p>(the notebook as read: no executed copy was kept)</p>"
    page = _render(notebook, review)
    target = contained(folder, PAGE)  # refuses a build/ that links elsewhere
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, "utf-8")
    return target


def _render(notebook: Any, review: str) -> str:
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        extra_loaders=[jinja2.DictLoader({"nb2prod_review.html.j2": _TEMPLATE})],
        template_file="nb2prod_review.html.j2",
        embed_images=True,
    )
    resources = {
        "nb2prod_review": review,
        "nb2prod_css": _CSS,
        "nb2prod_policy": POLICY,
    }
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    return str(body)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table; cells are HTML already (escape text before)."""
    top = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{top}</tr></thead><tbody>{body}</tbody></table>"


def _equivalence(proof: Proof) -> str:
    report, calls = proof.report, proof.recording.calls
    rows = []
    for f in report.functions:
        style = "good" if f.equal == f.calls else "bad"
        mismatch = ""
        if f.mismatch is not None:
            where = f" at {f.mismatch.where}" if f.mismatch.where else ""
            mismatch = escape(
                f"tests/cases/{f.mismatch.case}{where}: {f.mismatch.detail}"
            )
        rows.append(
            [
                escape(f.function),
                str(calls.get(f.function, 0)),
                str(f.calls),
                f'<span class="{style}">{f.equal}</span>',
                f"{f.max_abs:.3g}",
                f"{f.max_rel:.3g}",
                mismatch,
            ]
        )
    verdict = (
        '<p class="good">equivalent: every recorded call matches</p>'
        if report.ok
        else '<p class="bad">not equivalent</p>'
    )
    tolerance = f"rtol={report.tolerance.rtol:g}, atol={report.tolerance.atol:g}"
    if report.environment:
        tolerance += f"; replayed {report.environment}"
    head = ["function", "calls", "replayed", "equal", "max abs", "max rel", "mismatch"]
    interfaces = [
        [
            escape(i.interface),
            str(len(i.calls)),
            f'<span class="{"good" if i.ok else "bad"}">'
            f"{sum(c.equal for c in i.calls)}</span>",
            escape(i.status),
            escape(i.mismatches[0] if i.mismatches else ""),
        ]
        for i in report.interfaces
    ]
    through = ["interface", "calls", "equal", "status", "first mismatch"]
    return (
        "<h2>Package vs notebook</h2>"
        + _table(head, rows)
        + ("<h3>predict through its interfaces</h3>" + _table(through, interfaces)
           if interfaces else "")
        + verdict
        + f"<p>{escape(tolerance)}</p>"
    )  # fmt: skip


def _behaviour(diff: BehaviourDiff) -> str:
    parts = ["<h2>Behaviour vs the previous package</h2>"]
    for kind, names in diff.code_changes:
        items = ", ".join(f"<code>{escape(n)}</code>" for n in names)
        parts.append(f"<p>Code {kind}: {items}</p>")
    for change in diff.artifacts:
        parts.append(
            f"<p>Artifact <code>{escape(change.name)}</code>: "
            f"{escape(artifact_text(change))}</p>"
        )
    if diff.problem:
        parts.append(f'<p class="bad">{escape(diff.problem)}</p>')
    rows = []
    for moved in diff.functions:
        rows.append(
            [
                escape(moved.function),
                str(moved.calls),
                f'<span class="{"bad" if moved.changed else "good"}">{moved.changed}</span>',
                f"{moved.max_abs:.3g}",
                f"{moved.max_rel:.3g}",
                moved.flipped_text,
                escape(moved.error),
            ]
        )
    if rows:
        head = ["function", "previous calls", "changed", "max abs", "max rel"]
        parts.append(_table([*head, "flipped", "error"], rows))
    return "\n".join(parts)


def _contract(lock: Lock | None) -> str:
    contract = lock.contract if lock else {}
    if not contract:
        return "<h2>Data contract</h2><p>none recorded</p>"
    given = contract.get("input", {})
    parts = ["<h2>Data contract</h2>"]
    columns = given.get("columns") if isinstance(given, dict) else None
    if isinstance(columns, list):
        keys = ["name", "dtype", "type", "nullable", "optional"]
        rows = [
            [escape(str(c.get(k, ""))) for k in keys]
            for c in columns
            if isinstance(c, dict)
        ]
        parts.append(_table(keys, rows))
    shown = {k: v for k, v in contract.items() if k != "example"}
    if isinstance(columns, list):  # in the table above already
        shown["input"] = {k: v for k, v in given.items() if k != "columns"}
    parts.append(f"<pre>{escape(json.dumps(shown, indent=2, default=str))}</pre>")
    return "\n".join(parts)


def _artifacts(src: Path) -> str:
    found = artifacts_in(src)
    if not found:
        return "<h2>Artifacts</h2><p>none</p>"
    rows = [
        [
            escape(name),
            escape(a.file),
            escape(size_text(a.size)),
            f"<code>{escape(a.sha256)}</code>",
            escape(a.type),
        ]
        for name, a in sorted(found.items())
    ]
    head = ["artifact", "file", "size", "sha256", "type"]
    return "<h2>Artifacts</h2>" + _table(head, rows)


def _learned(lock: Lock | None) -> str:
    learned = lock.learned if lock else {}
    if not learned:
        return "<h2>Learned values</h2><p>none</p>"
    rows = []
    for name, entry in sorted(learned.items()):
        entry = entry if isinstance(entry, dict) else {}
        value = entry.get("literal", "(an artifact)")
        rows.append(
            [
                escape(name),
                f"<code>{escape(str(value))}</code>",
                f"<code>{escape(str(entry.get('expression', '')))}</code>",
            ]
        )
    return "<h2>Learned values</h2>" + _table(["name", "value", "from"], rows)
