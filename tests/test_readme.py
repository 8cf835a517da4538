"""The README runs: every python and console block, with the output it shows (scripts/readme.py)."""

from __future__ import annotations

import importlib.util
import re
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
    assert (
        readme.mismatch("expected time: 2 s (a 2.5 s probe)", "expected time: <1 s (a 0.1 s probe)")
        is None
    )


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


def test_the_bounds_the_readme_prints_for_ppca_are_in_theorys_order():
    """A teacher's check of the first example's output, per image: ELBO + KL(q‖posterior) equals
    the exact log p(x); the ELBO and every IWAE bound L_k lie below it; L_k rises with k; L_1 is
    the ELBO within its Monte Carlo error (a one-draw L_k printed alone can exceed log p(x))."""
    first = readme.examples(readme.README.read_text(encoding="utf-8"))[0]
    rows = {}
    for line in first.expected.splitlines():
        rows[line[:20].strip()] = [float(v) for v in line[20:].split()]
    exact, elbo = rows["log p(x)"], rows["ELBO"]
    bounds = {int(n.rsplit("_", 1)[1]): v for n, v in rows.items() if n.startswith("IWAE bound L_")}
    assert sorted(bounds) == [1, 10, 100]
    assert all(len(v) == len(exact) == 5 for v in (elbo, *bounds.values()))
    assert rows["ELBO + KL(q‖post)"] == exact
    for i, log_px in enumerate(exact):
        assert elbo[i] < log_px
        assert abs(bounds[1][i] - elbo[i]) < 0.25  # 1000 draws: standard error about 0.065
        assert elbo[i] < bounds[10][i] < bounds[100][i] < log_px


def test_a_mean_of_estimates_is_given_with_the_standard_error_of_that_mean():
    """README printed 'IS -26.29 ± 0.03' for the mean of 8 estimates with the mean of their 8
    standard errors, about √8 times the standard error of the mean, √(Σ se²) / 8."""
    text = readme.README.read_text(encoding="utf-8")
    code = "".join(e.code for e in readme.examples(text) if e.kind == "python")
    assert "stderr.mean()" not in code
    assert "est.stderr.norm() / len(x)" in code


def test_the_set_up_does_not_promise_a_cpu_build_from_a_version_pin():
    """constraints.txt pins torch==2.13.0, which on PyPI is the Linux wheel that pulls several
    GB of CUDA libraries; README called it 'the CPU build'. It names the CPU index instead."""
    text = readme.README.read_text(encoding="utf-8")
    assert "pins the CPU build" not in text
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in text


def test_the_commands_the_readme_lists_are_the_commands_there_are():
    """README said '`torchlvm --help` lists the commands: ...' without `score`, which --help
    lists: a newcomer reading the list in order never met it."""
    from torchlvm.cli import COMMANDS

    text = (SCRIPT.parents[1] / "README.md").read_text(encoding="utf-8")
    sentence = text.split("lists the commands:", 1)[1].split(".", 1)[0]
    assert re.findall(r"`([a-z-]+)`", sentence) == list(COMMANDS)


def _imports(tree, package_of):
    """The torchlvm package each import of a module's AST names (imports under
    ``if TYPE_CHECKING:`` are skipped: they never run)."""
    import ast

    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []  # (ast.walk has queued the children already: walk again below)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.append(package_of(node))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                found.append(parts[1] if parts[0] == "torchlvm" and len(parts) > 1 else None)
    return [target for target in found if target is not None]


def test_no_module_imports_a_package_later_in_the_readmes_order():
    """README's Development section says data flows down its list of packages: a module imports
    only packages before its own, but for the modules it names. It said so of a list whose order
    training/ -> evaluation/, run/ and io.py broke at import time, and that left run/ and
    estimators/ out."""
    import ast

    text = (SCRIPT.parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Development", 1)[1]
    listed = section.split("src/torchlvm/", 1)[1].splitlines()[0].split()
    order = [name.rstrip("/").removesuffix(".py") for name in listed]
    source = SCRIPT.parents[1] / "src" / "torchlvm"
    on_disk = {p.name.removesuffix(".py") for p in source.iterdir() if not p.name.startswith("_")}
    on_disk -= {"errors", "protocol"}  # shared helpers, named as such in the README
    assert sorted(order) == sorted(on_disk), "README's list of packages is not the source's"
    prose = section.split("```", 2)[2].split("`make lint`", 1)[0]
    upward, named = [], set(re.findall(r"`([a-z_/]+\.py)`", prose))
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        own = relative.parts[0].removesuffix(".py")
        if own not in order and len(relative.parts) > 1 or own in ("__init__", "__main__"):
            continue  # (the package's entry points name what they serve)
        # a shared helper (errors.py, protocol.py, _*.py) imports none of the packages
        rank = order.index(own) if own in order else -1

        def package_of(node, relative=relative):
            if node.level:
                base = list(relative.parts[:-1])[: len(relative.parts) - node.level]
                parts = base + (node.module or "").split(".")
                return parts[0] if parts and parts[0] else None
            parts = (node.module or "").split(".")
            return parts[1] if parts[0] == "torchlvm" and len(parts) > 1 else None

        for target in _imports(ast.parse(path.read_text(encoding="utf-8")), package_of):
            if target in order and order.index(target) > rank:
                if relative.as_posix() not in named:
                    upward.append(f"{relative.as_posix()} imports {target}/")
    assert not upward, "imports up README's order (fix the import or the README):\n" + "\n".join(
        upward
    )


def test_every_option_the_readme_gives_a_command_is_one_it_takes():
    """Only the README's console and python blocks run; its bash blocks and prose name commands
    with options that could be renamed or removed under them unseen (`torchlvm gaps runs/vae
    --ais 500 --flow-steps 2`, `train --threads 1`). Each option written after a command's
    name, up to the end of its line, comment or code span, is one that command's parser knows."""
    import argparse

    from torchlvm.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = {
        name: {o for action in command._actions for o in action.option_strings}
        for name, command in sub.choices.items()
    }
    text = re.sub(r"\\\n\s*", " ", (SCRIPT.parents[1] / "README.md").read_text(encoding="utf-8"))
    names = "|".join(map(re.escape, sorted(options, key=len, reverse=True)))
    uses = re.findall(rf"(?:torchlvm |`)({names}) ([^\n`#|]*)", text)
    assert len(uses) > 20, "the README's commands were not found"
    unknown = [
        f"{command} {option}   (in: {command} {rest.strip()[:70]})"
        for command, rest in uses
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest)
        if option not in options[command]
    ]
    assert not unknown, "README options the command does not take:\n" + "\n".join(unknown)


def test_every_file_and_python_name_the_readme_names_exists():
    """The README points readers to results, tests and modules by path (`benchmarks/results/
    gpu.md`, `test_crash_resume.py`) and to functions by dotted name; a file renamed or a
    function moved leaves a pointer to nothing."""
    import importlib

    root = SCRIPT.parents[1]
    text = (root / "README.md").read_text(encoding="utf-8")
    files = set(re.findall(r"`([\w./-]+\.(?:md|py|sh|txt|toml))`", text))
    files |= set(re.findall(r"\]\(([\w./-]+)\)", text))
    on_disk = [p.relative_to(root).as_posix() for p in root.rglob("*") if ".venv" not in p.parts]
    missing = [f for f in sorted(files) if not any(p == f or p.endswith("/" + f) for p in on_disk)]
    for name in sorted(set(re.findall(r"`(torchlvm(?:\.\w+)+)", text))):
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            try:
                found = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for attribute in parts[i:]:
                found = getattr(found, attribute, None)
            break
        if found is None:
            missing.append(name)
    assert len(files) > 10 and not missing, f"README names what is not there: {missing}"
