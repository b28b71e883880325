"""The library API: the four commands as functions, each resolving its job as the CLI does.

    import nb2prod
    proof = nb2prod.convert("analysis.ipynb", out="packages")
    assert proof.report.ok

Errors are :class:`nb2prod.errors.Nb2ProdError` subclasses, as drawn in :mod:`nb2prod.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path

from nb2prod import pipeline
from nb2prod.generation import Generated
from nb2prod.notebook.read import read_notebook
from nb2prod.output.writing import WriteReport
from nb2prod.pipeline import Proof, StaleFile
from nb2prod.settings import job_for, literal

StrPath = str | PathLike[str]


def convert(
    notebook: StrPath,
    *,
    out: StrPath | None = None,
    name: str | None = None,
    parameters: Mapping[str, object] | None = None,
    force: bool = False,
    kernel: str | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    interfaces: str | None = None,
) -> Proof:
    """Run the notebook, write its package and replay its calls (``nb2prod convert``);
    ``interfaces`` as ``--interfaces`` (``"direct"``, ``"http,batch"``...)."""
    job = job_for(
        Path(notebook),
        out=_path(out),
        name=name,
        force=force,
        parameters={k: literal(repr(v)) for k, v in (parameters or {}).items()},
        kernel=kernel,
        rtol=rtol,
        atol=atol,
        interfaces=interfaces,
    )
    return pipeline.convert(job)


def verify(
    notebook: StrPath,
    *,
    out: StrPath | None = None,
    name: str | None = None,
    kernel: str | None = None,
    interfaces: str | None = None,
) -> Proof:
    """Run the notebook again and replay its calls against the package on disk."""
    job = job_for(
        Path(notebook), out=_path(out), name=name, kernel=kernel, interfaces=interfaces
    )
    return pipeline.verify(job)


def check(
    notebook: StrPath, *, out: StrPath | None = None, name: str | None = None
) -> list[StaleFile]:
    """The files on disk that are not what the notebook generates now (empty: in sync)."""
    job = job_for(Path(notebook), out=_path(out), name=name)
    return pipeline.check(job, read_notebook(job.notebook, job.max_bytes))[1]


def diff(
    notebook: StrPath, *, out: StrPath | None = None, name: str | None = None
) -> tuple[Generated, WriteReport, str]:
    """What ``convert --no-execute`` would change, as a unified diff; writes nothing."""
    return pipeline.diff(job_for(Path(notebook), out=_path(out), name=name))


def _path(value: StrPath | None) -> Path | None:
    return None if value is None else Path(value)
