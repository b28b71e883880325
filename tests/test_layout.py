"""The house rules of nb2prod's own code: stage folders import downwards only, the
standalone modules need nothing but the standard library, and no module grows huge."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import nb2prod

PACKAGE = Path(nb2prod.__file__).parent
#: Each part of nb2prod and its layer: a module may import only from its own part
#: or from lower layers. Parts on one layer (render, output, run) are independent.
LAYERS = {
    "nb2prod": 10,  # __init__: the version, and the public API imported lazily
    "errors": 0,
    "resources": 0,
    "standalone": 0,
    "notebook": 1,
    "analysis": 2,
    "plan": 3,
    "settings": 4,
    "render": 5,
    "output": 5,
    "run": 5,
    "generation": 6,
    "pipeline": 7,
    "api": 8,
    "jupyter": 8,
    "cli": 8,
    "__main__": 9,
}
MAX_LINES = 400


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts)


def part(module: str) -> str:
    """``nb2prod.plan.naming`` → ``plan``; ``nb2prod`` → ``nb2prod``."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else pieces[0]


def dotted(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports(path: Path, *, top_level_only: bool = False) -> list[tuple[str, int]]:
    """Modules ``path`` imports, with their line (relative imports are not used here)."""
    tree = ast.parse(path.read_text("utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: list[tuple[str, int]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            continue  # relative: a sibling (the standalone modules import so)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node.lineno))
            if node.module == "nb2prod":  # from nb2prod import x: x is a module or not
                found += [(f"nb2prod.{a.name}", node.lineno) for a in node.names]
        elif top_level_only and isinstance(node, ast.If):  # if TYPE_CHECKING: ...
            continue
    return found


def test_every_part_has_a_layer() -> None:
    assert {part(dotted(p)) for p in modules()} == set(LAYERS)


@pytest.mark.parametrize("path", modules(), ids=lambda p: dotted(p))
def test_imports_go_downwards_only(path: Path) -> None:
    here = part(dotted(path))
    upward = [
        f"line {line}: {module}"
        for module, line in imports(path)
        if module.startswith("nb2prod.")
        and part(module) in LAYERS
        and part(module) != here
        and LAYERS[part(module)] >= LAYERS[here]
        and part(module) not in ("nb2prod",)
    ]
    assert not upward, f"{dotted(path)} ({here}, layer {LAYERS[here]}) imports upwards"


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "standalone").glob("*.py")), ids=lambda p: p.name
)
def test_standalone_modules_need_only_the_standard_library(path: Path) -> None:
    # They run in the notebook's kernel and the replay child, and compare/casefile
    # are copied into every package; numpy, pandas and joblib are imported inside
    # the functions that meet their objects.
    foreign = [
        f"line {line}: {module}"
        for module, line in imports(path, top_level_only=True)
        if module.split(".")[0] not in sys.stdlib_module_names
        and not module.startswith("nb2prod.standalone")
        and module != "__future__"
    ]
    assert not foreign


def test_the_import_graph_has_no_cycles() -> None:
    graph = {
        dotted(p): {m for m, _ in imports(p) if m.startswith("nb2prod")}
        for p in modules()
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            cycle = " -> ".join((*path[path.index(module) :], module))
            pytest.fail(f"import cycle: {cycle}")
        if module in done:
            return
        for target in graph.get(module, ()):
            if target != "nb2prod":  # the package's own __init__ holds only the version
                visit(target, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize("path", modules(), ids=lambda p: dotted(p))
def test_no_module_is_over_the_size_limit(path: Path) -> None:
    lines = len(path.read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{dotted(path)} has {lines} lines; split it by concern"


def test_the_error_tree_draws_every_error_class() -> None:
    from nb2prod import errors

    drawn = errors.__doc__ or ""
    classes = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.Nb2ProdError)
    ]
    assert len(classes) >= 9
    assert [name for name in classes if name not in drawn] == []
    for path in modules():
        if path.name != "errors.py":
            tree = ast.parse(path.read_text("utf-8"))
            defined = [
                n.name
                for n in ast.walk(tree)
                if isinstance(n, ast.ClassDef) and n.name.endswith("Error")
            ]
            assert (
                not defined
            ), f"{dotted(path)} defines {defined}: put errors in errors.py"


def test_the_public_api() -> None:
    assert callable(nb2prod.convert) and callable(nb2prod.check)
    assert callable(nb2prod.verify) and callable(nb2prod.diff)
    assert issubclass(nb2prod.Nb2ProdError, Exception)
    assert (PACKAGE / "py.typed").is_file()


def test_the_cli_starts_without_the_heavy_libraries() -> None:
    """`nb2prod check`'s fast path is what every commit pays: the CLI module must not
    import what only generation needs (libcst alone costs a fifth of a second), nor
    nb2prod's planning and its cache (pickle, hmac, tempfile, threading)."""
    heavy = ["libcst", "black", "jinja2", "nbformat", "papermill", "pandas", "numpy"]
    heavy += [
        "nb2prod.plan.dependencies",
        "nb2prod.plan.model",
        "nb2prod.analysis.entries",
    ]
    probe = (
        "import sys, nb2prod.cli.app, nb2prod.output.fastcheck\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
