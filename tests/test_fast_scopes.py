"""The ``ast`` analysis of simple cells (nb2prod/analysis/fast.py) equals libcst's.

Every cell of the golden cases, the samples, the corpus, the fuzz fragments and the
snippets below is analysed both ways where the fast path accepts it; the statements
(kind, bindings and their order, reads with their positions, imports, modules,
lines, docstring, text, header, annotated) must be equal. Snippets the fast path
must accept are listed apart, so that the comparison cannot pass by refusing them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from test_chunks import known_cells
from test_speed import feature_cell

from nb2prod.analysis import cells, fast
from nb2prod.analysis.magics import mask
from nb2prod.analysis.model import Statement

#: Cells the fast path must take, each aimed at one of libcst's rules.
ACCEPTED = [
    feature_cell(7),
    # a read before the same scope's assignment resolves outside (libcst's order)
    "print(x)\nx = 1\nprint(x)",
    "print(len)\nlen = 5\nprint(len)",
    "def f():\n    y = x\n    x = 2\n    return x + y\n",
    "def f():\n    x = x + 1\n    return x\n",
    "def f():\n    len = 3\n    return len\n",
    "def f(a, /, b: int = default, *args: T, c=other, **kw) -> R:\n    return a + b + c + gl\n",
    "def outer():\n    v = 1\n    def inner():\n        return v + w\n    return inner\nw = 2",
    "def rec(n):\n    return rec(n - 1) if n else 0\n",
    "@decorate(arg)\n\n# between\n@other\nasync def go(x: int = default) -> None:\n"
    "    async with ctx as c, more() as (d, e):\n        await c(x, d, e)\n",
    "for i, (j, *k) in pairs:\n    acc[i] = j\nelse:\n    done = True\n",
    "for x in x:\n    pass\n",
    "def f():\n    for x in x:\n        pass\n",
    "with open(p) as fh:\n    data = fh.read()\n",
    "try:\n    import numpy as np\nexcept ImportError as err:\n    np = None\n"
    "    reason = str(err)\nelse:\n    ok = 1\nfinally:\n    cleanup()\n",
    "x: int = 1\ny: int\nz += 1\nw[0] = a.b = c\nq, *r = s\n",
    "del gone, (also[0]), attr.x\n",
    "lam = lambda q, r=bound: q + r + free\n",
    "a = 1; b = 2; a = 3\n",
    "b = 1\na = 2; b = 3\n",
    "import os, sys as system\nfrom collections import abc as A, OrderedDict\n"
    "from . import sibling\nfrom ..pkg.mod import thing\nfrom x import *\n",
    "if a:\n    import json\nelif b:\n    from os import path\nelse:\n    import re\n",
    "def f():\n    import math\n    from .rel import z\n    return math.pi\n",
    "# header\n\n# more\nimport pandas as pd\n\n# owned\n\nx = pd.DataFrame()  # trailing\n"
    "# after\n\n",
    "def f():\n    x = 1\n    # inner\n\n        # deeper\n# top\n    # back\ny = 1\n",
    "def f():\n    if a:\n        pass\n  # two\n# zero\nx = 1\n",
    "if a:\n    pass\nelif b:\n    pass\n    # in elif\n# out\nz = 1",
    "if a:\n    pass\nelse:\n    if c:\n        pass\n  # else block\n# out\nz = 1",
    "if a: pass\n    # not a block\nz = 1\n",
    "def f(): return 1\n    # no block either\n",
    "def f():\n\treturn 1\n\t# tab\n\nx = 1",
    "x = (1,\n     2); y = 3\nz = 4",
    "x = 1 \\\n  + 2\n",
    "x = 1; \\\ny = 2\nz = 3 \\\n ; w = 4  # c; d\nv = 5;\n",
    "def f():\n    'doc'\n\n\ndef g():\n    '''Many\n\n       lines.\n    '''\n    return 1\n",
    "def f(): 'one line'\n",
    "def f():\n    b'bytes' \n    return 1\n",
    "é = naïve + 1\nprint(é, naïve, 'ü', ü)\n",
    "s = 'ü' + café(x)\n",
    "value = obj.attr.method(arg).other[key](*args, **kwargs)\n",
    "x = {**base, 'k': v, k2: v2}\ny = {a, *b}\nz = a if b else c\nw = -a ** b // c @ d\n",
    "x = [*a, *b]\nt = a < b <= c != d is not e not in f\n",
    "def gen():\n    yield a\n    yield from b\n    x = yield\n    return await_(x)\n",
    "async def co():\n    async for i in stream:\n        await i\n",
    "while cond:\n    n -= 1\n    if n:\n        break\n    continue\n",
    "assert ok, message\nraise Err('x') from cause\n",
    "print = custom\nprint(1)\n",
    "from typing import Any\n\ndef f(x: Any) -> dict[str, Any]:\n    return frame['col']\n",
    "frame['col'] = frame['a'] / frame['b']\n",
    "msg = f'{x} {x!r} {y=} {z:>{width}.{precision}f}' + f\"{d['k']}\" 'plain {no}'\n",
    "text = (f'é{naïve}' f'''\n{a}\n  {b!r:>{w}}''' '{c}')\nprint(f'{text}', flush=True)\n",
    "def f(v):\n    return f'{v} and {g}'\n",
    "flat = [y for x in rows for y in x if y if x]\nodd = {k: v for k, v in d.items() if k % 2}\n",
    "def f(rows):\n    return sum(r * s for r in rows for s in r if r > limit)\n",
    "bad = [y for y in y]\nself_ref = [x for x in range(3) for x in x]\n",
    "def g(x):\n    return [x for x in x], {x for _ in x}, [[z for z in x] for x in x]\n",
    "nested = [[c for c in row if c != skip] for row in grid]\ngen = (a.b for a.b in c)\n",
    "def h():\n    total = [t for t in items]\n    t = 1\n    return [t for _ in total], t\n",
    "len = [c for c in len if c]\nsorted = [s for s in range(3) if sorted]\n",
    '@dataclass(frozen=True)\nclass Point(Base, metaclass=Meta):\n    """A point."""\n\n    x: float = 0.0\n    y: float = origin\n\n    def norm(self) -> float:\n        return (self.x ** 2 + y) ** 0.5\n',
    "class K:\n    k = 1\n    m = k + 1\n    def f(self):\n        return k\n    def g(self):\n        v = k\n        k = 2\n        return v\n",
    "class O:\n    a = 1\n    class I:\n        b = a\n        def h(self):\n            return a, b, len\n    s = [a for _ in range(a)]\n",
    "class E(Exception):\n    pass\n\n\nclass F: x = 1\n",
    "# c\n\n@dec\n# d\ndef f(): pass\n",
    "# c\n@dec\nclass K:\n    x = 1\n\n    # trailing\n",
    "try:\n    pass\nexcept E: pass\n    # c\nx = 1\n",
    "while a:\n    pass\nelse:\n    b = 1\n        # deep\n",
    "with a as b, c:\n    pass\n\n\n    # x\n# y\n",
    "\n\n\n",
    "# only a comment\n",
    "pass",
]

#: Cells the fast path must hand to libcst.
REFUSED = [
    "if (n := 10) > 5:\n    pass\n",
    "def f():\n    global G\n    G = 1\n",
    "def o():\n    v = 1\n    def i():\n        nonlocal v\n",
    "match x:\n    case 1:\n        pass\n",
    "def f(x: 'np.ndarray') -> None:\n    pass\n",
    "from typing import List\nv: int = List['x']\n",
    "from typing import cast\nv = cast('int', w)\n",
    "import os.path\nx = os.path.join('a')\n",
    "display(x)\n",
    "ﬁle = 1\n",
    "x = 1\r\ny = 2\r\n",
]


def _reference(source: str) -> tuple[Statement, ...]:
    """The libcst path's statements, without nodes (what a cache hit holds)."""
    module = cst.parse_module(source)
    statements, _ = cells._deep(module, source, lambda *a, **k: None)  # type: ignore[arg-type]
    return tuple(_plain(s) for s in statements)


def _plain(statement: Statement) -> Statement:
    return Statement(
        kind=statement.kind,
        binds=statement.binds,
        uses=statement.uses,
        imports=statement.imports,
        modules=statement.modules,
        first_line=statement.first_line,
        last_line=statement.last_line,
        docstring=statement.docstring,
        code=statement.code,
        header=statement.header,
        annotated=statement.annotated,
    )


def _fast(source: str) -> tuple[Statement, ...] | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return fast.strict_statements(tree, source)


def _same(source: str, found: tuple[Statement, ...]) -> None:
    expected = _reference(source)
    assert len(found) == len(expected), source
    for mine, theirs in zip(found, expected, strict=True):
        assert mine == theirs, f"{source!r}\n  fast {mine}\n  libcst {theirs}"
        assert mine.uses == theirs.uses  # NameUse compares without its node
        assert [(u.name, u.line, u.column) for u in mine.uses] == [
            (u.name, u.line, u.column) for u in theirs.uses
        ]


@pytest.mark.parametrize("source", ACCEPTED)
def test_the_fast_path_takes_these_cells_and_agrees(source: str) -> None:
    found = _fast(mask(source).source)
    assert found is not None, f"refused: {source!r}"
    _same(mask(source).source, found)


@pytest.mark.parametrize("source", REFUSED)
def test_the_fast_path_leaves_these_cells_to_libcst(source: str) -> None:
    assert _fast(source) is None


def test_every_known_cell_the_fast_path_takes_agrees_with_libcst() -> None:
    taken = 0
    for source in known_cells():
        masked = mask(source).source
        found = _fast(masked)
        if found is None:
            continue
        try:
            cst.parse_module(masked)
        except (cst.ParserSyntaxError, RecursionError):
            continue  # refused before analysis on the real path
        _same(masked, found)
        taken += 1
    assert taken >= 150, f"only {taken} cells took the fast path"


#: What may come between two cells joined into one (comments at every indentation,
#: blank lines, nothing).
SEPARATORS = ["", "\n", "\n\n# between\n", "    # indented\n", "        # deeper\n\n"]


def test_cells_joined_at_random_agree_with_libcst() -> None:
    """Binding order across statements, comments after blocks, names bound in one
    cell and read in the next: 400 cells made of 2-4 known cells each."""
    import random

    rng = random.Random(15)
    pool = [s.rstrip("\n") + "\n" for s in [*ACCEPTED, *known_cells()] if _fast(s)]
    taken = 0
    for _ in range(400):
        parts = rng.sample(pool, rng.randint(2, 4))
        source = "".join(p + rng.choice(SEPARATORS) for p in parts)
        found = _fast(source)
        if found is None:
            continue
        try:
            cst.parse_module(source)
        except (cst.ParserSyntaxError, RecursionError):
            continue
        _same(source, found)
        taken += 1
    assert taken >= 300


@pytest.mark.parametrize(
    "module", ["textwrap", "shlex", "fractions", "statistics", "string", "calendar"]
)
def test_standard_library_code_agrees_with_libcst(module: str) -> None:
    """Real code: the standard library module cut into cells of 4 statements."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    text = Path(spec.origin).read_text("utf-8")
    lines = text.split("\n")
    body = ast.parse(text).body

    def first(node: ast.stmt) -> int:
        decorators = getattr(node, "decorator_list", [])
        return min([node.lineno, *(d.lineno for d in decorators)])

    taken = 0
    for index in range(0, len(body), 4):
        end = first(body[index + 4]) - 1 if index + 4 < len(body) else len(lines)
        source = "\n".join(lines[first(body[index]) - 1 : end]) + "\n"
        found = _fast(source)
        if found is not None:
            _same(source, found)
            taken += 1
    assert taken >= 3
