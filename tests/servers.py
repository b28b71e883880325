"""Convert a sample and serve a generated package until it answers: one copy of this,
used by the tests and by benchmarks/ (which put tests/ on ``sys.path``).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notebooks"


class ServerFailed(RuntimeError):
    """The server exited, or did not answer GET /health in time."""


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served(
    command: Sequence[str],
    port: int,
    log: Path,
    *,
    seconds: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``command`` (a server on ``port``) started, its output in ``log``, once GET
    /health answers 200; terminated on exit (killed if it will not stop).

    Raises ServerFailed, with the log, when it exits or does not answer in
    ``seconds``.
    """
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + seconds
        while True:
            if process.poll() is not None:
                raise ServerFailed(f"the server exited:\n{log.read_text('utf-8')}")
            try:
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(
                    f"the server did not answer in {seconds:g} s:\n"
                    + log.read_text("utf-8")
                )
            time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def convert_sample(out: Path, name: str = "churn_classification") -> Path:
    """``python -m nb2prod convert`` of a sample notebook into ``out``: the package.

    Exits with nb2prod's output when the conversion fails (for the benchmarks,
    which have nothing to measure then).
    """
    notebook = SAMPLES / f"{name}.ipynb"
    print(f"converting {notebook.name} ...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "nb2prod", "convert", str(notebook), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"nb2prod convert failed:\n{done.stdout}\n{done.stderr}")
    return out / notebook.stem
