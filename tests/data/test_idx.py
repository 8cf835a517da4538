"""The IDX reader on files written here: round trips, every kind of corruption, random bytes."""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pytest

from torchlvm.data import idx
from torchlvm.data.idx import read_idx, read_idx_cached
from torchlvm.errors import DataError, TorchLVMError


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic, big-endian dimensions, values."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize(
    "array", [IMAGES, np.array([3, 1, 4, 1, 5], dtype=np.uint8)], ids=["images", "labels"]
)
def test_round_trip(tmp_path, write_idx, array, gz):
    path = write_idx(tmp_path / "file-idx", array, gz=gz)
    read = read_idx(path)
    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, array)
    assert not read.flags.writeable


def test_gzip_is_detected_from_content_not_name(tmp_path):
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(idx_bytes(IMAGES)))
    np.testing.assert_array_equal(read_idx(path), IMAGES)


GOOD = idx_bytes(IMAGES)
CORRUPT = {
    "wrong-magic": (b"\x01\x02" + GOOD[2:], "not an IDX file"),
    "empty": (b"", "not an IDX file"),
    "float-type": (GOOD[:2] + b"\x0d" + GOOD[3:], "type byte 0x0d"),
    "zero-dims": (GOOD[:3] + b"\x00", "0 dimensions"),
    "truncated-header": (GOOD[:9], "truncated inside its IDX header"),
    "truncated": (GOOD[:-5], "truncated: its header declares 2x3x4 = 24 data bytes but only 19"),
    "trailing": (GOOD + b"\x00\x07", "bytes after the 2x3x4 = 24 data bytes"),
    "huge-dims": (bytes([0, 0, 8, 3]) + struct.pack(">3I", *[2**32 - 1] * 3), "truncated"),
}


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("case", list(CORRUPT), ids=list(CORRUPT))
def test_corrupt_file_raises_data_error_naming_it(tmp_path, write_idx, case, gz):
    content, message = CORRUPT[case]
    path = write_idx(tmp_path / "bad-idx3-ubyte", content, gz=gz)
    with pytest.raises(DataError, match=message) as error:
        read_idx(path)
    assert str(path) in str(error.value)
    assert "re-download" in str(error.value)


@pytest.mark.parametrize(
    "content",
    [
        gzip.compress(GOOD)[:-10],  # cut inside the deflate stream
        gzip.compress(GOOD)[:20] + b"\xff" * 30,  # garbage after a valid gzip header
        b"\x1f\x8b" + b"\x00" * 40,  # gzip magic, nonsense after
        gzip.compress(GOOD)[:-8] + b"\x00\x00\x00\x00" + gzip.compress(GOOD)[-4:],  # bad CRC
    ],
    ids=["cut", "garbage", "magic-only", "bad-crc"],
)
def test_bad_gzip_raises_data_error(tmp_path, content):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(DataError, match="not a valid gzip file") as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read .*nothing-here"):
        read_idx(tmp_path / "nothing-here")


def test_random_bytes_only_ever_raise_torchlvm_errors(tmp_path):
    rng = np.random.default_rng(0)
    prefixes = [b"", b"\x00\x00\x08\x01", b"\x00\x00\x08\x03", b"\x1f\x8b\x08\x00"]
    path = tmp_path / "fuzz"
    for i in range(400):
        body = rng.integers(0, 256, int(rng.integers(0, 64)), dtype=np.uint8).tobytes()
        path.write_bytes(prefixes[i % len(prefixes)] + body)
        try:
            read_idx(path)
        except TorchLVMError:
            pass


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_flipped_bytes_only_ever_raise_torchlvm_errors(tmp_path, gz):
    rng = np.random.default_rng(1)
    good = gzip.compress(GOOD) if gz else GOOD
    path = tmp_path / "fuzz"
    for _ in range(200):
        mutated = bytearray(good)
        for position in rng.integers(0, len(good), int(rng.integers(1, 4))):
            mutated[position] = int(rng.integers(0, 256))
        path.write_bytes(bytes(mutated))
        try:
            read_idx(path)
        except TorchLVMError:
            pass


def test_cache_parses_once_and_notices_changes(tmp_path, write_idx):
    idx._read_idx_cached.cache_clear()
    path = write_idx(tmp_path / "labels-idx1-ubyte", np.array([1, 2, 3], dtype=np.uint8))
    first = read_idx_cached(path)
    assert read_idx_cached(path) is first
    assert idx._read_idx_cached.cache_info().hits == 1

    write_idx(path, np.array([7, 8, 9], dtype=np.uint8))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(read_idx_cached(path), [7, 8, 9])
