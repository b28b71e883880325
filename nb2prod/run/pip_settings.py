"""pip's configuration, read as pip reads it, as options for uv.

The clean environments are built with uv from the indexes, find-links and
constraints pip is configured with: users configure pip (a company index, a
certificate), and uv reads neither pip's files nor its ``PIP_*`` variables.
"""

from __future__ import annotations

import configparser
import os
import sys
from functools import cache
from pathlib import Path


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
