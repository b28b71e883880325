"""Notebook cleaners do not change the package: nbstripout-style stripping and comment tags."""

from __future__ import annotations

import json
from pathlib import Path

from nb2prod.notebook.read import read_notebook
from nb2prod.pipeline import generate
from nb2prod.settings import job_for
from notebooks import code, md, write

CELLS = [
    ("parameters", "LIMIT = 3"),
    (None, "data = [1, 2, 3, 4]"),
    ("nb2prod:export", "def clip(values):\n    return [min(v, LIMIT) for v in values]"),
    (
        "nb2prod:feature",
        "def total(values: list[int]) -> int:\n    return sum(clip(values))",
    ),
    ("nb2prod:test", "assert total(data) == 9"),
]


def build(path: Path, comments: bool) -> Path:
    cells = [md("# Totals")]
    for tag, source in CELLS:
        if tag is None:
            cells.append(code(source))
        elif comments:
            short = tag.removeprefix("nb2prod:")
            cells.append(code(f"# nb2prod: {short}\n{source}"))
        else:
            cells.append(code(source, tag))
    return write(path, *cells)


def package(notebook: Path) -> dict[str, str | bytes]:
    generated = generate(job_for(notebook), read_notebook(notebook))
    return {**generated.files, "nb2prod.lock": generated.lock.text()}


def test_comment_directives_give_the_same_package_as_metadata_tags(
    tmp_path: Path,
) -> None:
    tagged = package(build(tmp_path / "a" / "totals.ipynb", comments=False))
    commented = package(build(tmp_path / "b" / "totals.ipynb", comments=True))
    assert tagged == commented


def test_stripping_outputs_and_counts_changes_nothing(tmp_path: Path) -> None:
    notebook = build(tmp_path / "totals.ipynb", comments=False)
    before = package(notebook)
    data = json.loads(notebook.read_text())
    for cell in data["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 41
            cell["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": "x\n"}
            ]
        cell["metadata"]["collapsed"] = True
    data["metadata"]["widgets"] = {"state": {}}
    notebook.write_text(json.dumps(data))
    with_outputs = package(notebook)
    for cell in data["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
    notebook.write_text(json.dumps(data))
    assert package(notebook) == with_outputs == before


def test_other_tags_do_not_change_the_package(tmp_path: Path) -> None:
    notebook = build(tmp_path / "totals.ipynb", comments=False)
    before = package(notebook)
    data = json.loads(notebook.read_text())
    data["cells"][3]["metadata"]["tags"].append("hide-input")
    notebook.write_text(json.dumps(data))
    assert package(notebook) == before
