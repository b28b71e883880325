"""``nb2prod check NOTEBOOK...`` answered before the command line is even built.

The pre-commit hook runs ``check`` on every commit, and the usual answer is "up to
date", which the lock's hashes prove in a few hundredths of a second
(:mod:`nb2prod.output.fastcheck`); importing typer (with pydantic) and rich costs
more than that. So when the arguments are only notebooks (with ``--out`` or ``--name``) and
every one's package is up to date by its lock, this prints what ``check`` prints and exits 0. Anything else
(an option, a missing or stale package, any error) is left to the full command line,
which starts again from the arguments and reports it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from nb2prod.cli.summary import append, check_markdown
from nb2prod.cli.terminal import up_to_date_line
from nb2prod.notebook.read import read_notebook
from nb2prod.output.fastcheck import up_to_date
from nb2prod.output.lock import LOCK_NAME
from nb2prod.output.paths import contained
from nb2prod.settings import job_for


def checked_by_lock(arguments: Sequence[str]) -> bool:
    """Whether ``arguments`` were ``check [--out DIR] [--name PKG] NOTEBOOK...`` and
    were answered here."""
    if not arguments or arguments[0] != "check":
        return False
    given = _options(arguments[1:])
    if given is None:
        return False
    notebooks, out, name = given
    if not notebooks or (name is not None and len(notebooks) > 1):
        return False
    lines, summaries = [], []
    try:
        for notebook in map(Path, notebooks):
            job = job_for(notebook, out=None if out is None else Path(out), name=name)
            if not contained(job.folder, LOCK_NAME).is_file():
                return False
            if not up_to_date(job, read_notebook(notebook, job.max_bytes)):
                return False
            lines.append(up_to_date_line(job.folder, notebook))
            summaries.append(check_markdown(str(job.folder), notebook.name, []))
    except Exception:  # the full command line reports it properly
        return False
    print("\n".join(lines))
    for summary in summaries:
        append(summary)
    return True


def _options(words: Sequence[str]) -> tuple[list[str], str | None, str | None] | None:
    """The notebooks, ``--out`` and ``--name`` of check's arguments; None when there
    is anything else (another option, a repeated or valueless one)."""
    notebooks: list[str] = []
    values: dict[str, str] = {}
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if not word.startswith("-"):
            notebooks.append(word)
            continue
        flag, equals, value = word.partition("=")
        if flag not in ("--out", "--name") or flag in values:
            return None
        if not equals:
            if not rest:
                return None
            value = rest.pop(0)
        values[flag] = value
    return notebooks, values.get("--out"), values.get("--name")


def main() -> None:
    """Entry point of the console script."""
    if checked_by_lock(sys.argv[1:]):
        return
    from nb2prod.cli.app import main as full

    full()
