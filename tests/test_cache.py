"""The on-disk cache is bounded (least recently used out first) and never trusted.

Every test points ``NB2PROD_CACHE_DIR`` at its own folder and runs the real cache:
entries stored by ``formatted`` and by conversions, evicted by ``trim``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from nb2prod.analysis import cache, entries
from nb2prod.notebook.read import read_notebook
from nb2prod.pipeline import generate
from nb2prod.settings import DEFAULT_CACHE_BYTES, job_for
from notebooks import code, write


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(folder))
    return folder


def _entries(folder: Path) -> dict[Path, int]:
    return {
        p: p.stat().st_size
        for p in folder.rglob("*")
        if p.is_file() and p.parent != folder
    }


def test_trim_evicts_the_least_recently_used_entries_first(cache_dir: Path) -> None:
    texts = [f"x_{index} = {'1' * 2000}\n" for index in range(6)]
    used: dict[Path, int] = {}  # entry -> which text it holds
    for index, text in enumerate(texts):
        cache.formatted(text, str.upper)
        (entry,) = set(_entries(cache_dir)) - set(used)
        used[entry] = index
        os.utime(entry, (1000 + index, 1000 + index))  # stored in this order
    size = max(_entries(cache_dir).values())
    # A hit marks its entry used: the oldest entry becomes the newest.
    assert cache.formatted(texts[0], lambda _: "not called") == texts[0].upper()
    assert entries.trim(3 * size) > 0
    kept = {used[p] for p in _entries(cache_dir)}
    assert kept == {0, 4, 5}, kept  # 1, 2 and 3 were the least recently used
    assert sum(_entries(cache_dir).values()) <= 3 * size
    assert (cache_dir / "key").is_file()  # the key is not an entry
    # A command that stored nothing lists and evicts nothing, whatever the limit.
    assert entries.trim(0) == 0
    assert len(_entries(cache_dir)) == 3
    # A miss after eviction recomputes.
    assert cache.formatted(texts[1], lambda t: t.title()) == texts[1].title()


def test_foreign_and_corrupt_entries_are_misses_and_survive_trim(
    cache_dir: Path,
) -> None:
    texts = [f"value_{index} = {index}\n" for index in range(4)]
    for text in texts:
        cache.formatted(text, str.upper)
    stored = sorted(_entries(cache_dir))
    stored[0].write_bytes(stored[0].read_bytes()[:20])  # truncated
    stored[1].write_bytes(b"")  # empty
    stored[2].unlink()
    stored[2].mkdir()  # a folder where an entry belongs
    stored[3].write_bytes(stored[3].read_bytes() + b"tail")  # changed after its MAC
    for text in texts:
        assert cache.formatted(text, str.lower) == text.lower()  # recomputed
    foreign = cache_dir / "ab" / "notes.txt"
    foreign.parent.mkdir(exist_ok=True)
    foreign.write_text("not nb2prod's")
    (cache_dir / "README").write_text("not nb2prod's either")
    cache.formatted("one more = 1\n", str.upper)  # this process stored something
    entries.trim(0)
    assert foreign.read_text() == "not nb2prod's"
    assert (cache_dir / "README").is_file() and (cache_dir / "key").is_file()
    assert stored[2].is_dir()


def test_a_damaged_cache_gives_the_same_package(
    cache_dir: Path, tmp_path: Path
) -> None:
    notebook = write(
        tmp_path / "scaling.ipynb",
        code("def scale(x: float) -> float:\n    return x * 2", "nb2prod:feature"),
        code("scale(1.0)"),
    )
    fresh = generate(job_for(notebook), read_notebook(notebook)).files
    for index, entry in enumerate(sorted(_entries(cache_dir))):
        entry.write_bytes(b"\x80\x05garbage" * index)
    assert generate(job_for(notebook), read_notebook(notebook)).files == fresh


def test_cache_size_in_the_project_table_bounds_the_cache(
    cache_dir: Path, tmp_path: Path
) -> None:
    notebook = write(
        tmp_path / "scaling.ipynb",
        code("def scale(x: float) -> float:\n    return x * 2", "nb2prod:feature"),
        code("scale(1.0)"),
    )
    assert job_for(notebook).cache_bytes == DEFAULT_CACHE_BYTES
    assert run_cli("convert", notebook, "--no-execute").exit_code == 0
    unbounded = sum(_entries(cache_dir).values())
    shutil.rmtree(cache_dir)
    shutil.rmtree(tmp_path / "scaling")
    limit = unbounded // 2
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.nb2prod]\ncache-size = {limit / 2**20}\n"
    )
    assert job_for(notebook).cache_bytes == limit
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0, result.stderr
    assert 0 < sum(_entries(cache_dir).values()) <= limit


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[tool.nb2prod]\ncache-size = 0\n", "'cache-size' must be above 0"),
        ("[tool.nb2prod]\ncache-size = 'big'\n", "'cache-size' must be a number"),
        (
            '[tool.nb2prod.notebooks."n.ipynb"]\ncache-size = 5\n',
            "unknown key 'cache-size'",
        ),
    ],
)
def test_a_bad_cache_size_is_one_error_line(
    tmp_path: Path, table: str, message: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(table)
    notebook = write(
        tmp_path / "n.ipynb",
        code("def scale(x: float) -> float:\n    return x * 2", "nb2prod:feature"),
    )
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr


def test_black_output_that_does_not_parse_is_an_error_and_never_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached result skips the parse proof, so only proven results are stored."""
    from nb2prod.errors import GeneratedCodeError
    from nb2prod.render import formatting

    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NB2PROD_NO_CACHE", raising=False)
    real = formatting._black
    monkeypatch.setattr(formatting, "_black", lambda text: "def broken(:\n")
    for _ in range(2):
        with pytest.raises(GeneratedCodeError, match=r"invalid Python in pkg/f\.py"):
            formatting.format_source("pkg/f.py", "x  =  1\n")
    monkeypatch.setattr(formatting, "_black", real)
    assert formatting.format_source("pkg/f.py", "x  =  1\n") == "x = 1\n"
    with pytest.raises(GeneratedCodeError, match=r"invalid Python in pkg/g\.py"):
        formatting.format_source("pkg/g.py", "def (\n")  # black refuses it


def test_many_analyses_are_stored_by_a_thread_that_is_waited_for(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold run's thousands of entries are written meanwhile, never half-read."""
    import json
    import threading

    from test_speed import large_notebook

    from nb2prod.analysis import parallel
    from nb2prod.notebook.tags import select
    from nb2prod.notebook.vocabulary import load_vocabulary

    path = tmp_path / "many.ipynb"
    path.write_text(json.dumps(large_notebook(entries.MIN_BACKGROUND_ENTRIES)))
    notebook = read_notebook(path)
    roled = list(select(notebook, load_vocabulary()).cells)
    first = cache.analysed_all(notebook, roled)
    assert [t for t in threading.enumerate() if t.name == "nb2prod-cache"]
    analysed: list[int] = []
    real = parallel.analyse_all

    def counting(*args: object, **kwargs: object) -> object:
        analysed.append(len(args[1]))  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "analyse_all", counting)
    second = cache.analysed_all(notebook, roled)  # waits for the writer first
    assert analysed == [0]  # every cell from the cache
    assert [cache._without_nodes(a) for a in first] == second
    assert not entries._writers
    writing = [t for t in threading.enumerate() if t.name == "nb2prod-cache"]
    assert not writing  # so black's helper may fork


def test_a_planted_link_in_the_cache_is_replaced_not_followed(cache_dir: Path) -> None:
    outside = cache_dir.parent / "victim.txt"
    outside.write_text("keep")
    assert (
        cache.formatted("x  =  1\n", lambda t: "x = 1\n") == "x = 1\n"
    )  # makes the key
    key = entries.key_of("black", "y  =  2\n")
    shard = cache_dir / key[:2]
    shard.mkdir(exist_ok=True)
    planted = shard / f"tmp{key}.{os.getpid()}"
    planted.symlink_to(outside)
    assert cache.formatted("y  =  2\n", lambda t: "y = 2\n") == "y = 2\n"
    assert outside.read_text() == "keep"
    assert not planted.exists() and not planted.is_symlink()
    assert cache.formatted("y  =  2\n", lambda t: "wrong\n") == "y = 2\n"  # stored


def test_the_key_appears_whole_and_the_first_one_wins(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes starting on a new cache at once: the one that finds the key
    while the other writes it reads it whole (an empty key turned its cache off), and
    a key made later never replaces the first."""
    key_file = cache_dir / "key"
    seen_while_writing = []
    make = entries.secrets.token_bytes

    def watched(size: int) -> bytes:
        seen_while_writing.append(os.path.lexists(key_file))
        return make(size)

    monkeypatch.setattr(entries.secrets, "token_bytes", watched)
    first = entries._secret.__wrapped__(cache_dir)
    assert first is not None and key_file.read_bytes() == first
    assert seen_while_writing == [False]
    assert [p.name for p in cache_dir.iterdir()] == ["key"]  # no temporary left
    entries._create_key(cache_dir, key_file)  # a second process that lost the race
    assert entries._secret.__wrapped__(cache_dir) == first
    assert [p.name for p in cache_dir.iterdir()] == ["key"]
