"""The README runs: every python and console block, with the output it shows (scripts/readme.py)."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "readme.py"
spec = importlib.util.spec_from_file_location("readme_examples", SCRIPT)
readme = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = readme  # (its dataclass looks its module up there)
spec.loader.exec_module(readme)


def test_numbers_match_to_their_printed_precision_and_seconds_match_anything():
    assert readme.mismatch("log p(x): 17.609 nats, 0.11 s", "log p(x): 17.610 nats, 3.5 s") is None
    assert readme.mismatch("log p(x): 17.609 nats", "log p(x): 17.700 nats") is not None
    assert readme.mismatch("σ²: 0.02263", "σ²: 0.02264") is None
    assert readme.mismatch("wrote a/b", "wrote a/c") is not None


def test_an_ellipsis_line_stands_for_any_lines():
    assert readme.mismatch("first\n...\nlast 1.0", "first\nx\ny\nlast 1.0") is None
    assert readme.mismatch("first\n...\nlast 1.0", "first\nlast 1.0") is None
    assert readme.mismatch("first\n...\nlast 1.0", "first\nx") is not None


def test_examples_are_found_with_their_outputs():
    text = (
        "```python\nprint(1)\n```\n\nprints\n\n```\n1\n```\n\n"
        "```console\n$ echo a \\\n  b\na b\n$ true\n```\n"
        "```bash\nnot run\n```\n"
    )
    found = readme.examples(text)
    assert [(e.kind, e.expected) for e in found] == [
        ("python", "1\n"),
        ("console", "a b\n"),
        ("console", ""),
    ]
    start, end = found[1].span
    assert text[start:end] == "a b\n"


def test_every_readme_example_prints_what_the_readme_shows():
    found = readme.examples(readme.README.read_text(encoding="utf-8"))
    assert any(e.kind == "python" for e in found) and any(e.kind == "console" for e in found)
    with tempfile.TemporaryDirectory(prefix="torchlvm-readme-") as folder:
        outputs = readme.run_all(found, Path(folder))
    problems = [
        f"{example.code.strip()}\n{why}"
        for example, output in zip(found, outputs, strict=True)
        if example.expected is not None and (why := readme.mismatch(example.expected, output))
    ]
    assert not problems, "\n\n".join(problems)
