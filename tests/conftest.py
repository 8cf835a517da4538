"""Suite-wide settings.

The tests train tiny models; on a 2-core machine one intra-op thread is several times faster for
them than two (no thread hand-off per small matmul), and it keeps timings steady when other work
shares the cores. Tests that need more threads set them locally.

Ctrl-C: a shell starts a background job (``pytest ... &`` in a script, ``nohup ... &``) with
SIGINT ignored, and an ignored signal stays ignored across ``exec``, so every ``torchlvm`` the
tests start would ignore the SIGINT they send it (a training interrupted after its first epoch
ran to its last epoch and exited 0, not 130). The suite takes Ctrl-C as a terminal's foreground
command does; a Python handler is reset to the default on ``exec``, so the commands it starts do
too, and install their own.

The record of the files torchlvm wrote (what ``--overwrite`` may replace, torchlvm.run.written)
is kept in a temporary folder of the session (``TORCHLVM_WRITTEN``, which the commands the tests
start inherit), not the user's cache: the suite's files are not recorded there, nor does a
developer's record decide what a test may replace. Dataset look-ups and the classifier cache
(``XDG_CACHE_HOME``, ``TORCHLVM_CACHE``) are left as they are.
"""

import atexit
import os
import shutil
import signal
import tempfile

import pytest
import torch

torch.set_num_threads(1)

_WRITTEN = tempfile.mkdtemp(prefix="torchlvm-written-")
os.environ["TORCHLVM_WRITTEN"] = _WRITTEN
atexit.register(shutil.rmtree, _WRITTEN, ignore_errors=True)

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def ctrl_c_inside_commit(monkeypatch):
    """Call it to give every later commit (torchlvm.run.commit) a Ctrl-C between its renames."""

    def arm() -> None:
        from torchlvm.run import commit

        rename_all = commit._rename_all

        def committing(moves, changed):
            os.kill(os.getpid(), signal.SIGINT)
            return rename_all(moves, changed)

        monkeypatch.setattr(commit, "_rename_all", committing)

    return arm


@pytest.fixture
def table_parses(monkeypatch):
    """The names of the table files parsed so far, one entry per parse of a file's text
    (:func:`torchlvm.data.csv_table._rows`)."""
    from torchlvm.data import csv_table

    seen: list[str] = []
    parse = csv_table._rows

    def counted(path, *args):
        seen.append(path.name)
        return parse(path, *args)

    monkeypatch.setattr(csv_table, "_rows", counted)
    return seen


class Ticks:
    """A clock moved by hand: ``clock()`` is ``clock.now``."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    """A clock at 0.0 that a test moves by setting ``.now`` (for code that times itself)."""
    return Ticks()
