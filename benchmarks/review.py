"""The reviewable surface of the churn sample's package: lines a reviewer must read.

Converts sample_notebooks/churn_classification.ipynb (a real run) into a git
repository, commits it, then makes the change a pull request would: the decision
threshold edited by one character and an untagged exploration cell inserted, and
converts again. It prints, for the new package and for the change, the lines in
every file (before .gitattributes: what a code host shows) and in the files
.gitattributes leaves uncollapsed (after), as git itself reads the attributes.

    python benchmarks/review.py [--nb2prod PATH]

``--nb2prod PATH`` runs the nb2prod source at PATH (e.g. a checkout of an older
commit) to measure a baseline with the same script.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_notebooks" / "churn_classification.ipynb"
OLD, NEW = "CHURN_THRESHOLD = 0.35", "CHURN_THRESHOLD = 0.25"


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=b", "-c", "user.email=b@b", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def convert(source: Path, notebook: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(
        [sys.executable, "-m", "nb2prod", "convert", str(notebook)],
        capture_output=True,
        text=True,
        env=env,
        cwd=notebook.parent,  # python -m puts the working folder first on the path
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"convert failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def generated(folder: Path, paths: list[str]) -> set[str]:
    """The paths git reads as linguist-generated in ``folder``."""
    if not paths:
        return set()
    shown = subprocess.run(
        ["git", "-C", str(folder), "check-attr", "linguist-generated", "--stdin"],
        input="\n".join(paths),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split(": ")[0] for line in shown.splitlines() if line.endswith("true")}


def surface(counts: dict[str, int], folder: Path) -> tuple[int, int, int, int]:
    """(files, lines) in all, and (files, lines) left for a reviewer."""
    hidden = generated(folder, sorted(counts))
    left = {p: n for p, n in counts.items() if p not in hidden}
    return len(counts), sum(counts.values()), len(left), sum(left.values())


def package_lines(folder: Path) -> dict[str, int]:
    """Text lines per tracked file (binary files count 0, as a diff shows them)."""
    counts = {}
    for line in git(folder, "ls-files").splitlines():
        try:
            counts[line] = len((folder / line).read_text("utf-8").splitlines())
        except UnicodeDecodeError:
            counts[line] = 0
    return counts


def change_lines(folder: Path) -> dict[str, int]:
    """Added plus removed lines per file of the working tree's change."""
    git(folder, "add", "-A")
    counts = {}
    for line in git(folder, "diff", "--cached", "--numstat").splitlines():
        added, removed, path = line.split("\t", 2)
        counts[path] = (0 if added == "-" else int(added)) + (
            0 if removed == "-" else int(removed)
        )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nb2prod", type=Path, default=ROOT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nb2prod-review-bench-") as work:
        notebook = Path(work) / SAMPLE.name
        shutil.copyfile(SAMPLE, notebook)
        convert(args.nb2prod, notebook)
        folder = Path(work) / notebook.stem
        git(folder, "init", "-q")
        git(folder, "add", "-A")
        git(folder, "commit", "-qm", "first")
        whole = package_lines(folder)
        document = json.loads(notebook.read_text("utf-8"))
        for cell in document["cells"]:
            text = "".join(cell["source"])
            cell["source"] = text.replace(OLD, NEW)
        document["cells"].insert(
            3,
            {"cell_type": "code", "id": "explore1", "metadata": {}, "outputs": [],
             "execution_count": None, "source": "print('exploring')"},
        )  # fmt: skip
        notebook.write_text(json.dumps(document, indent=1), "utf-8")
        said = convert(args.nb2prod, notebook)
        diff = change_lines(folder)
        src = {p: n for p, n in diff.items() if p.startswith("src/")}
        rows = [
            ("new package", surface(whole, folder)),
            ("threshold 0.35 -> 0.25 + an untagged cell", surface(diff, folder)),
        ]
        print(f"nb2prod from {args.nb2prod}")
        print(
            f"{'':44} {'files':>6} {'lines':>7}   {'to read: files':>14} {'lines':>6}"
        )
        for label, (files, lines, left_files, left_lines) in rows:
            print(
                f"{label:44} {files:>6} {lines:>7}   {left_files:>14} {left_lines:>6}"
            )
        left = sorted(set(diff) - generated(folder, sorted(diff)))
        print(f"files to read in the change: {', '.join(left)}")
        for line in git(folder, "diff", "--cached", "-U0", "--", *left).splitlines():
            if line[:1] in "+-" and not line.startswith(("+++", "---")):
                print(f"    {line}")
        print(f"changed lines under src/: {sum(src.values())} in {sorted(src)}")
        moved = [line for line in said.splitlines() if line.startswith("moved:")]
        print("behavioural diff:", moved[0] if moved else "(none printed)")


if __name__ == "__main__":
    main()
