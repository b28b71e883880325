"""User mistakes are one-line errors, and runs leave nothing behind (issue 10, items 6-7)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from notebooks import code, write


def scaling(path: Path, extra: str = "") -> Path:
    return write(
        path,
        code("def scale(x: float) -> float:\n    return x * 2", "nb2prod:feature"),
        code(f"scale(1.0){extra}"),
    )


def one_line_error(result: object, code: int) -> str:
    exit_code, stderr = result.exit_code, result.stderr  # type: ignore[attr-defined]
    assert exit_code == code, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert len(stderr.strip().splitlines()) <= 2, stderr  # the error, maybe a hint
    return str(stderr)


# ---- item 6: mistakes are exit 1 or 2, before any work ----


def test_out_naming_a_file(tmp_path: Path) -> None:
    notebook = scaling(tmp_path / "scaling.ipynb")
    (tmp_path / "afile").write_text("x")
    stderr = one_line_error(
        run_cli("convert", notebook, "--out", tmp_path / "afile"), 2
    )
    assert "--out" in stderr and "is a file" in stderr


def test_json_into_a_missing_folder_is_refused_before_the_run(tmp_path: Path) -> None:
    notebook = scaling(tmp_path / "scaling.ipynb")
    report = tmp_path / "missing" / "report.json"
    stderr = one_line_error(run_cli("convert", notebook, "--json", report), 2)
    assert "does not exist" in stderr
    assert not (tmp_path / "scaling").exists()  # refused before any work


def test_max_size_inf(tmp_path: Path) -> None:
    notebook = scaling(tmp_path / "scaling.ipynb")
    (tmp_path / "pyproject.toml").write_text("[tool.nb2prod]\nmax-size = inf\n")
    stderr = one_line_error(run_cli("convert", notebook, "--no-execute"), 1)
    assert "'max-size' must be a finite number" in stderr


def test_a_deeply_nested_json_notebook(tmp_path: Path) -> None:
    notebook = tmp_path / "deep.ipynb"
    notebook.write_text("[" * 200_000 + "]" * 200_000)
    stderr = one_line_error(run_cli("tags", notebook), 1)
    assert "nested too deeply" in stderr


def test_dev_zero_is_refused_without_reading_it() -> None:
    stderr = one_line_error(run_cli("tags", "/dev/zero"), 1)
    assert "not a regular file" in stderr


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    done: list[object] = []
    worker = threading.Thread(
        target=lambda: done.append(run_cli("tags", fifo)), daemon=True
    )
    worker.start()
    worker.join(10)
    if not done:  # unblock the reader that hangs on today's code
        with fifo.open("w") as unblock:
            unblock.write("{}")
        worker.join(5)
        pytest.fail("reading a FIFO hung")
    assert "not a regular file" in one_line_error(done[0], 1)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write (chmod, or the immutable flag for root)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    scaling(folder / "scaling.ipynb")
    folder.chmod(0o555)
    immutable = os.access(folder, os.W_OK)
    if immutable:  # root ignores the mode bits
        if shutil.which("chattr") is None:
            pytest.skip("cannot make a read-only folder here")
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_read_only_notebook_folder(read_only: Path) -> None:
    for args in (["--no-execute"], []):
        result = run_cli("convert", read_only / "scaling.ipynb", *args)
        stderr = one_line_error(result, 1)
        assert "not writable" in stderr and "--out" in stderr


# ---- item 7: leftovers and small leaks ----


def test_the_package_folder_honours_the_umask(tmp_path: Path) -> None:
    notebook = scaling(tmp_path / "scaling.ipynb")
    previous = os.umask(0o022)
    try:
        assert run_cli("convert", notebook, "--no-execute").exit_code == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "scaling").stat().st_mode) == 0o755


def test_control_characters_are_escaped_on_the_terminal(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "esc.ipynb",
        code("def f(x: int) -> int:\n    return x", "nb2prod:exprot\x1b[2J\x07"),
    )
    result = run_cli("tags", notebook)
    text = result.stdout + result.stderr
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2J" in text


def test_a_planted_cache_entry_is_a_miss_not_code(tmp_path: Path) -> None:
    notebook = scaling(tmp_path / "scaling.ipynb")
    cache_dir = tmp_path / "cache"
    env = {**os.environ, "NB2PROD_CACHE_DIR": str(cache_dir)}
    command = [sys.executable, "-m", "nb2prod", "convert", notebook, "--no-execute"]
    env["PYTHONPATH"] = str(REPO)
    subprocess.run(command, env=env, check=True, capture_output=True)
    entries = [p for p in cache_dir.rglob("*") if p.is_file() and p.name != "key"]
    assert entries, "nothing was cached"
    planted = tmp_path / "PWNED"
    payload = (
        b"cos\nsystem\n(S'touch " + str(planted).encode() + b"'\ntR."
    )  # a protocol-0 pickle that runs a shell command
    for entry in entries:
        entry.write_bytes(payload)
    shutil.rmtree(tmp_path / "scaling")
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert not planted.exists(), "a planted cache entry ran code"
    assert result.returncode == 0, result.stderr


def start_slow_run(folder: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    """`convert` of a notebook that sleeps, in a session of its own, with TMPDIR set
    to FOLDER/tmp: the process, the --out folder and that TMPDIR. The sleeping cell
    touches FOLDER/sleeping first, so that a test can wait until the kernel is
    really running the notebook (a loaded machine can take long to start one).
    """
    sleeping = folder / "sleeping"
    notebook = scaling(
        folder / "slow.ipynb",
        f"\nimport pathlib, time\npathlib.Path({str(sleeping)!r}).touch()\n"
        "time.sleep(120)",
    )
    out, tmp = folder / "out", folder / "tmp"
    out.mkdir()
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp)}
    process = subprocess.Popen(
        [sys.executable, "-m", "nb2prod", "convert", str(notebook), "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return process, out, tmp


def wait_for_run_folder(tmp: Path, out: Path) -> None:
    """Until the run folder exists and the kernel is in the sleeping cell."""
    sleeping = tmp.parent / "sleeping"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = any(tmp.glob("*run-*/recorded")) or any(out.glob(".*run-*/recorded"))
        if started and sleeping.exists():
            time.sleep(0.5)
            return
        time.sleep(0.2)
    pytest.fail("the run never reached the sleeping cell")


def test_a_killed_run_leaves_nothing_beside_the_package(tmp_path: Path) -> None:
    process, out, tmp = start_slow_run(tmp_path)
    try:
        wait_for_run_folder(tmp, out)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        subprocess.run(["pkill", "-KILL", "-f", str(tmp)], check=False)
    assert list(out.iterdir()) == []


def test_ctrl_c_exits_130_with_one_line(tmp_path: Path) -> None:
    process, out, tmp = start_slow_run(tmp_path)
    try:
        wait_for_run_folder(tmp, out)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground
        try:
            _, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            tree = subprocess.run(
                ["ps", "-o", "pid,pgid,stat,etime,args", "-g", str(process.pid)],
                capture_output=True, text=True, check=False,
            ).stdout  # fmt: skip
            pytest.fail(f"convert still running 120 s after Ctrl-C:\n{tree}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        "interrupted: nothing more was written"
    ], stderr
    assert list(out.iterdir()) == []


def test_the_failed_run_hint_names_a_copy_that_exists(tmp_path: Path) -> None:
    notebook = scaling(tmp_path / "broken.ipynb", "\nraise ValueError('bad')")
    result = run_cli("convert", notebook)
    assert result.exit_code == 1
    hint = result.stderr.split("the executed copy is ")[1].split(";")[0]
    assert Path(hint).is_file()
    assert json.loads(Path(hint).read_text())["cells"]
    Path(hint).unlink()
