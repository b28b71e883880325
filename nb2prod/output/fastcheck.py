"""Answer ``nb2prod check`` from the lock alone when nothing it depends on changed.

The lock records the notebook's content hash, the fingerprint of the generator
(nb2prod, black, the templates) and the hash of every file it wrote. When all of
them still hold, generating again would give the same files: comparing hashes is
enough, with no libcst and no black. Anything else falls back to the full check,
which also produces the diff.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from importlib.metadata import version
from pathlib import Path

from nb2prod import __version__
from nb2prod.errors import Severity
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.tags import select
from nb2prod.notebook.vocabulary import load_vocabulary
from nb2prod.output.lock import read_lock, sha256
from nb2prod.resources import data_dir, source_fingerprint
from nb2prod.settings import Job


@cache
def fingerprint() -> str:
    """What, besides the notebook, decides the generated files."""
    digest = hashlib.sha256()
    parts = [__version__, version("black"), source_fingerprint()]
    digest.update("\n".join(parts).encode())
    templates = data_dir("templates")
    for path in sorted(templates.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(templates).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def up_to_date(job: Job, notebook: Notebook) -> bool:
    """True when the lock proves the package matches the notebook as read.

    False too for a notebook without nb2prod tags or with tag errors (unknown tags
    do not change the content hash): the full check reports those.
    """
    selection = select(notebook, load_vocabulary())
    if not selection.tagged or any(
        d.severity is Severity.ERROR for d in selection.diagnostics
    ):
        return False
    lock = read_lock(job.folder)
    if lock is None or lock.generator != fingerprint():
        return False
    if job.tolerance is not None and job.tolerance != lock.tolerance:
        return False
    if lock.notebook_hash != selection.content_hash:
        return False
    if lock.notebook != Path(os.path.relpath(job.notebook, job.folder)).as_posix():
        return False
    # The run's files (artifacts above all) too: a file swapped together with its
    # manifest entry still differs from the hash the lock recorded. And the modules
    # beside the notebook that the package copies.
    for path, digest in {**lock.files, **lock.recorded, **lock.sources}.items():
        try:
            if sha256((job.folder / path).read_bytes()) != digest:
                return False
        except OSError:
            return False
    return True
