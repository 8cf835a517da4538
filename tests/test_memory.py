"""Requests checked against the memory available before any work is done."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap

import pytest

from torchlvm import _memory
from torchlvm.errors import ConfigError

GB = 10**9


@pytest.mark.parametrize(
    "nbytes, text", [(512, "512 B"), (25_600_000_000, "25.6 GB"), (3e15, "3000.0 TB")]
)
def test_sizes_read_in_decimal_units(nbytes, text):
    assert _memory.size_text(nbytes) == text


def test_a_request_beyond_the_available_memory_names_both_and_the_fix(monkeypatch):
    have = _memory.Available(8_000_000_000, "available here")
    monkeypatch.setattr(_memory, "available", lambda: have)
    _memory.check_fits(8_000_000_000, "exactly all", "never needed")
    with pytest.raises(
        ConfigError, match=r"^x need 8\.0 GB of memory, more than the 8\.0 GB avail"
    ):
        _memory.check_fits(8_000_000_001, "x", "ask for less")
    monkeypatch.setattr(_memory, "available", lambda: None)  # a system that does not say
    _memory.check_fits(10**20, "anything", "never needed")


def test_this_machine_reports_its_available_memory():
    available = _memory.available_bytes()
    assert available is None or available > 0


@pytest.fixture
def no_limits(monkeypatch, tmp_path):
    """A machine with 20 GB available, no process limit and no control group (each test sets
    the one it checks)."""
    monkeypatch.setattr(_memory, "_machine", lambda: iter([_memory.Available(20 * GB, "here")]))
    monkeypatch.setattr(resource, "getrlimit", lambda _: (resource.RLIM_INFINITY,) * 2)
    monkeypatch.setattr(_memory, "PROC_CGROUP", tmp_path / "no such file")


def test_the_process_limit_binds_where_it_is_below_the_machines_memory(no_limits, monkeypatch):
    """userJ #12: under `ulimit -v 6000000` a request the machine could hold, not the process,
    ended in torch's allocator's traceback: what is left under RLIMIT_AS (its soft limit less
    VmSize) is what the process may have, and the refusal says which limit."""
    limits = {resource.RLIMIT_AS: 6_000_000 * 1024, resource.RLIMIT_DATA: 5 * GB}
    monkeypatch.setattr(
        resource, "getrlimit", lambda r: (limits.get(r, resource.RLIM_INFINITY),) * 2
    )
    monkeypatch.setattr(_memory, "_status_bytes", lambda: {"VmSize": 2 * GB, "VmData": GB // 2})
    have = _memory.available()
    assert have.nbytes == 6_000_000 * 1024 - 2 * GB  # less than the data limit's 4.5 GB left
    with pytest.raises(ConfigError) as refused:
        _memory.check_fits(5 * GB, "x", "ask for less")
    assert str(refused.value) == (
        "x need 5.0 GB of memory, more than the 4.1 GB left under this process's address-space "
        "limit (ulimit -v 6000000: 6.1 GB); ask for less"
    )
    limits[resource.RLIMIT_DATA] = 3 * GB  # now 2.5 GB left under the data limit
    assert _memory.available().where.startswith("left under this process's data limit (ulimit -d")


def test_a_real_address_space_limit_is_read(tmp_path):
    """The same, read from this system: a child process given RLIMIT_AS of its own size and
    300 MB more says it may have at most those 300 MB (less what it maps meanwhile)."""
    script = textwrap.dedent(
        """
        import resource
        from torchlvm import _memory
        size = _memory._status_bytes()["VmSize"]
        resource.setrlimit(resource.RLIMIT_AS, (size + 300 * 10**6, resource.RLIM_INFINITY))
        have = _memory.available()
        print(have.nbytes, have.where)
        """
    )
    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc/self/status on this system")
    said = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split(" ", 1)
    assert 0 < int(said[0]) <= 300 * 10**6
    assert said[1].startswith("left under this process's address-space limit (ulimit -v ")


@pytest.mark.parametrize(
    ("lines", "files", "left", "limit_file"),
    [
        (  # v2: the group's parent is limited, its page cache counted as free
            "0::/a/b\n",
            {"a/b/memory.max": "max\n", "a/b/memory.current": "900\n",
             "a/memory.max": f"{4 * GB}\n", "a/memory.current": f"{3 * GB}\n",
             "a/memory.stat": f"anon 1\nfile {GB // 2}\n"},
            GB + GB // 2, "a/memory.max",
        ),
        (  # v1: the memory controller's folder; 2**63 - 4096 is its "unlimited"
            "5:cpu,cpuacct:/x\n4:memory:/x\n",
            {"memory/x/memory.limit_in_bytes": "9223372036854771712\n",
             "memory/x/memory.usage_in_bytes": "10\n",
             "memory/memory.limit_in_bytes": f"{2 * GB}\n",
             "memory/memory.usage_in_bytes": f"{GB}\n",
             "memory/memory.stat": "cache 5\ntotal_cache 7\n"},
            GB + 7, "memory/memory.limit_in_bytes",
        ),
        (  # a container sees its own group as the root: the path is not under the mount
            "0::/system.slice/docker-1.scope\n",
            {"memory.max": f"{GB}\n", "memory.current": f"{GB // 4}\n"},
            3 * GB // 4, "memory.max",
        ),
        (  # v2's file counts /dev/shm (shmem) and dirty pages, which are not reclaimed at once
            "0::/\n",
            {"memory.max": f"{4 * GB}\n", "memory.current": f"{4 * GB}\n",
             "memory.stat": f"anon {GB}\nfile {3 * GB}\nshmem {2 * GB}\nfile_dirty {GB // 4}"
                            f"\nfile_writeback {GB // 8}\n"},
            GB - GB // 4 - GB // 8, "memory.max",
        ),
        (  # v1's total_cache counts them too
            "4:memory:/\n",
            {"memory/memory.limit_in_bytes": f"{2 * GB}\n",
             "memory/memory.usage_in_bytes": f"{2 * GB}\n",
             "memory/memory.stat": f"cache 1\nshmem 1\ntotal_cache {GB}\ntotal_shmem {GB // 2}\n"
                                   f"total_dirty {GB // 8}\ntotal_writeback 0\n"},
            GB // 2 - GB // 8, "memory/memory.limit_in_bytes",
        ),
    ],
    ids=["v2-parent", "v1", "container", "v2-shmem", "v1-shmem"],
)  # fmt: skip
def test_a_control_groups_limit_binds(
    tmp_path, no_limits, monkeypatch, lines, files, left, limit_file
):
    """A container's or systemd unit's memory limit: its memory.max less memory.current (v1:
    memory.limit_in_bytes less memory.usage_in_bytes), of the group or a group above it, its
    page cache counted as free but for shmem (/dev/shm, which DataLoader workers fill), dirty
    and writeback pages, which the kernel cannot drop at once (readA #15)."""
    for name, text in files.items():
        (tmp_path / "cg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cg" / name).write_text(text)
    (tmp_path / "cgroup").write_text(lines)
    monkeypatch.setattr(_memory, "CGROUP_ROOT", tmp_path / "cg")
    monkeypatch.setattr(_memory, "PROC_CGROUP", tmp_path / "cgroup")
    have = _memory.available()
    assert have.nbytes == left
    assert have.where.startswith("left under the memory limit of this process's control group")
    assert have.where.endswith(f": {tmp_path / 'cg' / limit_file})")
