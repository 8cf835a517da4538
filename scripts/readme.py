"""Run the README's examples and compare (or rewrite) the output it shows.

Every fenced ```` ```python ```` and ```` ```console ```` block of README.md runs, in the order they
appear, in one fresh folder (so a later block can use a run an earlier one wrote):

- a ``console`` block holds ``$ command`` lines (a trailing ``\\`` continues a line), each followed
  by the output it prints;
- a ``python`` block runs on its own, in a fresh interpreter, as a reader would paste it; the
  plain ```` ``` ```` block that follows it (with at most a line of prose between) is what it
  prints.

In the expected output a line ``...`` stands for any number of lines, and a number followed by
a time unit (`` s``, `` ms``, `` µs``) matches any number. Other numbers must agree to 0.5 % or
two units of their last printed digit, the rest of each line exactly.

    python scripts/readme.py            # check; exit 1 and a diff on a mismatch
    python scripts/readme.py --write    # rewrite README.md's outputs from this run

``tests/test_readme.py`` runs the check.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
SECONDS = re.compile(r"(?:<|-)?\d+(?:\.\d+)? (?:s|ms|µs)\b")  # "<1 s": under a second


@dataclass
class Example:
    """One thing to run and what the README says it prints.

    ``kind`` is ``"python"`` or ``"console"``; ``expected`` is None where the README shows no
    output; ``span`` is where that output sits in README.md (for ``--write``).
    """

    kind: str
    code: str
    expected: str | None
    span: tuple[int, int] | None


def examples(text: str) -> list[Example]:
    """The runnable examples of a README text, in order."""
    fences = list(FENCE.finditer(text))
    found: list[Example] = []
    for i, fence in enumerate(fences):
        lang, body = fence.group(1), fence.group(2)
        if lang == "console":
            found.extend(_console(body, fence.start(2)))
        elif lang == "python":
            nxt = fences[i + 1] if i + 1 < len(fences) else None
            between = text[fence.end() : nxt.start()] if nxt else ""
            if nxt and nxt.group(1) in ("", "text") and between.strip().count("\n") <= 1:
                found.append(Example("python", body, nxt.group(2), nxt.span(2)))
            else:
                found.append(Example("python", body, None, None))
    return found


def _console(body: str, offset: int) -> list[Example]:
    """``$ command`` examples of a console block; each output's span is absolute."""
    found: list[Example] = []
    lines = body.splitlines(keepends=True)
    position, i = offset, 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            position += len(lines[i])
            i += 1
            continue
        command = lines[i][2:]
        position += len(lines[i])
        i += 1
        while command.rstrip().endswith("\\") and i < len(lines):
            command += lines[i]
            position += len(lines[i])
            i += 1
        start = position
        while i < len(lines) and not lines[i].startswith("$ "):
            position += len(lines[i])
            i += 1
        found.append(
            Example("console", command, body[start - offset : position - offset], (start, position))
        )
    return found


def run_all(found: list[Example], folder: Path) -> list[str]:
    """What each example prints, run in order in ``folder``: each python block in a fresh
    interpreter (as a reader would paste it), each console command in bash."""
    env = dict(os.environ, PYTHONHASHSEED="0", COLUMNS="100")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    outputs = []
    for example in found:
        if example.kind == "python":
            argv = [sys.executable, "-c", example.code]
        else:
            argv = ["bash", "-c", example.code]
        done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"README {example.kind} example failed:\n{example.code.strip()}\n{done.stderr}"
            )
        outputs.append(done.stdout)
    return outputs


def mismatch(expected: str, actual: str) -> str | None:
    """Why ``actual`` does not print what ``expected`` shows, or None when it does."""
    want = [line.rstrip() for line in expected.strip("\n").splitlines()]
    got = [line.rstrip() for line in actual.strip("\n").splitlines()]
    if _match(want, got):
        return None
    return "expected:\n  " + "\n  ".join(want) + "\ngot:\n  " + "\n  ".join(got)


def _match(want: list[str], got: list[str]) -> bool:
    if not want:
        return not got
    if want[0] == "...":
        return any(_match(want[1:], got[i:]) for i in range(len(got) + 1))
    return bool(got) and _same_line(want[0], got[0]) and _match(want[1:], got[1:])


def _same_line(want: str, got: str) -> bool:
    want, got = SECONDS.sub("<s>", want), SECONDS.sub("<s>", got)
    if NUMBER.sub("<n>", want) != NUMBER.sub("<n>", got):
        return False
    pairs = zip(NUMBER.findall(want), NUMBER.findall(got), strict=True)
    return all(_close(a, b) for a, b in pairs)


def _close(want: str, got: str) -> bool:
    a, b = float(want), float(got)
    digits = len(want.split(".")[1].split("e")[0].split("E")[0]) if "." in want else 0
    unit = 10.0**-digits
    if "e" in want.lower():
        unit *= 10.0 ** int(re.split("[eE]", want)[1])
    return abs(a - b) <= max(0.005 * max(abs(a), abs(b)), 2 * unit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's outputs")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    found = examples(text)
    with tempfile.TemporaryDirectory(prefix="torchlvm-readme-") as folder:
        outputs = run_all(found, Path(folder))
    if args.write:
        for example, output in sorted(
            zip(found, outputs, strict=True), key=lambda pair: -(pair[0].span or (0, 0))[0]
        ):
            if example.span is not None:
                start, end = example.span
                text = text[:start] + output.rstrip("\n") + "\n" + text[end:]
        README.write_text(text, encoding="utf-8")
        return 0
    problems = [
        f"{example.code.strip()}\n{why}"
        for example, output in zip(found, outputs, strict=True)
        if example.expected is not None and (why := mismatch(example.expected, output))
    ]
    print("\n\n".join(problems) or f"README: {len(found)} examples print what it shows")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
