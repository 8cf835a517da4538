"""Ctrl-C while a checkpoint is written ends as Ctrl-C: torch's zip writer, closed while the
KeyboardInterrupt unwinds, fails in its turn ("unexpected pos 74112 vs 74064"), and that
RuntimeError hid the interrupt: a traceback and status 1 where the command says
'torchlvm: interrupted' and exits 130 (the final CI of 2026-11-29, a concurrent-train test)."""

from __future__ import annotations

import pytest

import torchlvm.training.checkpoint_io as checkpoint_io


def test_an_interrupted_checkpoint_write_raises_the_interrupt(tmp_path, monkeypatch):
    def interrupted_save(obj, f):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos")  # noqa: B904  (as torch raises it: implicit context)

    monkeypatch.setattr(checkpoint_io.torch, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        checkpoint_io.save_checkpoint_file({}, tmp_path / "tmp.ckpt", tmp_path / "last.ckpt")


def test_a_writer_failure_of_its_own_is_still_raised(tmp_path, monkeypatch):
    def broken_save(obj, f):
        raise RuntimeError("unexpected pos")

    monkeypatch.setattr(checkpoint_io.torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="unexpected pos"):
        checkpoint_io.save_checkpoint_file({}, tmp_path / "tmp.ckpt", tmp_path / "last.ckpt")
