"""Reviewing a notebook change: the behavioural diff, the review page, the CI summary.

One module-scoped pair of converts (a notebook, then the same notebook with a
shipped constant changed by one character and an untagged cell inserted) serves
every test here: each convert runs a kernel.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import browser
import pytest
from conftest import Run, run_cli

from nb2prod.run import behaviour
from nb2prod.standalone.compare import Tolerance
from notebooks import code, md, write

EXPORT = (
    "SCALE = 2.5\n\n\n"
    "def scaled(values: list[float]) -> list[float]:\n"
    "    return [value * SCALE for value in values]\n"
)
PREDICT = (
    "def predict(values: list[float]) -> list[bool]:\n"
    "    return [value >= 5.0 for value in scaled(values)]\n"
)


def cells(export: str = EXPORT) -> list[Any]:
    return [
        md("# Scoring\nA one-line model.", cell_id="title"),
        code(export, "nb2prod:export", cell_id="scale"),
        code(PREDICT, "nb2prod:predict", cell_id="decide"),
        code(
            "inputs = [[0.5, 1.0, 1.5, 2.0], [1.8, 1.9, 2.1, 2.2], [3.0]]\n"
            "for batch in inputs:\n"
            "    print(predict(batch))",
            cell_id="try-it",
        ),
    ]


@dataclass(frozen=True)
class Change:
    """The package folder after both converts, and what the second one said."""

    folder: Path
    first: Run
    second: Run
    report: dict[str, Any]
    summary: str


@pytest.fixture(scope="module")
def change(tmp_path_factory: pytest.TempPathFactory) -> Change:
    root = tmp_path_factory.mktemp("review")
    notebook = write(root / "scoring.ipynb", *cells())
    first = run_cli("convert", notebook)
    assert first.exit_code == 0, first.stderr
    folder = root / "scoring"
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run(["git", "-C", str(folder), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t",
         "commit", "-qm", "first"],
        check=True,
    )  # fmt: skip
    changed = cells(EXPORT.replace("2.5", "3.5"))
    changed.insert(3, code("print('exploring')", cell_id="explore"))
    write(notebook, *changed)
    summary = root / "summary.md"
    summary.write_text("earlier step\n")
    os.environ["GITHUB_STEP_SUMMARY"] = str(summary)
    try:
        second = run_cli("convert", notebook, "--json", root / "report.json")
    finally:
        del os.environ["GITHUB_STEP_SUMMARY"]
    assert second.exit_code == 0, second.stderr
    report = json.loads((root / "report.json").read_text())
    return Change(folder, first, second, report, summary.read_text())


def test_a_one_character_change_is_two_lines_under_src(change: Change) -> None:
    shown = subprocess.run(
        ["git", "-C", str(change.folder), "diff", "--numstat", "--", "src"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    added = sum(int(n) for n in shown[0::3])
    removed = sum(int(n) for n in shown[1::3])
    assert (added, removed) == (2, 2), shown  # SCALE, and the tagged cells' hash


def test_the_behavioural_diff_names_what_moved_and_by_how_much(
    change: Change,
) -> None:
    assert "behaviour vs the previous package" not in change.first.stdout
    text = change.second.stdout
    assert "code changed: common.SCALE" in text
    assert "moved: predict, scaled" in text
    behaviour = change.report["behaviour"]
    assert behaviour["changed_code"] == ["common.SCALE"]
    assert behaviour["artifacts"] == []
    moved = {f["function"]: f for f in behaviour["functions"]}
    # scaled: 3 calls, every output moved; at most 3.0 * (3.5 - 2.5) = 3.0, by 40%.
    assert moved["scaled"]["calls"] == moved["scaled"]["changed"] == 3
    assert moved["scaled"]["max_abs"] == pytest.approx(3.0)
    assert moved["scaled"]["max_rel"] == pytest.approx(0.4)
    assert moved["scaled"]["flipped_share"] is None
    # predict: with 3.5, 1.5 then 1.8 and 1.9 reach 5.0: 3 of 9 labels flip, in
    # 2 of the 3 calls (3.0 was above already).
    assert moved["predict"]["labels"] == 9
    assert moved["predict"]["flipped"] == 3
    assert moved["predict"]["changed"] == 2
    assert "3/9 (33.3%)" in text


def chromium_or_skip() -> str:
    found = browser.find_chromium()
    if found is None:
        print("SKIPPED: no Chromium on the PATH (.ci/run installs it with apt-get)")
        pytest.skip("no Chromium on the PATH (.ci/run installs it with apt-get)")
    return found


def test_the_review_page_renders_in_chromium_with_no_error_and_no_request(
    change: Change,
) -> None:
    page = change.folder / "build" / "review.html"
    assert f"review page: {page}" in change.second.stdout
    html = page.read_text()
    assert "Content-Security-Policy" in html
    assert "cdnjs" not in html and "require.min.js" not in html
    seen = browser.visit(chromium_or_skip(), page)
    assert seen.errors == []
    assert seen.outside == []
    text = seen.text
    # The equivalence table, the behavioural diff, and the executed notebook.
    assert "Package vs notebook" in text
    assert "equivalent: every recorded call matches" in text
    assert "Behaviour vs the previous package" in text
    assert "common.SCALE" in text and "3/9 (33.3%)" in text
    assert "The executed notebook" in text
    assert "A one-line model." in text  # the notebook's markdown
    assert "[False, False, True, True]" in text  # and its outputs, executed


def test_the_browser_check_sees_errors_and_outside_requests(tmp_path: Path) -> None:
    """The check above would fail on a page that logs an error or loads a URL."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<p>hi</p><img src="http://198.51.100.1/x.png">'
        "<script>console.error('boom')</script>"
    )
    seen = browser.visit(chromium_or_skip(), page)
    assert "boom" in seen.errors
    assert seen.outside == ["http://198.51.100.1/x.png"]


def test_verify_writes_the_review_page_and_the_summary_too(
    change: Change, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = change.folder / "build" / "review.html"
    page.unlink()
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run_cli("verify", change.folder.parent / "scoring.ipynb")
    assert result.exit_code == 0, result.stderr
    html = page.read_text()
    assert "Package vs notebook" in html and "The executed notebook" in html
    # verify has no previous package to compare with
    assert "Behaviour vs the previous package" not in html
    text = summary.read_text()
    assert text.startswith("### nb2prod verify `scoring.ipynb` → `scoring`\n")
    assert "| `predict` | 3 | 3 | ✅ 3 | 0 | 0 |" in text


def test_convert_appends_a_markdown_summary_for_github_actions(
    change: Change,
) -> None:
    text = change.summary
    assert text.startswith("earlier step\n")  # appended, never overwritten
    assert "### nb2prod convert `scoring.ipynb` → `scoring`" in text
    assert "**equivalent**: every recorded call matches" in text
    assert "| function | calls | replayed | equal | max abs | max rel |" in text
    assert "| `scaled` | 3 | 3 | ✅ 3 | 0 | 0 |" in text
    assert "#### Behaviour vs the previous package" in text
    assert "- Code changed: `common.SCALE`" in text
    assert "| `predict` | 3 | ⚠️ 2 | 0 | 0 | 3/9 (33.3%) |" in text
    assert "| `scaled` | 3 | ⚠️ 3 | 3 | 0.4 |  |" in text
    assert "#### Files changed" in text
    assert "- updated `src/scoring/common.py`" in text


def test_check_appends_its_verdict_to_the_summary(
    change: Change, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    notebook = change.folder.parent / "scoring.ipynb"
    assert run_cli("check", notebook).exit_code == 0
    assert summary.read_text() == (
        "### nb2prod check `scoring.ipynb` → `scoring`\n\n✅ up to date\n\n"
    )
    common = change.folder / "src/scoring/common.py"
    original = common.read_text()
    common.write_text(original.replace("SCALE = 3.5", "SCALE = 4.5"))
    try:
        assert run_cli("check", notebook).exit_code == 1
    finally:
        common.write_text(original)
    text = summary.read_text().split("\n\n", 2)[2]
    assert text.startswith("### nb2prod check `scoring.ipynb` → `scoring`\n\n❌ 1 file")
    assert "- `src/scoring/common.py` (2 changed lines)" in text


def test_a_function_gone_or_failing_counts_every_previous_call_as_changed(
    tmp_path: Path,
) -> None:
    """The previous inputs replayed against a package that lost or broke a function."""
    src = tmp_path / "pkg" / "src" / "pkg"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "common.py").write_text(
        "def kept(labels):\n    return [label.upper() for label in labels]\n\n\n"
        "def broken(x):\n    raise ValueError('no longer')\n"
    )
    cases = tmp_path / "previous"
    for function, args, result in (
        ("kept", [["a", "b", "c", "D"]], ["A", "B", "X", "D"]),
        ("broken", [1], 2),
        ("gone", [1], 2),
    ):
        case = cases / function / "001"
        case.mkdir(parents=True)
        (case / "case.json").write_text(
            json.dumps(
                {
                    "function": function,
                    "module": "common",
                    "args": [{"kind": "json", "value": a} for a in args],
                    "kwargs": {},
                    "result": {"kind": "json", "value": result},
                }
            )
        )
    old = behaviour.Before({}, {}, cases)
    diff = behaviour.compare_with(old, tmp_path / "pkg", "pkg", Tolerance())
    moved = {m.function: m for m in diff.functions}
    assert (moved["kept"].changed, moved["kept"].labels, moved["kept"].flipped) == (
        1,
        4,
        1,
    )
    assert moved["broken"].changed == 1
    assert moved["broken"].error == "ValueError: no longer"
    assert moved["gone"].changed == 1
    assert "has no attribute 'gone'" in moved["gone"].error
    assert diff.added_code == ("common.broken", "common.kept")
