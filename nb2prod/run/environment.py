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
"""

from __future__ import annotations

import configparser
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

#: Written last into a complete environment; a folder without it is never used.
MARKER = ".nb2prod-complete"
#: Bumped when the way environments are built changes.
_FORMAT = 2


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
    package_folder: Path, *, spark: bool = False
) -> Iterator[CleanEnvironment]:
    """The package at ``package_folder`` installed in its clean environment (with its
    ``spark`` extra when ``spark``: another environment, as another dependency set)."""
    requirements = declared(package_folder / "pyproject.toml", spark=spark)
    started = time.perf_counter()
    with _environment(requirements) as (root, reused):
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
def _environment(requirements: Sequence[str]) -> Iterator[tuple[Path, bool]]:
    """The environment's folder, from the cache or built now; and whether reused."""
    base = entries.folder()
    if base is None:  # caching is off: a throw-away environment
        with tempfile.TemporaryDirectory(prefix="nb2prod-env-") as throwaway:
            _build(Path(throwaway) / "env", requirements)
            yield Path(throwaway) / "env", False
        return
    envs = base / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    name = key(requirements)
    root = envs / name
    if (root / MARKER).is_file():
        yield root, True
        return
    with _locked(envs / f"{name}.lock"):
        if (root / MARKER).is_file():  # another convert built it while we waited
            yield root, True
            return
        scratch = Path(tempfile.mkdtemp(prefix=f"{name}.building-", dir=envs))
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
    yield root, False


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (other processes wait, never fail)."""
    with path.open("a+b") as handle:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after 10 s: wait on
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
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


def uv_index_options() -> list[str]:
    """uv options for the indexes, find-links and constraints pip is configured with.

    pip reads its configuration files and ``PIP_*`` variables; uv reads neither, so
    :func:`pip_config` reads them for it. pip picks the best version over all its
    indexes, hence ``unsafe-best-match`` (uv's default trusts the first index only).
    """
    config = pip_config()
    options = ["--index-strategy", "unsafe-best-match"]
    if "index-url" in config:
        options += ["--index-url", config["index-url"].split()[0]]
    for url in config.get("extra-index-url", "").split():
        options += ["--extra-index-url", url]
    # pip skips a find-links folder or constraints file that is not there; uv fails.
    for place in config.get("find-links", "").split():
        if "://" in place or Path(place).exists():
            options += ["--find-links", place]
    for constraint in config.get("constraint", "").split():
        if "://" in constraint or Path(constraint).is_file():
            options += ["--constraint", constraint]
    if config.get("no-index", "").lower() in ("1", "true", "yes", "on"):
        options.append("--no-index")
    return options


@cache
def pip_config() -> dict[str, str]:
    """pip's effective settings, by option name, read as pip reads them (in-process:
    ``pip config list`` costs a second): its configuration files, global then user
    then site, ``[global]`` then ``[install]`` in each, then ``PIP_*`` variables."""
    settings: dict[str, str] = {}
    parser = configparser.RawConfigParser()
    for path in _pip_config_files():
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
    for section in ("global", "install"):
        if parser.has_section(section):
            settings.update(parser.items(section))
    for variable, value in os.environ.items():
        if variable.startswith("PIP_") and variable != "PIP_CONFIG_FILE":
            settings[variable[4:].lower().replace("_", "-")] = value
    return settings


def _pip_config_files() -> list[Path]:
    """pip's configuration files, lowest precedence first (pip's documented order)."""
    chosen = os.environ.get("PIP_CONFIG_FILE")
    if chosen == os.devnull:
        return []
    xdg = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    home = Path.home()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    files = [Path(d) / "pip" / "pip.conf" for d in xdg.split(os.pathsep) if d]
    files += [Path("/etc/pip.conf"), home / ".pip" / "pip.conf"]
    files += [config / "pip" / "pip.conf", Path(sys.prefix) / "pip.conf"]
    if chosen:
        files.append(Path(chosen))
    return [f for f in files if f.is_file()]


def _python_in(root: Path) -> Path:
    if os.name == "nt":
        return root / "Scripts" / "python.exe"
    return root / "bin" / "python"
