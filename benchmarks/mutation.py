"""Mutation testing of nb2prod's core with mutmut: the kill rate per module.

A mutant is a small change to one function (``<`` for ``<=``, ``and`` for ``or``, a
constant, a dropped call...). A test run that fails on it *kills* it; one that
passes lets it *survive*, which means no test notices that change. Each core
module is mutated on its own, against the fast unit tests that cover it, in a
scratch copy of the repository (mutmut writes ``mutants/`` there), so the working
tree is never touched.

It is slow (each mutant is a pytest run) and is not part of CI. Needs mutmut 3,
which is not a dependency of nb2prod::

    pip install mutmut
    python benchmarks/mutation.py                       # every module below
    python benchmarks/mutation.py output/writing.py     # one or more of them
    python benchmarks/mutation.py --survivors output/lock.py   # and the diffs
    python benchmarks/mutation.py --max-children 2 ...   # parallel runs (default 1)

It prints one line per module (killed / mutants, the rate) and, with --survivors,
the diff of each mutant that survived. benchmarks/README.md lists the survivors
judged equivalent (no test can tell them apart) and why.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_COMPARE = ["tests/test_compare.py"]

#: Each core module (under nb2prod/) and the fast tests that cover it.
MODULES: dict[str, list[str]] = {
    "output/writing.py": ["tests/test_writing.py"],
    "output/lock.py": ["tests/test_writing.py"],
    "output/fastcheck.py": ["tests/test_cli.py", "-k", "check"],
    # mutmut's trampolines import mutmut: the standard-library-only checks must go.
    "standalone/compare.py": [*_COMPARE, "-k", "not standalone"],
    "standalone/arrays.py": [*_COMPARE, "-k", "not standalone"],
    "standalone/tables.py": [
        *_COMPARE,
        "tests/test_casefile.py",
        "-k",
        "not standalone",
    ],
    "standalone/objects.py": [*_COMPARE, "-k", "not standalone"],
    "plan/hidden_state.py": [
        "tests/test_cli.py",
        "tests/test_plan.py",
        "-k",
        "later or early or before or order or hidden",
    ],
    "plan/resolver.py": [
        "tests/test_cli.py",
        "tests/test_plan.py",
        "tests/test_closure.py",
    ],
    "plan/closure.py": ["tests/test_closure.py", "tests/test_plan.py"],
    "analysis/magics.py": ["tests/test_magics.py", "tests/test_cli.py", "-k", "magic"],
    "standalone/contract.py": ["tests/test_types_and_contract.py"],
}

#: What the tests read besides nb2prod/ and tests/.
ALSO_COPY = ("templates", "cell_tags", "sample_notebooks", "README.md")


def mutate(
    module: str, tests: list[str], survivors: bool, children: int
) -> tuple[int, int]:
    """Run mutmut on one module; (killed, total) and the surviving mutants' diffs."""
    with tempfile.TemporaryDirectory(prefix="nb2prod-mutation-") as scratch:
        root = Path(scratch)
        for name in ("nb2prod", "tests", *ALSO_COPY):
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, root / name, ignore=_ignored)
            else:
                shutil.copy(REPO / name, root / name)
        # No [tool.mutmut] in this pyproject: mutmut falls back to setup.cfg.
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        (root / "setup.cfg").write_text(_config(module, tests), "utf-8")
        environment = dict(os.environ)
        # The console script: mutmut 3 forks workers and wants its own __main__.
        mutmut = [_mutmut()]
        run = subprocess.run(
            [*mutmut, "run", "--max-children", str(children)],
            cwd=root,
            env=environment,
            check=False,
        )
        if run.returncode != 0:
            sys.exit(f"{module}: mutmut run failed (exit {run.returncode}); see above")
        subprocess.run(
            [*mutmut, "export-cicd-stats"], cwd=root, env=environment, check=True
        )
        stats = json.loads((root / "mutants/mutmut-cicd-stats.json").read_text())
        if survivors:
            _print_survivors(mutmut, root, environment)
    return int(stats["killed"]), int(stats["total"])


def _config(module: str, tests: list[str]) -> str:
    selection = "\n".join(f"    {arg}" for arg in tests)
    also = "\n".join(f"    {name}" for name in ALSO_COPY)
    return textwrap.dedent("""\
        [mutmut]
        source_paths = nb2prod
        only_mutate = nb2prod/{module}
        also_copy =
        {also}
        pytest_add_cli_args =
            -p
            no:cacheprovider
        pytest_add_cli_args_test_selection =
        {selection}
        """).format(module=module, also=also, selection=selection)


def _print_survivors(mutmut: list[str], root: Path, env: dict[str, str]) -> None:
    listing = subprocess.run(
        [*mutmut, "results"], cwd=root, env=env, capture_output=True, text=True
    ).stdout
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if status == "survived":
            shown = subprocess.run(
                [*mutmut, "show", name],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
            )
            print(shown.stdout)


def _mutmut() -> str:
    beside = Path(sys.executable).parent / "mutmut"
    found = str(beside) if beside.is_file() else shutil.which("mutmut")
    if found is None:
        sys.exit("mutmut is not installed: pip install mutmut")
    return found


def _ignored(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in {"__pycache__", ".pytest_cache", "mutants"}}


def main() -> None:
    """Mutate the modules asked for (all by default) and print each kill rate."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help=f"of: {', '.join(MODULES)}")
    parser.add_argument("--survivors", action="store_true", help="print their diffs")
    parser.add_argument(
        "--max-children",
        type=int,
        default=1,
        help="parallel test runs (default 1: the machine is shared)",
    )
    arguments = parser.parse_args()
    unknown = sorted(set(arguments.modules) - set(MODULES))
    if unknown:
        parser.error(f"not a core module: {', '.join(unknown)}")
    chosen = arguments.modules or list(MODULES)
    rows = []
    for module in chosen:
        killed, total = mutate(
            module, MODULES[module], arguments.survivors, arguments.max_children
        )
        rows.append((module, killed, total))
    print(f"\n{'module':<28} {'killed':>7} {'mutants':>8} {'rate':>6}")
    for module, killed, total in rows:
        rate = f"{100 * killed / total:.0f} %" if total else "-"
        print(f"{module:<28} {killed:>7} {total:>8} {rate:>6}")


if __name__ == "__main__":
    main()
