"""Every ``>>>`` example in torchlvm's docstrings runs, as a user would paste it, and prints
what it shows (doctest's comparison). The training example writes ``runs/vae`` in a temporary
folder, and the examples that load a run read that one."""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import pytest

import torchlvm

SOURCE = Path(torchlvm.__file__).parent
FIRST = "torchlvm.training"  # it trains the run that the others load


def _examples() -> list[doctest.DocTest]:
    parser, tests = doctest.DocTestParser(), []
    for path in sorted(SOURCE.rglob("*.py")):
        module = ".".join(path.relative_to(SOURCE.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                continue
            text = ast.get_docstring(node, clean=False)
            if text and ">>> " in text:
                name = module if isinstance(node, ast.Module) else f"{module}.{node.name}"
                tests.append(parser.get_doctest(text, {}, name, str(path), 0))
    return sorted(tests, key=lambda test: test.name != FIRST)


def test_the_docstrings_hold_examples():
    assert {test.name for test in _examples()} >= {FIRST, "torchlvm", "torchlvm.data"}


@pytest.mark.slow
def test_every_docstring_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failed = {}
    for test in _examples():
        result = runner.run(test, out=lambda text, name=test.name: failed.setdefault(name, text))
        assert result.attempted > 0
    assert failed == {}
