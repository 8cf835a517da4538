"""torchlvm._os_errors: a system refusal reworded keeps what a caller catches it by (errno and
OSError subclass) and what the user reads (the system's words, then the fix; the path named)."""

from __future__ import annotations

import errno

import pytest

from torchlvm._os_errors import reworded, unwritable


@pytest.mark.parametrize(
    ("code", "kind"),
    [(errno.EACCES, PermissionError), (errno.ENOENT, FileNotFoundError), (errno.ENOSPC, OSError)],
    ids=["permission", "not-found", "full-disk"],
)
def test_the_errno_and_its_subclass_stay(code, kind):
    err = reworded(OSError(code, "system words", "/hidden/.stage"), "runs/vae", "do this")
    assert type(err) is kind and err.errno == code
    assert str(err) == f"[Errno {code}] system words (do this): 'runs/vae'"


def test_no_fix_and_no_file():
    err = reworded(OSError(errno.ENOSPC, "No space left on device"), None)
    assert (err.strerror, err.filename) == ("No space left on device", None)


def test_an_error_without_system_words_says_its_own():
    assert reworded(OSError("bare"), "f", "fix").strerror == "bare (fix)"


@pytest.mark.parametrize(
    ("code", "expected"),
    [(errno.EROFS, True), (errno.EACCES, True), (errno.EPERM, True), (errno.ENOSPC, False)],
    ids=["read-only", "permission", "not-permitted", "full-disk"],
)
def test_unwritable(code, expected):
    assert unwritable(OSError(code, "x")) is expected
