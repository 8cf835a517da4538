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


def test_numpys_short_write_is_named_a_full_disk():
    """userF: np.save on a full tmpfs failed '1568000 requested and 524256 written: s.npy',
    which names no cause (numpy's OSError has no errno)."""
    err = reworded(OSError("1568000 requested and 524256 written"), "/mnt/f/s.npy")
    assert err.errno == errno.ENOSPC and err.filename == "/mnt/f/s.npy"
    assert err.strerror == (
        "No space left on device, or a disk quota reached (1,568,000 bytes to write, 524,256 "
        "written)"
    )


def test_a_real_short_write_under_np_save_is_read_so(tmp_path):
    """The words numpy gives, from its own short write (a file object that takes half)."""
    import numpy as np

    class Half:  # (np.save falls back to .write for an object that is not a real file)
        def write(self, data):
            raise OSError(f"{len(data)} requested and {len(data) // 2} written")

    with pytest.raises(OSError) as caught:
        np.save(Half(), np.zeros(10))
    assert reworded(caught.value, tmp_path / "s.npy").errno == errno.ENOSPC
