"""The nb2prod command end to end: convert --no-execute, check, diff, tags, and errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_cli

from nb2prod import pipeline
from nb2prod.notebook.read import Notebook, read_notebook
from nb2prod.output.fastcheck import up_to_date
from nb2prod.settings import Job, job_for
from notebooks import code, md, write

EXPORT = "nb2prod:export"
FEATURE = "nb2prod:feature"
PREDICT = "nb2prod:predict"


def small_notebook(
    path: Path, predict_body: str = "return [score(t) for t in texts]"
) -> Path:
    return write(
        path,
        code("CUTOFF = 2", "parameters"),
        code("texts = ['a b', 'c']"),
        md("## Scoring helpers"),
        code(
            "import os\n\ndef score(text):\n    return len(text.split()) >= CUTOFF",
            EXPORT,
        ),
        code(
            f"def predict(texts: list[str]) -> list[bool]:\n    {predict_body}", PREDICT
        ),
        code("assert predict(texts) == [True, False]", "nb2prod:test"),
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_convert_writes_the_package_and_is_idempotent(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    first = run_cli("convert", notebook, "--no-execute")
    assert first.exit_code == 0, first.stderr
    package = tmp_path / "scoring"
    assert "created src/scoring/common.py" in " ".join(first.stdout.split())
    before = snapshot(package)
    assert {
        "nb2prod.lock",
        "pyproject.toml",
        "README.md",
        "src/scoring/py.typed",
    } <= set(before)
    second = run_cli("convert", notebook, "--no-execute")
    assert second.exit_code == 0
    # Every file but the lock (written last, not reported) is unchanged.
    assert f"{package}: {len(before) - 1} unchanged\n" in second.stdout
    assert "created" not in second.stdout and "updated" not in second.stdout
    assert snapshot(package) == before


def test_unused_import_is_left_out(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    common = (tmp_path / "scoring/src/scoring/common.py").read_text()
    assert "import os" not in common
    assert "from .config import CUTOFF" in common


def test_lock_records_notebook_and_file_hashes(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    lock = json.loads((tmp_path / "scoring/nb2prod.lock").read_text())
    assert lock["notebook"] == "../scoring.ipynb"
    assert len(lock["notebook_hash"]) == 64
    assert "src/scoring/predict.py" in lock["files"]


def test_check_passes_then_fails_with_a_diff_when_a_tagged_cell_changes(
    tmp_path: Path,
) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    assert run_cli("check", notebook).exit_code == 0
    small_notebook(notebook, predict_body="return [not score(t) for t in texts]")
    result = run_cli("check", notebook)
    assert result.exit_code == 1
    assert "--- a/src/scoring/predict.py" in result.stdout
    assert "+    return [not score(t) for t in texts]" in result.stdout
    assert f"Fix with: nb2prod convert {notebook}" in result.stdout


def test_check_ignores_outputs_and_execution_counts(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    data = json.loads(notebook.read_text())
    for cell in data["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 7
            cell["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": "hi\n"}
            ]
    notebook.write_text(json.dumps(data))
    assert run_cli("check", notebook).exit_code == 0


def test_check_finds_a_hand_edited_file_while_the_notebook_is_unchanged(
    tmp_path: Path,
) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    package = tmp_path / "scoring"
    job = job_for(notebook)
    assert job.folder == package
    assert up_to_date(job, read_notebook(notebook))  # the fast path: the lock answers
    predict = package / "src/scoring/predict.py"
    predict.write_text(predict.read_text().replace("score(t)", "not score(t)"))
    # Both paths must see it: the lock's hashes, and the full regeneration.
    assert not up_to_date(job, read_notebook(notebook))
    _, stale = pipeline.check(job, read_notebook(notebook))
    assert [s.path for s in stale] == ["src/scoring/predict.py"]
    result = run_cli("check", notebook)
    assert result.exit_code == 1, result.stdout
    assert "-    return [not score(t) for t in texts]" in result.stdout
    assert "+    return [score(t) for t in texts]" in result.stdout
    assert "1 file(s) differ from what the notebook generates" in " ".join(
        result.stdout.split()
    )


def test_check_of_a_notebook_never_converted_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    result = run_cli("check", notebook)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "scoring: no package generated by nb2prod" in " ".join(result.stderr.split())
    assert f"nb2prod convert {notebook}" in result.stderr


def test_check_reports_an_unknown_tag_added_after_conversion(tmp_path: Path) -> None:
    # Unknown tags do not change the content hash: the lock alone must not answer.
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    data = json.loads(notebook.read_text())
    data["cells"][1]["metadata"]["tags"] = ["nb2prod:exprot"]
    notebook.write_text(json.dumps(data))
    result = run_cli("check", notebook)
    assert result.exit_code == 1, result.stdout
    assert "nb2prod:exprot" in result.stderr
    assert "up to date" not in result.stdout


def test_check_refuses_a_notebook_over_the_size_limit_on_the_fast_path(
    tmp_path: Path,
) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    (tmp_path / "pyproject.toml").write_text("[tool.nb2prod]\nmax-size = 0.0001\n")
    result = run_cli("check", notebook)
    assert result.exit_code == 1
    assert "over the 104 bytes limit" in result.stderr


def test_check_lists_a_file_the_notebook_no_longer_generates(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def double(x):\n    return 2 * x", FEATURE),
        code("def predict(x):\n    return x + 1", PREDICT),
    )
    assert run_cli("convert", notebook, "--no-execute").exit_code == 0
    features = tmp_path / "nb/src/nb/features.py"
    assert features.is_file()
    write(notebook, code("def predict(x):\n    return x + 1", PREDICT))
    result = run_cli("check", notebook)
    assert result.exit_code == 1, result.stdout
    assert "--- a/src/nb/features.py" in result.stdout
    assert "+++ /dev/null" in result.stdout
    _, stale = pipeline.check(job_for(notebook), read_notebook(notebook))
    assert "src/nb/features.py" in [s.path for s in stale]


def test_check_skips_notebooks_without_tags(tmp_path: Path) -> None:
    plain = write(tmp_path / "eda.ipynb", code("x = 1"))
    result = run_cli("check", plain)
    assert result.exit_code == 0
    assert result.stdout == ""


def test_edited_file_is_refused_then_forced(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    edited = tmp_path / "scoring/src/scoring/common.py"
    edited.write_text(edited.read_text() + "# my fix\n")
    mine = tmp_path / "scoring/src/scoring/extra.py"
    mine.write_text("VALUE = 1\n")
    small_notebook(notebook, predict_body="return [not score(t) for t in texts]")
    check = run_cli("check", notebook)
    assert check.exit_code == 1 and "-# my fix" in check.stdout
    refused = run_cli("convert", notebook, "--no-execute")
    assert refused.exit_code == 1
    assert "refusing to overwrite 1 file(s)" in refused.stderr
    assert "src/scoring/common.py" in refused.stderr
    assert "--force" in refused.stderr
    assert "# my fix" in edited.read_text()
    assert "not score" not in (tmp_path / "scoring/src/scoring/predict.py").read_text()
    forced = run_cli("convert", notebook, "--no-execute", "--force")
    assert forced.exit_code == 0
    assert "# my fix" not in edited.read_text()
    assert mine.read_text() == "VALUE = 1\n"


def test_diff_writes_nothing(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    result = run_cli("diff", notebook)
    assert result.exit_code == 1
    assert "+++ b/src/scoring/predict.py" in result.stdout
    assert not (tmp_path / "scoring").exists()
    run_cli("convert", notebook, "--no-execute")
    again = run_cli("diff", notebook)
    assert again.exit_code == 0 and "no changes" in again.stdout


def test_out_and_name_options(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "01 Churn v2.ipynb")
    assert (
        run_cli(
            "convert", notebook, "--no-execute", "--out", tmp_path / "build"
        ).exit_code
        == 0
    )
    assert (tmp_path / "build/churn_v2/src/churn_v2/predict.py").is_file()
    assert (
        run_cli("convert", notebook, "--no-execute", "--name", "scorer").exit_code == 0
    )
    assert (tmp_path / "scorer/src/scorer/__init__.py").is_file()


def test_tags_lists_the_vocabulary() -> None:
    result = run_cli("tags")
    assert result.exit_code == 0
    for tag in (
        EXPORT,
        FEATURE,
        PREDICT,
        "nb2prod:artifact",
        "nb2prod:test",
        "nb2prod:skip",
        "parameters",
    ):
        assert tag in result.stdout


def test_tags_shows_each_tagged_cell(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    result = run_cli("tags", notebook)
    assert result.exit_code == 0
    rows = result.stdout
    # Each row: cell, id, tag, first line, what ships, problems (none here).
    assert re.search(r"│ 4 +│ c4 │ nb2prod:export +│ import os +│ score +│ +│", rows)
    assert re.search(r"│ 5 +│ c5 │ nb2prod:predict │ def +│ predict +│ +│", rows)
    assert re.search(
        r"│ 6 +│ c6 │ nb2prod:test +│ assert +│ test_cell_c6 in +│ +│", rows
    )


# ---- errors: one clear message with its location, exit 1, nothing written ----


def convert_error(tmp_path: Path, notebook: Path, code_: int = 1) -> str:
    result = run_cli("convert", notebook, "--no-execute", "--out", tmp_path / "out")
    assert result.exit_code == code_, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists()
    return result.stderr


def test_invalid_json(tmp_path: Path) -> None:
    notebook = tmp_path / "broken.ipynb"
    notebook.write_text('{"cells": [')
    message = convert_error(tmp_path, notebook)
    assert message.startswith("error: broken.ipynb: is not valid JSON:")


def test_not_a_notebook(tmp_path: Path) -> None:
    notebook = tmp_path / "data.ipynb"
    notebook.write_text('{"rows": [1, 2]}')
    assert "is JSON but not a Jupyter notebook" in convert_error(tmp_path, notebook)


def test_r_kernel(tmp_path: Path) -> None:
    notebook = write(tmp_path / "r.ipynb", code("x <- 1", EXPORT), language="R")
    assert "is a R notebook" in convert_error(tmp_path, notebook)


def test_empty_notebook(tmp_path: Path) -> None:
    notebook = write(tmp_path / "empty.ipynb")
    assert "error: empty.ipynb: the notebook has no cells" in convert_error(
        tmp_path, notebook
    )


def test_no_tagged_cell_says_how_to_tag(tmp_path: Path) -> None:
    notebook = write(tmp_path / "plain.ipynb", code("x = 1"))
    message = convert_error(tmp_path, notebook)
    assert "plain.ipynb: no cell has an nb2prod tag" in message
    assert "# nb2prod: export" in message


def test_unknown_tag_suggests_the_right_one(tmp_path: Path) -> None:
    notebook = write(tmp_path / "typo.ipynb", code("x = 1", "nb2prod:featur"))
    message = convert_error(tmp_path, notebook)
    assert "typo.ipynb: cell 1 [id c1]: error: unknown tag 'nb2prod:featur'" in message
    assert "did you mean 'nb2prod:feature'?" in message


def test_undefined_name_is_located_with_a_hint(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("import pandas as pd\nraw = pd.DataFrame({'a': [1]})"),
        code("def total(frame):\n    return frame.sum() + raw.sum()", FEATURE),
    )
    message = convert_error(tmp_path, notebook)
    assert message == textwrap.dedent("""\
        nb.ipynb: cell 2 [id c2], line 2, col 26: error: name 'raw' is not defined by any shipped cell
                return frame.sum() + raw.sum()
                                     ^^^
          hint: cell 1 [id c1] assigns it: tag that cell nb2prod:export to ship its code, or nb2prod:artifact if 'raw' is a trained object; or assign what you need from it in a shipped cell: a learned value
        1 error
        """)


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def f():\n    return alpha", FEATURE),
        code("def g():\n    return beta\n\ndef h(:\n", EXPORT),
        code("!pip install thing\nx = 1", EXPORT),
    )
    message = convert_error(tmp_path, notebook)
    assert (
        "cell 1 [id c1], line 2, col 12: error: name 'alpha' is not defined" in message
    )
    assert (
        "cell 2 [id c2], line 4, col 7: error: syntax error: invalid syntax" in message
    )
    assert "cell 3 [id c3], line 1, col 1: error: shell command cannot ship" in message
    assert message.rstrip().endswith("3 errors")


def test_magic_and_get_ipython_rules(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("%%time\ndef f():\n    return 1", FEATURE),
        code("def g():\n    return get_ipython()", EXPORT),
        code("%%bash\necho hi", EXPORT),
    )
    message = convert_error(tmp_path, notebook)
    assert "cell 1" not in message
    assert (
        "cell 2 [id c2], line 2, col 12: error: get_ipython() exists only inside IPython"
        in message
    )
    assert "cell 3 [id c3], line 1, col 1: error: cell magic %%bash" in message


def test_predict_must_define_exactly_one_public_function(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def predict(x):\n    return x\n\ndef explain(x):\n    return x", PREDICT),
    )
    message = convert_error(tmp_path, notebook)
    assert (
        "exactly one public function; found 'predict' (cell 1), 'explain' (cell 1)"
        in message
    )


def test_star_and_relative_imports_cannot_ship(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code(
            "from math import *\nfrom .helpers import tool\n\ndef f():\n    return pi",
            EXPORT,
        ),
    )
    message = convert_error(tmp_path, notebook)
    assert "line 1, col 1: error: 'from math import *' hides which names" in message
    assert "line 2, col 1: error: a relative import cannot ship" in message


def test_shadowed_definition_warns(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def f():\n    return 1", FEATURE),
        code("def f():\n    return 2", FEATURE),
    )
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0
    assert (
        "cell 2 [id c2], line 1: warning: 'f' is defined again here; the definition in cell 1"
        in result.stderr
    )
    features = (tmp_path / "nb/src/nb/features.py").read_text()
    assert "return 2" in features and "return 1" not in features


@pytest.mark.parametrize(("stem", "option"), [("json", ()), ("nb", ("--name", "json"))])
def test_package_name_may_not_shadow_a_module(
    tmp_path: Path, stem: str, option: tuple[str, ...]
) -> None:
    notebook = write(
        tmp_path / f"{stem}.ipynb", code("def f():\n    return 1", FEATURE)
    )
    result = run_cli("convert", notebook, "--no-execute", *option)
    assert result.exit_code == (2 if option else 1)
    assert "would shadow the module of the standard library" in result.stderr
    assert "--name" in result.stderr


#: The cell magics the README promises are dropped from shipped cells.
README_HARMLESS = ("time", "timeit", "capture", "prun", "memit")


@pytest.mark.parametrize("magic", README_HARMLESS)
def test_harmless_cell_magic_is_dropped_with_a_warning(
    tmp_path: Path, magic: str
) -> None:
    notebook = write(
        tmp_path / "nb.ipynb", code(f"%%{magic}\ndef f():\n    return 1", FEATURE)
    )
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0, result.stderr
    assert (
        f"nb.ipynb: cell 1 [id c1], line 1, col 1: warning: cell magic %%{magic}"
        in result.stderr
    )
    features = (tmp_path / "nb/src/nb/features.py").read_text()
    assert (
        "# --- From cell id c1 (nb2prod:feature) ---\ndef f() -> Any:\n    return 1"
        in features
    )
    assert f"%%{magic}" not in features


def test_a_bug_in_nb2prod_is_exit_3_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No input should reach a bug, so one is planted where check calls the library.
    def broken(job: Job, notebook: Notebook) -> bool:
        raise ZeroDivisionError("planted")

    notebook = small_notebook(tmp_path / "scoring.ipynb")
    assert run_cli("convert", notebook, "--no-execute").exit_code == 0
    monkeypatch.setattr("nb2prod.cli.app.up_to_date", broken)
    result = run_cli("check", notebook)
    assert result.exit_code == 3
    assert result.stderr.startswith("internal error: ZeroDivisionError: planted\n")
    assert "This is a bug in nb2prod" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    with pytest.raises(ZeroDivisionError):
        run_cli("--debug", "check", notebook)


def test_real_process_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nb2prod",
            "convert",
            str(tmp_path / "nope.ipynb"),
            "--no-execute",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == "error: nope.ipynb: no such file\n"


def test_version() -> None:
    assert run_cli("--version").stdout.startswith("nb2prod 0.")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    notebook = tmp_path / "missing.ipynb"
    with pytest.raises(Exception, match="no such file"):
        run_cli("--debug", "convert", notebook, "--no-execute")
    # Also after the command, where users put options; and only for that run.
    with pytest.raises(Exception, match="no such file"):
        run_cli("convert", "--debug", notebook, "--no-execute")
    assert run_cli("convert", notebook, "--no-execute").exit_code == 1


def test_a_name_read_at_the_top_before_its_later_cell_is_an_error(
    tmp_path: Path,
) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("LIMIT = BASE * 2\n\ndef f():\n    return LIMIT", EXPORT),
        code("BASE = 3", EXPORT),
    )
    message = convert_error(tmp_path, notebook)
    assert (
        "nb.ipynb: cell 1 [id c1], line 1, col 9: error: 'BASE' is defined only later, "
        "in cell 2 [id c2]: run top to bottom, the notebook fails here"
    ) in message
    assert "hint: move cell 2 [id c2] above cell 1" in message


def test_a_name_read_only_in_a_function_body_never_called_early_warns(
    tmp_path: Path,
) -> None:
    # Top to bottom this runs: total() is first called after cell 2 defined helper.
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def total(values):\n    return helper(values)", EXPORT),
        code("def helper(values):\n    return sum(values)", EXPORT),
        code("total([1, 2])"),
    )
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0, result.stderr
    assert (
        "nb.ipynb: cell 1 [id c1], line 2, col 12: warning: 'helper', read inside "
        "total() in cell 1, is defined only later, in cell 2 [id c2]: the notebook "
        "runs top to bottom only because nothing calls total() before cell 2 [id c2]"
    ) in " ".join(result.stderr.split())
    assert "error" not in result.stderr


@pytest.mark.parametrize(
    "caller",
    ["total([1, 2])", "def run():\n    return total([1])\n\nrun()"],
    ids=["direct", "through-another-function"],
)
def test_a_call_before_the_defining_cell_is_an_error(
    tmp_path: Path, caller: str
) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def total(values):\n    return helper(values)", EXPORT),
        code(caller),
        code("def helper(values):\n    return sum(values)", EXPORT),
    )
    message = convert_error(tmp_path, notebook)
    called = "total" if caller.startswith("total") else "run"
    assert (
        "nb.ipynb: cell 1 [id c1], line 2, col 12: error: 'helper' is defined only "
        f"later, in cell 3 [id c3], and cell 2 calls {called}() before that: run top "
        "to bottom, the notebook fails there"
    ) in message
    assert "hint: move cell 3 [id c3] above cell 1" in message


def test_names_from_a_later_artifact_cell_are_guarded(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def predict(x: float) -> float:\n    return x * weight", PREDICT),
        code("predict(1.0)"),
        code("weight = 2.0", "nb2prod:artifact"),
    )
    message = convert_error(tmp_path, notebook)
    assert (
        "cell 1 [id c1], line 2, col 16: error: 'weight' is defined only later, in "
        "cell 3 [id c3], and cell 2 calls predict() before that"
    ) in message


@pytest.mark.parametrize(
    ("source", "severity"),
    [
        ("LIMIT = CUTOFF + 1\n\ndef f():\n    return LIMIT", "error"),
        ("def f():\n    return CUTOFF", "warning"),
    ],
    ids=["top-level", "function-body"],
)
def test_names_from_a_later_parameters_cell_are_guarded(
    tmp_path: Path, source: str, severity: str
) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code(source, FEATURE),
        code("CUTOFF = 2", "parameters"),
    )
    result = run_cli("convert", notebook, "--no-execute", "--out", tmp_path / "out")
    assert result.exit_code == (1 if severity == "error" else 0), result.stderr
    assert (
        f"nb.ipynb: cell 1 [id c1], line " f"{1 if severity == 'error' else 2}, col "
    ) in result.stderr
    assert (
        f"{severity}: 'CUTOFF'" in result.stderr
        and "defined only later, in cell 2 [id c2]" in " ".join(result.stderr.split())
    )


@pytest.mark.parametrize(
    ("source", "severity"),
    [
        ("def f(x=BASE):\n    return x", "error"),  # a default runs with the def
        ("@staticmethod\ndef f():\n    return BASE", "warning"),
        ("class C:\n    y = BASE", "error"),  # a class body runs with the class
        ("class C:\n    def m(self):\n        return BASE", "warning"),
        ("def f():\n    s = 'é→'; return BASE", "warning"),  # columns in characters
        ("async def f():\n    return BASE", "warning"),
    ],
)
def test_whether_the_read_runs_before_the_later_cell_decides_the_severity(
    tmp_path: Path, source: str, severity: str
) -> None:
    notebook = write(
        tmp_path / "nb.ipynb", code(source, EXPORT), code("BASE = 3", EXPORT)
    )
    result = run_cli("convert", notebook, "--no-execute", "--out", tmp_path / "out")
    assert result.exit_code == (1 if severity == "error" else 0), result.stderr
    assert f"{severity}: 'BASE'" in result.stderr


TOTAL = ("def total(values):\n    return helper(values)", EXPORT)
HELPER = ("def helper(values):\n    return sum(values)", EXPORT)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (  # earlier and same-cell reads are fine; after an untagged cell too
            [
                ("x = 0", None),
                ("BASE = 1\nTOP = BASE + 1", EXPORT),
                ("def f():\n    return TOP + LATE", EXPORT),
                ("LATE = 2", EXPORT),
            ],
            "warning: 'LATE', read inside f() in cell 3",
        ),
        (  # a class body runs as its cell runs, after a method
            [
                TOTAL,
                (
                    "class Runner:\n    def m(self):\n        return 0\n"
                    "    value = total([1])",
                    None,
                ),
                HELPER,
            ],
            "error: 'helper' is defined only later, in cell 3 [id c3], and cell 2 "
            "calls total()",
        ),
        (  # a call in the defining cell, after the definition, runs fine
            [
                ("def predict(x: float) -> float:\n    return x * weight", PREDICT),
                ("weight = 2.0\npredict(1.0)", "nb2prod:artifact"),
            ],
            "warning: 'weight', read inside predict() in cell 1",
        ),
        (  # a call in the reading cell itself runs before the defining cell
            [(TOTAL[0] + "\n\nRESULT = total([1])", EXPORT), HELPER],
            "error: 'helper' is defined only later, in cell 2 [id c2], and cell 1 "
            "calls total()",
        ),
        (  # the body's first token
            [
                ("def f():\n    BASE.append(1)\n    return BASE", EXPORT),
                ("BASE = []", EXPORT),
            ],
            "warning: 'BASE', read inside f() in cell 1",
        ),
        (  # a later line of the body's last, multi-line statement
            [
                ("def f():\n    return (\n        1 + BASE\n    )", EXPORT),
                ("BASE = 2", EXPORT),
            ],
            "warning: 'BASE', read inside f() in cell 1",
        ),
        (  # b calls a, defined after it, which calls total: found in two passes
            [
                TOTAL,
                ("def b():\n    return a()\n\ndef a():\n    return total([1])", None),
                ("b()", None),
                HELPER,
            ],
            "and cell 3 calls b() before that",
        ),
        (
            [
                TOTAL,
                ("def b():\n    return a()\n\ndef a():\n    return total([1])", None),
                ("a()", None),
                HELPER,
            ],
            "and cell 3 calls a() before that",
        ),
        (  # a function after a top-level statement of its cell
            [("X = 1\n\n" + TOTAL[0], EXPORT), HELPER],
            "warning: 'helper', read inside total() in cell 1",
        ),
        (  # a one-line def: the body's columns are counted on line 1 too
            [("def total(values): return helper(values)", EXPORT), HELPER],
            "warning: 'helper', read inside total() in cell 1",
        ),
        (  # the read is the body's last character
            [("def f():\n    return B", EXPORT), ("B = 1", EXPORT)],
            "warning: 'B', read inside f() in cell 1",
        ),
        (  # a lambda's body ends before the rest of its line, which runs now
            [("class C: f = (lambda: B); y = B", EXPORT), ("B = 1", EXPORT)],
            "error: 'B' is defined only later, in cell 2 [id c2]: run top to bottom",
        ),
        (  # a cell Python cannot parse does not hide the calls after it
            [TOTAL, ("x = (", None), ("total([1])", None), HELPER],
            "and cell 3 calls total() before that",
        ),
        (  # a name bound to a lambda that calls total is watched too
            [TOTAL, ("run = lambda: total([1])\nrun()", None), HELPER],
            "and cell 2 calls run() before that",
        ),
        (  # a keyword-only default runs with the def
            [TOTAL, ("def run(*, n=total([1])):\n    return n", None), HELPER],
            "and cell 2 calls total() before that",
        ),
        (  # the outer body goes on after a nested def: still not run
            [
                TOTAL,
                (
                    "def run():\n    def inner():\n        return 0\n"
                    "    return total([1])",
                    None,
                ),
                HELPER,
            ],
            "warning: 'helper', read inside total() in cell 1",
        ),
        (  # a class whose method calls total: calling the class is watched
            [
                TOTAL,
                (
                    "class Runner:\n    def go(self):\n        return total([1])"
                    "\n\nRunner().go()",
                    None,
                ),
                HELPER,
            ],
            "and cell 2 calls Runner() before that",
        ),
        (  # a function that does not reach total may be called early
            [TOTAL, ("def other():\n    return 1\n\nother()", None), HELPER],
            "warning: 'helper', read inside total() in cell 1",
        ),
        (  # a recursive function is watched once (no endless search)
            [
                (
                    "def total(values):\n"
                    "    return helper(values) if values else total([1])",
                    EXPORT,
                ),
                HELPER,
            ],
            "warning: 'helper', read inside total() in cell 1",
        ),
        (  # the body's last line holds a multi-byte character before the read
            [("def f():\n    return (\n        'é' + B)", EXPORT), ("B = 1", EXPORT)],
            "warning: 'B', read inside f() in cell 1",
        ),
        (  # a lambda's default runs with the lambda
            [TOTAL, ("f = lambda n=total([1]): n", None), HELPER],
            "and cell 2 calls total() before that",
        ),
        (  # the statement goes on after a lambda: that part runs now
            [TOTAL, ("y = [(lambda: 0), total([1])]", None), HELPER],
            "and cell 2 calls total() before that",
        ),
        (  # a lambda inside a def runs no earlier than the def's body
            [TOTAL, ("def run():\n    return lambda: total([1])", None), HELPER],
            "warning: 'helper', read inside total() in cell 1",
        ),
    ],
    ids=[
        "earlier",
        "class-body",
        "defining-cell",
        "reading-cell",
        "first-token",
        "multi-line",
        "two-passes-b",
        "two-passes-a",
        "after-a-statement",
        "one-line-def",
        "last-character",
        "lambda-then-class-body",
        "unparseable-cell",
        "lambda-binding",
        "keyword-default",
        "nested-def",
        "class-call",
        "unrelated-call",
        "recursion",
        "multi-byte-last-line",
        "lambda-default",
        "after-a-lambda",
        "lambda-in-a-def",
    ],
)
def test_when_a_later_definition_is_reached(
    tmp_path: Path, cells: list[tuple[str, str | None]], expected: str
) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        *(code(source, tag) if tag else code(source) for source, tag in cells),
    )
    result = run_cli("convert", notebook, "--no-execute", "--out", tmp_path / "out")
    text = " ".join(result.stderr.split())
    assert expected in text
    assert text.count("defined only later") == 1, text
    assert result.exit_code == (0 if "warning:" in expected else 1), text


def test_the_hidden_state_diagnostic_shows_the_line_and_the_hint(
    tmp_path: Path,
) -> None:
    notebook = write(tmp_path / "nb.ipynb", code(*TOTAL), code(*HELPER))
    result = run_cli("convert", notebook, "--no-execute")
    assert (
        "\n        return helper(values)\n               ^^^^^^\n"
        "  hint: move cell 2 [id c2] above cell 1\n"
    ) in result.stderr


def test_cells_last_run_out_of_order_give_a_warning(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def f():\n    return 1", FEATURE),
        code("def g():\n    return f()", FEATURE),
    )
    data = json.loads(notebook.read_text())
    data["cells"][0]["execution_count"] = 9
    data["cells"][1]["execution_count"] = 4
    notebook.write_text(json.dumps(data))
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0
    assert (
        "nb.ipynb: cell 2 [id c2]: warning: cell 2 last ran before cell 1 above it "
        "(execution counts 4 and 9): what you saw may depend on that order; nb2prod "
        "convert runs the notebook top to bottom\n"
    ) in result.stderr


@pytest.mark.parametrize(
    ("counts", "warned"),
    [
        ((None, 9, 4), "cell 3 last ran before cell 2"),  # a first cell never run
        ((1, 5, 2), None),  # the untagged cell's count does not matter
        ((3, None, 5), None),
        ((1, 2, 3), None),
    ],
)
def test_only_tagged_cells_run_out_of_order_warn(
    tmp_path: Path, counts: tuple[int | None, ...], warned: str | None
) -> None:
    tags = [None, FEATURE, FEATURE] if counts[0] is None else [FEATURE, None, FEATURE]
    cells = [
        code(f"def f{n}():\n    return {n}", *([tag] if tag else []))
        for n, tag in enumerate(tags)
    ]
    notebook = write(tmp_path / "nb.ipynb", *cells)
    data = json.loads(notebook.read_text())
    for cell, count in zip(data["cells"], counts, strict=True):
        cell["execution_count"] = count
    notebook.write_text(json.dumps(data))
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0, result.stderr
    if warned:
        assert warned in result.stderr
    else:
        assert "last ran before" not in result.stderr


def test_a_later_definition_in_cells_without_ids_names_them_by_number(
    tmp_path: Path,
) -> None:
    # nbformat 4.4 notebooks have no cell ids.
    notebook = write(tmp_path / "nb.ipynb", code(*TOTAL), code(*HELPER))
    data = json.loads(notebook.read_text())
    data["nbformat_minor"] = 4
    for cell in data["cells"]:
        del cell["id"]
    notebook.write_text(json.dumps(data))
    result = run_cli("convert", notebook, "--no-execute")
    assert (
        "nb.ipynb: cell 1, line 2, col 12: warning: 'helper', read inside total() in "
        "cell 1, is defined only later, in cell 2: the notebook runs top to bottom "
        "only because nothing calls total() before cell 2\n"
    ) in result.stderr
    assert "hint: move cell 2 above cell 1\n" in result.stderr


def test_requires_python_is_recorded_once_so_check_agrees_across_machines(
    tmp_path: Path,
) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    lock_path = tmp_path / "scoring/nb2prod.lock"
    lock = json.loads(lock_path.read_text())
    assert lock["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    lock["python"] = "3.10"  # as if a colleague on Python 3.10 converted it first
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    assert run_cli("convert", notebook, "--no-execute", "--force").exit_code == 0
    assert (
        'requires-python = ">=3.10"'
        in (tmp_path / "scoring/pyproject.toml").read_text()
    )
    assert run_cli("check", notebook).exit_code == 0


@pytest.mark.parametrize(
    "first", ["%%capture", "", "  "], ids=["cell-magic", "blank", "spaces"]
)
def test_a_line_magic_below_a_cell_magic_or_blank_line_is_dropped_at_its_line(
    tmp_path: Path, first: str
) -> None:
    # IPython drops a cell's leading blank lines; the lines must still match up.
    source = f"{first}\ndef f():\n    return 1\n%matplotlib inline"
    notebook = write(tmp_path / "nb.ipynb", code(source, FEATURE))
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0, result.stderr
    assert (
        "nb.ipynb: cell 1 [id c1], line 4, col 1: warning: line magic %matplotlib "
        "only changes what the notebook displays; it is dropped\n" in result.stderr
    )
    assert "error" not in result.stderr
    features = (tmp_path / "nb/src/nb/features.py").read_text()
    assert "def f() -> Any:\n    return 1" in features
    assert "matplotlib" not in features


def _quick(arguments: list[str], cwd: Path) -> list[str]:
    """``checked_by_lock(arguments)`` in a fresh process: its output, its answer,
    then whether typer or rich were imported."""
    probe = (
        "import sys\nfrom nb2prod.cli.quick import checked_by_lock\n"
        f"answer = checked_by_lock({arguments!r})\n"
        "print(answer, 'typer' in sys.modules or 'rich' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True, text=True, check=True, cwd=cwd,
    )  # fmt: skip
    return result.stdout.splitlines()


def test_an_up_to_date_check_is_answered_before_the_cli_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-commit path: same output and CI summary as the full command, without
    importing typer or rich; anything else falls through to the full command."""
    notebook = small_notebook(tmp_path / "[red]scoring.ipynb")  # markup for rich
    other = small_notebook(tmp_path / "other.ipynb")
    assert run_cli("convert", notebook, "--no-execute").exit_code == 0
    assert run_cli("convert", other, "--no-execute").exit_code == 0
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(tmp_path)
    full = run_cli("check", notebook.name, other.name)
    assert full.exit_code == 0
    expected, summary_text = full.stdout.splitlines(), summary.read_text("utf-8")
    assert expected == [
        "red_scoring: up to date with [red]scoring.ipynb",
        "other: up to date with other.ipynb",
    ]
    summary.unlink()
    assert _quick(["check", notebook.name, other.name], tmp_path) == [
        *expected,
        "True False",
    ]
    assert summary.read_text("utf-8") == summary_text
    assert _quick(["check", "--out=.", other.name, "--name", "other"], tmp_path) == [
        expected[1],
        "True False",
    ]
    # Other options, a stale package, a missing one: the full command line answers.
    for options in (
        ["--debug"],
        ["--kernel", "k"],
        ["--out"],
        ["--out", ".", "--out", "."],
    ):
        assert _quick(["check", *options, other.name], tmp_path) == ["False False"]
    assert _quick(["check", "--out", "elsewhere", other.name], tmp_path) == [
        "False False"
    ]
    assert _quick(["check", "missing.ipynb"], tmp_path) == ["False False"]
    assert _quick(["diff", other.name], tmp_path) == ["False False"]
    (tmp_path / "other" / "src" / "other" / "__init__.py").write_text("# edited\n")
    assert _quick(["check", notebook.name, other.name], tmp_path) == ["False False"]
    stale = subprocess.run(
        [sys.executable, "-m", "nb2prod", "check", other.name],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert stale.returncode == 1
    assert "src/other/__init__.py" in stale.stdout
