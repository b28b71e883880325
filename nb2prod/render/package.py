"""Render a PackagePlan into the package's files with the Jinja templates."""

from __future__ import annotations

import ast
import json
import pprint
import shlex
import sys
from collections.abc import Iterable, Mapping

import jinja2

from nb2prod import __version__
from nb2prod.analysis.cells import ImportBinding
from nb2prod.notebook.read import Cell
from nb2prod.notebook.tags import RoledCell
from nb2prod.plan.artifacts import JOBLIB, SKOPS, SavedArtifact
from nb2prod.plan.naming import distribution_name
from nb2prod.plan.planner import Block, ModulePlan, PackagePlan, TestPlan
from nb2prod.plan.serving import ServingPlan
from nb2prod.render.annotate import Annotator
from nb2prod.render.compiled import CompiledTemplates
from nb2prod.render.escaping import FILTERS, comment
from nb2prod.render.model import RenderInput
from nb2prod.render.review_marks import review_marks
from nb2prod.render.rewrite import ARTIFACTS, statement_code, test_function
from nb2prod.render.service import (
    PARQUET_REQUIREMENT,
    SERVING_TEST_REQUIREMENTS,
    SPARK_REQUIREMENT,
    service_files,
    serving_requirements,
)
from nb2prod.render.shipped import (
    learned_code,
    local_import_lines,
    local_module_file,
    reads_artifacts,
)
from nb2prod.resources import data_dir

#: Module docstrings, by module name.
MODULE_DOCS = {
    "common": "Shared code: the notebook's nb2prod:export cells.",
    "features": "Feature functions: the notebook's nb2prod:feature cells.",
    "predict": "The prediction entrypoint: the notebook's nb2prod:predict cell.",
}


def render(data: RenderInput) -> dict[str, str]:
    """Every generated file, by its path relative to the package folder."""
    plan = data.plan
    env = _environment()
    src = f"src/{plan.package}"
    common = {
        "package": plan.package,
        "distribution": distribution_name(plan.package),
        "notebook": plan.notebook.path.name,
        "notebook_ref": data.notebook_ref,
        # `nb2prod convert {{ convert_args }}` regenerates the package (shell-quoted).
        "convert_args": shlex.join([data.notebook_ref, *data.regenerate]),
        "nb2prod_version": __version__,
    }
    files: dict[str, str] = {}
    for module in plan.modules:
        annotator = Annotator(module.imports, _bound(module), data.signatures)
        blocks = [
            _block(block, module, annotator, data.learned) for block in module.blocks
        ]
        files[f"{src}/{module.name}.py"] = env.get_template("module.py.j2").render(
            common,
            docstring=MODULE_DOCS[module.name],
            imports=import_lines([*module.imports, *annotator.needed.values()]),
            local_imports=_local_imports(module, data.learned),
            blocks=blocks,
        )
    local = [m.name for m in plan.local_modules]
    for copied in plan.local_modules:
        files[f"{src}/{copied.name}.py"] = local_module_file(
            copied, plan.notebook.path, data.notebook_ref, local
        )
    files[f"{src}/__init__.py"] = env.get_template("__init__.py.j2").render(
        common, public=plan.public, predict=plan.predict
    )
    files[f"{src}/py.typed"] = ""
    if plan.config:
        files[f"{src}/config.py"] = env.get_template("config.py.j2").render(
            common,
            cell=cell_name(plan.config[0].cell.cell.cell),
            constants=[
                (c.name, _literal_type(c.literal), c.literal) for c in plan.config
            ],
        )
    if plan.artifacts:
        files[f"{src}/{ARTIFACTS}/__init__.py"] = env.get_template(
            "artifacts.py.j2"
        ).render(
            common,
            names=[name for name, _ in plan.artifacts],
            saved=_saved_literal(plan, data.artifacts),
        )
    if plan.tests:
        files.update(_tests(env, common, plan))
    serving = data.serving
    files.update(service_files(env, common, data))
    spark = SPARK_REQUIREMENT if data.spark is not None else ""
    files["pyproject.toml"] = env.get_template("pyproject.toml.j2").render(
        common,
        python=data.python,
        dependencies=[
            *(d.requirement for d in data.dependencies),
            *serving_requirements(data),
        ],
        test_dependencies=[
            *(d.requirement for d in data.test_dependencies),
            *(SERVING_TEST_REQUIREMENTS if serving else ()),
        ],
        serving=serving is not None,
        spark_requirement=spark,
        parquet_requirement=(
            PARQUET_REQUIREMENT if serving and serving.kind != "scalar" else ""
        ),
    )
    files[".gitignore"] = env.get_template("gitignore.j2").render(common)
    marks = review_marks(files, plan.package)
    files[".gitattributes"] = env.get_template("gitattributes.j2").render(
        common, machinery=marks.machinery
    )
    files["README.md"] = env.get_template("README.md.j2").render(
        common,
        logic_files=marks.logic,
        plan=plan,
        artifacts=[name for name, _ in plan.artifacts],
        joblib_artifacts=[
            name
            for name, _ in plan.artifacts
            if _format(data.artifacts, name) == JOBLIB
        ],
        serving=serving,
        spark_requirement=spark,
        example=_json_text(serving.example) if serving else "",
        columns_example=_columns_example(serving),
        **_python_examples(serving),
    )
    return files


def _json_text(value: object) -> str:
    """JSON for a README code block: a backtick (escaped) cannot end the block."""
    return json.dumps(value, ensure_ascii=False).replace("`", "\\u0060")


def _columns_example(serving: ServingPlan | None) -> str:
    """The example's rows as a column-oriented request, for the README."""
    if serving is None or serving.kind != "dataframe":
        return ""
    rows = serving.example["rows"]
    names = dict.fromkeys(name for row in rows for name in row)
    columns = {name: [row.get(name) for row in rows] for name in names}
    return _json_text({"columns": columns})


def _python_examples(serving: ServingPlan | None) -> dict[str, str]:
    """The example input and output as Python literals, for the README."""
    if serving is None or not isinstance(serving.example, dict):
        return {"python_example": "", "python_output": ""}
    value = next(iter(serving.example.values()))
    # Backticks occur only inside string literals here, where \x60 is the same
    # character: written so, none can end the README's code block.
    text = pprint.pformat(value, width=84, sort_dicts=False).replace("`", "\\x60")
    indented = "\n".join("    " + line for line in text.splitlines())
    return {
        "python_example": indented if serving.kind == "dataframe" else text,
        "python_output": repr(serving.example_output).replace("`", "\\x60"),
    }


def _environment() -> jinja2.Environment:
    """Templates splice every value through a filter of :mod:`.escaping`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates") / "package"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # we generate Python, TOML and Markdown: see FILTERS
        bytecode_cache=CompiledTemplates(),
    )
    env.filters.update(FILTERS)
    return env


def import_lines(bindings: Iterable[ImportBinding]) -> list[list[str]]:
    """Import statements grouped (future, standard library, third party) and sorted."""
    plain: dict[str, set[str]] = {"future": set(), "stdlib": set(), "third": set()}
    froms: dict[str, dict[str, set[str]]] = {"future": {}, "stdlib": {}, "third": {}}
    for binding in bindings:
        group = _group(binding.top_module)
        if binding.module is None:
            text = binding.imported + (f" as {binding.alias}" if binding.alias else "")
            plain[group].add(text)
        else:
            text = binding.imported + (f" as {binding.alias}" if binding.alias else "")
            froms[group].setdefault(binding.module, set()).add(text)
    groups = []
    for group in ("future", "stdlib", "third"):
        lines = [f"import {text}" for text in sorted(plain[group], key=_module_key)]
        lines += [
            f"from {module} import {', '.join(sorted(names, key=_sort_key))}"
            for module, names in sorted(
                froms[group].items(), key=lambda i: _module_key(i[0])
            )
        ]
        if lines:
            groups.append(lines)
    return groups


def _sort_key(text: str) -> tuple[int, str, str, str]:
    """isort's (and ruff's) order: CONSTANTS, then Classes, then functions.

    A name imported both plainly and under an alias (``a, a as b``) is ordered by
    the whole text too: the names come from a set, whose order changes with
    PYTHONHASHSEED, and the file must not.
    """
    name = text.split(" as ")[0]
    rank = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return (rank, name.lower(), name, text)


def _module_key(name: str) -> tuple[str, str]:
    return (name.lower(), name)


def _group(module: str) -> str:
    if module == "__future__":
        return "future"
    return "stdlib" if module in sys.stdlib_module_names else "third"


def _local_imports(module: ModulePlan, learned: Mapping[str, str | None]) -> list[str]:
    values = [v for block in module.blocks for v in block.learned]
    artifacts = module.artifact_uses or reads_artifacts(values, learned)
    by_module: dict[str, list[str]] = {}
    for owner, name in module.internal:
        by_module.setdefault(owner, []).append(name)
    lines = local_import_lines(module.local_imports) + [
        f"from .{owner} import {', '.join(sorted(names, key=_sort_key))}"
        for owner, names in by_module.items()
    ]
    first = [f"from . import {ARTIFACTS}"] if artifacts else []
    return first + sorted(lines, key=lambda line: line.split(" import ")[0].lower())


def _bound(module: ModulePlan) -> frozenset[str]:
    """Every name a module binds: its definitions and its imports."""
    names = {
        name for block in module.blocks for s in block.statements for name in s.binds
    }
    names |= {binding.name for binding in (*module.imports, *module.local_imports)}
    names |= {name for _, name in module.internal} | {ARTIFACTS}
    return frozenset(names)


def _block(
    block: Block,
    module: ModulePlan,
    annotator: Annotator,
    learned: Mapping[str, str | None],
) -> Mapping[str, object]:
    label = cell_label(block.cell.cell)
    values = {v.statement.first_line: v for v in block.learned}
    code = "".join(
        (
            learned_code(values[s.first_line], cell_name(block.cell.cell.cell), learned)
            if s.first_line in values
            else statement_code(s, module.artifact_uses, annotator.function)
        )
        for s in block.statements
    )
    return {
        "label": label,
        "markdown": _comment(block.markdown),
        "code": code.strip("\n"),
    }


def cell_label(roled: RoledCell) -> str:
    """The cell by its id and role, never its position (unless it has no id).

    Inserting, deleting or moving other cells then changes no generated comment;
    notebooks older than nbformat 4.5 have no ids and fall back to the position.
    """
    role = f"nb2prod:{roled.role.value}" if roled.role else "untagged"
    return f"{cell_name(roled.cell)} ({role})"


def cell_name(cell: Cell) -> str:
    """``cell id ID``, or ``cell N`` (its position) for a cell without an id."""
    return f"cell id {cell.id}" if cell.id else f"cell {cell.number}"


def _comment(markdown: str) -> list[str]:
    """Markdown as comment lines; a control character cannot end one early."""
    return [f"# {comment(line)}".rstrip() for line in markdown.splitlines()]


def _literal_type(literal: str) -> str:
    return _type_of(ast.literal_eval(literal))


def _type_of(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, list | set | frozenset):
        items = sorted({_type_of(item) for item in value})
        inner = " | ".join(items) if items else "object"
        return f"{type(value).__name__}[{inner}]"
    if isinstance(value, tuple):
        return (
            f"tuple[{', '.join(_type_of(item) for item in value)}]"
            if value
            else "tuple[()]"
        )
    if isinstance(value, dict):
        keys = " | ".join(sorted({_type_of(k) for k in value})) or "object"
        values = " | ".join(sorted({_type_of(v) for v in value.values()})) or "object"
        return f"dict[{keys}, {values}]"
    return type(value).__name__


def _tests(
    env: jinja2.Environment, common: Mapping[str, str], plan: PackagePlan
) -> dict[str, str]:
    files: dict[str, str] = {}
    needs_fixtures = any(test.fixtures for test in plan.tests)
    bindings = [binding for test in plan.tests for binding in test.imports]
    if needs_fixtures:  # for the annotation of the notebook_data fixture
        bindings += [
            ImportBinding("Callable", "collections.abc", "Callable", None, 0, 0),
            ImportBinding("Any", "typing", "Any", None, 0, 0),
        ]
    files["tests/test_notebook_cells.py"] = env.get_template("test_cells.py.j2").render(
        common,
        imports=import_lines(bindings),
        package_imports=_package_imports(plan),
        needs_fixtures=needs_fixtures,
        tests=[_test(test) for test in plan.tests],
    )
    if needs_fixtures:
        files["tests/conftest.py"] = env.get_template("conftest.py.j2").render(common)
    return files


def _package_imports(plan: PackagePlan) -> list[str]:
    public = {function.name for function in plan.public}
    by_module: dict[str, set[str]] = {}
    for test in plan.tests:
        for owner, name in test.package_imports:
            module = plan.package if name in public else f"{plan.package}.{owner}"
            by_module.setdefault(module, set()).add(name)
        if test.artifact_uses:
            by_module.setdefault(plan.package, set()).add(ARTIFACTS)
    return [
        f"from {module} import {', '.join(sorted(names, key=_sort_key))}"
        for module, names in sorted(by_module.items())
    ]


def _test(test: TestPlan) -> Mapping[str, object]:
    code = test_function(test.name, test.statements, test.fixtures, test.artifact_uses)
    return {
        "label": cell_label(test.cell.cell),
        "markdown": _comment(test.markdown),
        "code": code.strip("\n"),
    }


def _format(saved: Mapping[str, SavedArtifact], name: str) -> str:
    entry = saved.get(name)
    return entry.format if entry else SKOPS


def _saved_literal(plan: PackagePlan, saved: Mapping[str, SavedArtifact]) -> str:
    """The loader's table, name → (file, format, trusted types), as a Python literal."""
    table = {
        name: (
            saved[name].file if name in saved else f"{name}.{SKOPS}",
            _format(saved, name),
            saved[name].trusted if name in saved else (),
        )
        for name, _ in plan.artifacts
    }
    return repr(table)
