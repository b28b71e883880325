"""A clean environment for the package: only it and the dependencies it declares.

``convert`` and ``verify`` replay the recorded calls there, so that a dependency the
package forgot (pyarrow for pickled pandas strings, a helper module left out of the
wheel) fails here, not after ``pip install`` in production.

The environment of a dependency set (the ``[project] dependencies`` of the
package's pyproject.toml) and Python version is built once with uv (``python -m venv``
and pip when uv is missing), from the indexes pip is configured with, and kept under
nb2prod's cache folder in ``envs/<key>``. It is built in a temporary folder and
renamed into place only when complete, under a lock, so two converts at once never
use a half-built one. The package itself changes on every convert: it is installed
(``--no-deps``, into a temporary ``--target`` folder put first on the path) for each
replay, never into the shared environment, which proves its packaging ships every
module it needs.

The cache keeps a few environments: each use marks its environment (the marker's
modification time), and a convert that built a new one then removes the least
recently used others until at most ``cache-environments`` remain
(``[tool.nb2prod]``, default
:data:`~nb2prod.settings.DEFAULT_CACHE_ENVIRONMENTS`). An environment in use holds a
shared lock on its ``.lock`` file, so another convert never removes it from under a
replay; on Windows, which has no shared file locks, none is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nb2prod.analysis import entries
from nb2prod.errors import CleanEnvironmentError
from nb2prod.run.pip_settings import pip_config, uv_index_options
from nb2prod.settings import DEFAULT_CACHE_ENVIRONMENTS

#: Written last into a complete environment; a folder without it is never used.
MARKER = ".nb2prod-complete"
#: Bumped when the way environments are built changes.
_FORMAT = 2
#: In the name of the folder an environment is built in until it is complete.
_BUILDING = ".building-"


@dataclass(frozen=True)
class CleanEnvironment:
    """A clean environment, ready: its interpreter, and where the package is."""

    #: The environment's Python interpreter.
    python: Path
    #: The folder the package was installed into; put it first on the path.
    site: Path
    #: True when the environment came from the cache.
    reused: bool
    #: Seconds spent building (0 when reused) and installing the package.
    build_seconds: float
    install_seconds: float


@contextmanager
def clean_environment(
    package_folder: Path, *, spark: bool = False, keep: int = DEFAULT_CACHE_ENVIRONMENTS
) -> Iterator[CleanEnvironment]:
    """The package at ``package_folder`` installed in its clean environment (with its
    ``spark`` extra when ``spark``: another environment, as another dependency set).
    Building one removes the least recently used others past ``keep``."""
    requirements = declared(package_folder / "pyproject.toml", spark=spark)
    started = time.perf_counter()
    with _environment(requirements, keep) as (root, reused):
        built = time.perf_counter() - started
        python = _python_in(root)
        with tempfile.TemporaryDirectory(prefix="nb2prod-site-") as site:
            started = time.perf_counter()
            _install_package(python, package_folder, Path(site))
            installed = time.perf_counter() - started
            yield CleanEnvironment(
                python, Path(site), reused, 0.0 if reused else built, installed
            )


def declared(pyproject: Path, *, spark: bool = False) -> tuple[str, ...]:
    """The ``[project] dependencies`` of a package's pyproject.toml, with its
    ``parquet`` extra (the batch command's .parquet files need it), and with its
    ``spark`` extra when ``spark`` (if it has one)."""
    try:
        data = tomllib.loads(pyproject.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CleanEnvironmentError(f"{pyproject}: cannot be read: {exc}") from None
    project = data.get("project", {})
    extras = project.get("optional-dependencies", {})
    dependencies = [*project.get("dependencies", []), *extras.get("parquet", [])]
    if spark:
        dependencies += extras.get("spark", [])
    return tuple(str(d) for d in dependencies)


def key(requirements: Sequence[str]) -> str:
    """The cache key of an environment: the dependency set, Python and the installer."""
    identity = {
        "format": _FORMAT,
        "requirements": sorted(requirements),
        "python": sys.version,
        "interpreter": os.path.realpath(sys.executable),
        "installer": "uv" if uv_binary() else "pip",
    }
    text = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@cache
def uv_binary() -> str | None:
    """uv's executable: the ``uv`` wheel nb2prod depends on, else one on PATH."""
    try:
        found = importlib.import_module("uv").find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")
    return str(found)


@contextmanager
def _environment(requirements: Sequence[str], keep: int) -> Iterator[tuple[Path, bool]]:
    """The environment's folder, from the cache or built now; and whether reused.

    It is held in use (a shared lock) while the caller has it.
    """
    base = entries.folder()
    if base is None:  # caching is off: a throw-away environment
        with tempfile.TemporaryDirectory(prefix="nb2prod-env-") as throwaway:
            _build(Path(throwaway) / "env", requirements)
            yield Path(throwaway) / "env", False
        return
    envs = base / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    name = key(requirements)
    root, lock = envs / name, envs / f"{name}.lock"
    built = False
    # Three tries: another convert that keeps only one environment may remove what
    # was built here in the moment between the build's exclusive lock and the use's
    # shared one.
    for _ in range(3):
        with _locked(lock, shared=True):
            if (root / MARKER).is_file():
                entries.mark_used(root / MARKER)
                if built:
                    _remove_unused(envs, keep, name)
                yield root, not built
                return
        with _locked(lock):
            if not (root / MARKER).is_file():  # else another convert built it meanwhile
                _build_into(envs, name, requirements)
                built = True
    raise CleanEnvironmentError(
        f"the clean environment {root} was removed as soon as it was built: "
        "cache-environments is too small for the converts running at once"
    )


def _build_into(envs: Path, name: str, requirements: Sequence[str]) -> None:
    """Build the environment ``name`` in a scratch folder, then rename it into place."""
    root = envs / name
    scratch = Path(tempfile.mkdtemp(prefix=f"{name}{_BUILDING}", dir=envs))
    try:
        _build(scratch / "env", requirements)
        (scratch / "env" / MARKER).write_text(
            json.dumps({"requirements": list(requirements)}) + "\n", "utf-8"
        )
        if root.exists():  # a leftover without its marker: never trusted
            shutil.rmtree(root)
        (scratch / "env").rename(root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _remove_unused(envs: Path, keep: int, current: str) -> None:
    """Remove the least recently used environments until at most ``keep`` remain
    (``current`` is always kept), and the folders killed builds and removals left behind.

    An environment or leftover whose lock another process holds (in use, or being
    built) is skipped.
    """
    if sys.platform == "win32":  # no shared locks: an environment in use looks free
        return
    complete: list[tuple[float, str]] = []
    leftovers: list[tuple[str, str]] = []  # (folder, the environment it was for)
    try:
        listing = list(os.scandir(envs))
    except OSError:
        return
    for item in listing:
        if not item.is_dir(follow_symlinks=False) or item.name == current:
            continue
        if _BUILDING in item.name:
            leftovers.append((item.name, item.name.split(_BUILDING)[0]))
            continue
        try:
            complete.append(((Path(item) / MARKER).stat().st_mtime, item.name))
        except OSError:  # no marker: a leftover too, which would be rebuilt before use
            leftovers.append((item.name, item.name))
    complete.sort()  # least recently used first
    doomed = [name for _, name in complete[: max(0, len(complete) + 1 - keep)]]
    for folder, owner in [*leftovers, *((name, name) for name in doomed)]:
        lock = envs / f"{owner}.lock"
        with contextlib.suppress(OSError), _locked(lock, wait=False) as held:
            if held:  # else in use, or being built
                # The marker goes first: a folder half removed (a killed convert)
                # is never trusted, and is rebuilt, or removed as a leftover.
                (envs / folder / MARKER).unlink(missing_ok=True)
                shutil.rmtree(envs / folder, ignore_errors=True)
    # The lock files stay (they are empty): removed, a process still waiting on one
    # and a process opening a new file of that name would both hold "the" lock.


@contextmanager
def _locked(path: Path, *, shared: bool = False, wait: bool = True) -> Iterator[bool]:
    """Hold a lock on ``path``, exclusive or ``shared``; yields whether it is held.

    Other processes wait for it, never fail; without ``wait``, a lock held elsewhere
    is not waited for (False). Windows has exclusive locks only: there, a shared lock
    is none.
    """
    with path.open("a+b") as handle:
        if sys.platform == "win32":
            if shared:
                yield True
                return
            import msvcrt

            while True:
                try:
                    msvcrt.locking(
                        handle.fileno(), msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1
                    )
                    break
                except OSError:  # LK_LOCK gives up after 10 s: wait on
                    if not wait:
                        yield False
                        return
            try:
                yield True
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
            try:
                fcntl.flock(handle, mode if wait else mode | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _build(root: Path, requirements: Sequence[str]) -> None:
    uv = uv_binary()
    if uv:
        _run(
            [uv, "venv", "--quiet", "--relocatable", "--python", sys.executable,
             str(root)],
            "creating the clean environment with uv",
        )  # fmt: skip
        if requirements:
            _run(
                [uv, "pip", "install", "--quiet", "--compile-bytecode",
                 "--python", str(_python_in(root)), *uv_index_options(),
                 *requirements],
                "installing the package's dependencies in a clean environment",
            )  # fmt: skip
        return
    _run(
        [sys.executable, "-m", "venv", str(root)],
        "creating the clean environment with venv",
    )
    if requirements:
        _run(
            [str(_python_in(root)), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", *requirements],
            "installing the package's dependencies in a clean environment",
        )  # fmt: skip


def _install_package(python: Path, folder: Path, site: Path) -> None:
    """Build and install the package alone (``--no-deps``) into ``site``."""
    uv = uv_binary()
    if uv:
        command = [
            uv, "pip", "install", "--quiet", "--no-deps", "--python", str(python),
            "--target", str(site), *uv_index_options(), str(folder.resolve()),
        ]  # fmt: skip
    else:
        command = [
            str(python), "-m", "pip", "install", "--quiet", "--no-deps",
            "--disable-pip-version-check", "--target", str(site), str(folder.resolve()),
        ]  # fmt: skip
    _run(command, f"installing {folder} into its clean environment")


def _run(command: list[str], what: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    cert = pip_config().get("cert")
    if cert and "SSL_CERT_FILE" not in env:
        env["SSL_CERT_FILE"] = cert
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        detail = "\n".join(lines[-15:])
        raise CleanEnvironmentError(
            f"{what} failed ({Path(command[0]).name}; --isolation none replays "
            f"without one):\n{detail}"
        )


def _python_in(root: Path) -> Path:
    if os.name == "nt":
        return root / "Scripts" / "python.exe"
    return root / "bin" / "python"
