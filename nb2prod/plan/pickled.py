"""The modules a run's saved files need to load: pickles, joblib and skops files.

pandas 3 stores strings as Arrow arrays when pyarrow is installed, so a pickled
DataFrame names ``pyarrow.lib`` although no notebook cell imports pyarrow. The
package needs every such module to load its artifacts, case files and fixtures, so
they are declared like its imports. Nothing is unpickled: the opcodes are read with
:mod:`pickletools`, and skops files list their types in their schema.
"""

from __future__ import annotations

import io
import json
import pickletools
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nb2prod.plan.dependencies import provided

#: Suffixes of the files read as pickles (joblib files are pickles with raw arrays).
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")

# A module and a name pushed as short strings (each perhaps memoised), then
# STACK_GLOBAL; or the text form GLOBAL "c<module>\n<name>\n". For the stretches
# genops cannot read (joblib writes array bytes between the opcodes).
_STACK_GLOBAL = re.compile(rb"\x8c(?=[\x01-\xff])")  # checked by hand below
_TEXT_GLOBAL = re.compile(rb"c([A-Za-z_][\w.]*)\n[A-Za-z_][\w.]*\n")


def saved_modules(
    saved: Mapping[str, bytes] | None,
    recorded: Iterable[str],
    folder: Path,
    owners: Mapping[str, str],
) -> tuple[list[str], list[str]]:
    """Distributions' modules the run's saved files need: the package's (artifacts,
    case files), its tests' (fixtures). From the run's bytes (``saved``), else from
    the files on disk the lock ``recorded``, so ``check`` finds what ``convert`` did.
    """
    wanted = (".skops", *PICKLE_SUFFIXES)
    if saved is not None:
        files = {p: d for p, d in saved.items() if p.endswith(wanted)}
    else:
        files = {}
        inside = folder.resolve()
        for path in recorded:  # a hostile lock's path may lead anywhere: never out
            found = (folder / path).resolve()
            if (
                path.endswith(wanted)
                and found.is_relative_to(inside)
                and found.is_file()
            ):
                files[path] = found.read_bytes()
    fixtures = {p: d for p, d in files.items() if p.startswith("tests/fixtures/")}
    others = {p: d for p, d in files.items() if p not in fixtures}
    return (
        provided(modules_in(others), owners),
        provided(modules_in(fixtures), owners),
    )


def modules_in(files: Mapping[str, bytes]) -> set[str]:
    """Top-level modules the files at these paths reference."""
    found: set[str] = set()
    for path, data in files.items():
        if path.endswith(".skops"):
            found |= _skops_modules(data)
        elif path.endswith(PICKLE_SUFFIXES):
            found |= pickle_modules(data)
    return {module.partition(".")[0] for module in found if module}


def pickle_modules(data: bytes) -> set[str]:
    """Modules named by the GLOBAL and STACK_GLOBAL opcodes of a pickle."""
    found: set[str] = set()
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    try:
        for opcode, argument, _ in pickletools.genops(io.BytesIO(data)):
            name = opcode.name
            if name == "GLOBAL":
                found.add(str(argument).partition(" ")[0])
                stack.append(None)
            elif name == "STACK_GLOBAL":
                if len(stack) >= 2 and isinstance(stack[-2], str):
                    found.add(stack[-2])
                stack.append(None)
            elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
                stack.append(argument)
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1] if stack else None
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(str(argument))] = stack[-1] if stack else None
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo.get(int(str(argument))))
            elif name == "STOP":
                break
            else:  # what else is pushed does not matter: a module is never it
                stack.append(None)
            del stack[:-4]
    except (ValueError, EOFError):  # not a plain pickle (joblib's raw arrays)
        pass
    return found | _scanned(data)


def _scanned(data: bytes) -> set[str]:
    """Modules of STACK_GLOBAL/GLOBAL patterns anywhere in the bytes."""
    found = {m.decode("ascii") for m in _TEXT_GLOBAL.findall(data)}
    for match in _STACK_GLOBAL.finditer(data):
        start = match.start()
        length = data[start + 1]
        module = data[start + 2 : start + 2 + length]
        after = start + 2 + length
        if data[after : after + 1] == b"\x94":  # MEMOIZE
            after += 1
        # The name: a short string (perhaps memoised) or a memo get, then STACK_GLOBAL.
        if data[after : after + 1] == b"\x8c":
            after += 2 + data[after + 1]
            if data[after : after + 1] == b"\x94":
                after += 1
        elif data[after : after + 1] == b"h":
            after += 2
        elif data[after : after + 1] == b"j":
            after += 5
        else:
            continue
        if data[after : after + 1] == b"\x93" and _is_module_name(module):
            found.add(module.decode("ascii"))
    return found


def _is_module_name(raw: bytes) -> bool:
    return re.fullmatch(rb"[A-Za-z_][\w.]*", raw) is not None


def _skops_modules(data: bytes) -> set[str]:
    """Modules of the types a skops file's schema lists."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        return set()
    return set(_module_values(schema))


def _module_values(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "__module__" and isinstance(value, str):
                yield value
            else:
                yield from _module_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _module_values(item)
