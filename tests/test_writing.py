"""Writing a package: fates, refusal, atomic creation, and the lock."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from nb2prod.errors import Nb2ProdError, WriteRefusedError
from nb2prod.output.lock import LOCK_NAME, Lock, read_lock, sha256
from nb2prod.output.writing import Fate, plan_changes, write
from nb2prod.standalone.compare import Tolerance


def lock_for(files: Mapping[str, str | bytes]) -> Lock:
    """A lock recording ``files`` as generated."""
    return Lock(
        "0.1.0", "../nb.ipynb", "abc", files={p: sha256(t) for p, t in files.items()}
    )


def generate(
    folder: Path, files: Mapping[str, str | bytes], force: bool = False
) -> dict[str, Fate]:
    previous = read_lock(folder)
    report = plan_changes(folder, files, previous.files if previous else {}, force)
    write(report, lock_for(files))
    return {change.path: change.fate for change in report.changes}


def test_new_package_is_created_whole(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    fates = generate(folder, {"a.py": "A = 1\n", "sub/b.py": "B = 2\n"})
    assert fates == {"a.py": Fate.CREATED, "sub/b.py": Fate.CREATED}
    assert (folder / "sub/b.py").read_text() == "B = 2\n"
    assert read_lock(folder) == lock_for({"a.py": "A = 1\n", "sub/b.py": "B = 2\n"})
    assert [p.name for p in tmp_path.iterdir()] == ["pkg"]  # no temporary folder left


def test_fates_of_a_second_generation(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"same.py": "x\n", "changed.py": "old\n", "gone.py": "bye\n"})
    fates = generate(
        folder, {"same.py": "x\n", "changed.py": "new\n", "added.py": "+\n"}
    )
    assert fates == {
        "same.py": Fate.UNCHANGED,
        "changed.py": Fate.UPDATED,
        "gone.py": Fate.REMOVED,
        "added.py": Fate.CREATED,
    }
    assert not (folder / "gone.py").exists()
    assert (folder / "changed.py").read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["pkg"]  # no temporary folder left


def test_the_report_holds_both_contents_and_counts_fates(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"a.py": "old\n", "b.py": "b\n"})
    report = plan_changes(
        folder, {"a.py": "new\n", "b.py": "b\n", "c.py": "c\n"}, {}, force=True
    )
    changes = {c.path: c for c in report.changes}
    assert (changes["a.py"].old, changes["a.py"].new) == ("old\n", "new\n")
    assert (changes["c.py"].old, changes["c.py"].new) == (None, "c\n")
    assert [report.count(fate) for fate in Fate] == [1, 1, 1, 0, 0, 0]


def test_nested_folders_are_made_in_a_new_and_an_existing_package(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "out" / "deeper" / "pkg"
    generate(folder, {"src/pkg/sub/a.py": "a\n"})
    assert (folder / "src/pkg/sub/a.py").read_text() == "a\n"
    generate(folder, {"src/pkg/sub/a.py": "a\n", "tests/cases/f/001/case.json": "{}"})
    assert (folder / "tests/cases/f/001/case.json").read_text() == "{}"


def test_bytes_and_empty_files_are_written_as_they_are(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    files: dict[str, str | bytes] = {
        "model.joblib": b"\x80\x00\xff",
        "case.json": b"{}",  # bytes that happen to be text stay bytes
        "py.typed": "",
    }
    generate(folder, files)
    assert (folder / "model.joblib").read_bytes() == b"\x80\x00\xff"
    assert (folder / "py.typed").read_bytes() == b""
    # Read back as bytes, not text: the same bytes are unchanged, not "edited".
    assert generate(folder, files) == {
        "model.joblib": Fate.UNCHANGED,
        "case.json": Fate.UNCHANGED,
        "py.typed": Fate.UNCHANGED,
    }
    assert generate(folder, {"py.typed": ""}) == {
        "model.joblib": Fate.REMOVED,
        "case.json": Fate.REMOVED,
        "py.typed": Fate.UNCHANGED,
    }


def test_binary_junk_where_an_empty_file_was_generated_is_an_edit(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"py.typed": "", "a.py": "a\n"})
    (folder / "py.typed").write_bytes(b"\xff\xfe mine")
    with pytest.raises(WriteRefusedError):
        generate(folder, {"py.typed": "\n", "a.py": "a\n"})
    assert (folder / "py.typed").read_bytes() == b"\xff\xfe mine"


def test_user_edits_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"a.py": "one\n", "b.py": "two\n"})
    (folder / "a.py").write_text("one, edited\n")
    lock_before = (folder / LOCK_NAME).read_text()
    with pytest.raises(WriteRefusedError, match=r"a\.py") as refused:
        generate(folder, {"a.py": "uno\n", "b.py": "dos\n"})
    assert str(refused.value).startswith(f"{folder}: refusing to overwrite 1 file(s)")
    assert (folder / "a.py").read_text() == "one, edited\n"
    assert (folder / "b.py").read_text() == "two\n"
    assert (folder / LOCK_NAME).read_text() == lock_before


def test_force_overwrites_user_edits(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"a.py": "one\n"})
    (folder / "a.py").write_text("edited\n")
    assert generate(folder, {"a.py": "uno\n"}, force=True) == {"a.py": Fate.UPDATED}
    assert (folder / "a.py").read_text() == "uno\n"


def test_a_user_file_in_the_way_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "README.md").write_text("my notes\n")
    with pytest.raises(WriteRefusedError):
        generate(folder, {"README.md": "# generated\n"})
    assert (folder / "README.md").read_text() == "my notes\n"


def test_an_edited_file_no_longer_generated_is_kept(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"a.py": "a\n", "old.py": "old\n"})
    (folder / "old.py").write_text("old, but mine now\n")
    assert generate(folder, {"a.py": "a\n"})["old.py"] is Fate.KEPT
    assert (folder / "old.py").read_text() == "old, but mine now\n"


def test_files_the_user_added_are_never_touched(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"a.py": "a\n"})
    (folder / "notes.txt").write_text("mine\n")
    fates = generate(folder, {"a.py": "b\n"})
    assert "notes.txt" not in fates
    assert (folder / "notes.txt").read_text() == "mine\n"


def test_damaged_lock_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("{not json")
    with pytest.raises(Exception, match="lock file is damaged"):
        read_lock(tmp_path)


#: Every field of a lock set, with text outside ASCII.
FULL_LOCK = Lock(
    nb2prod_version="0.1.0",
    notebook="../é.ipynb",
    notebook_hash="n",
    generator="g",
    files={"b.py": "2", "a.py": "1"},
    dependencies={"pandas": "2.2.0"},
    modules={"sklearn": "scikit-learn"},
    python="3.11",
    recorded={"tests/cases/f/001/case.json": "r"},
    pinned={"joblib": "1.4.0"},
    parameters={"CUTOFF": "3"},
    signatures={"f": {"x": "int"}},
    contract={"input": {"kind": "scalar"}},
    tolerance=Tolerance(rtol=1e-06, atol=0.0),
    artifacts={"model": {"format": "skops", "trusted": ["pkg.common.Scaler"]}},
)


def test_the_lock_text_is_stable_json_with_every_field(tmp_path: Path) -> None:
    expected = """\
{
  "format": 1,
  "nb2prod_version": "0.1.0",
  "notebook": "../é.ipynb",
  "notebook_hash": "n",
  "generator": "g",
  "parameters": {
    "CUTOFF": "3"
  },
  "tolerance": {
    "rtol": 1e-06,
    "atol": 0.0
  },
  "python": "3.11",
  "dependencies": {
    "pandas": "2.2.0"
  },
  "modules": {
    "sklearn": "scikit-learn"
  },
  "pinned": {
    "joblib": "1.4.0"
  },
  "files": {
    "a.py": "1",
    "b.py": "2"
  },
  "recorded": {
    "tests/cases/f/001/case.json": "r"
  },
  "signatures": {
    "f": {
      "x": "int"
    }
  },
  "contract": {
    "input": {
      "kind": "scalar"
    }
  },
  "artifacts": {
    "model": {
      "format": "skops",
      "trusted": [
        "pkg.common.Scaler"
      ]
    }
  }
}
"""
    assert FULL_LOCK.text() == expected
    (tmp_path / LOCK_NAME).write_text(FULL_LOCK.text(), "utf-8")
    assert read_lock(tmp_path) == FULL_LOCK


def test_an_old_lock_without_the_newer_fields_still_reads(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text(
        '{"nb2prod_version": "0.0.9", "notebook": "n.ipynb", "notebook_hash": "h",'
        ' "files": {"a.py": "1"}}'
    )
    assert read_lock(tmp_path) == Lock("0.0.9", "n.ipynb", "h", files={"a.py": "1"})
    assert read_lock(tmp_path / "nowhere") is None


@pytest.mark.parametrize(
    "text",
    [
        '{"notebook": "n"}',
        "[]",
        '{"nb2prod_version": 1, "notebook": "n", ' '"notebook_hash": "h", "files": []}',
    ],
)
def test_a_lock_of_the_wrong_shape_is_damaged(tmp_path: Path, text: str) -> None:
    (tmp_path / LOCK_NAME).write_text(text)
    with pytest.raises(Nb2ProdError, match=f"{LOCK_NAME}: the lock file is damaged"):
        read_lock(tmp_path)


def test_sha256_of_text_is_that_of_its_utf8_bytes() -> None:
    assert (
        sha256("é")
        == sha256("é".encode())
        == ("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c")
    )


def test_writing_stages_beside_the_package_not_in_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A TMPDIR on another filesystem (tmpfs) would break the atomic move.
    other = Path("/dev/shm")
    if not other.is_dir() or other.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a TMPDIR on another filesystem than the package")
    scratch = Path(tempfile.mkdtemp(dir=other))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    try:
        folder = tmp_path / "pkg"
        generate(folder, {"a.py": "a\n"})
        generate(folder, {"a.py": "b\n"})
        assert (folder / "a.py").read_text() == "b\n"
        assert list(scratch.iterdir()) == []
    finally:
        shutil.rmtree(scratch)
