"""How much memory a request needs against what this process may have: sizes that cannot fit
are refused before any work, with a message naming both numbers and which limit binds, instead of
an allocation failure (a traceback) minutes in.

What a process may have is the least of the machine's available memory (``MemAvailable``), what
is left under its own limits (``ulimit -v``, ``RLIMIT_AS``: the address space; ``ulimit -d``,
``RLIMIT_DATA``: its data, as SLURM and batch systems set them), and what is left under its
control group's memory limit (a container's ``--memory``, systemd's ``MemoryMax``: cgroup v2's
``memory.max``, v1's ``memory.limit_in_bytes``, of its group and every group above it). A
control group's page cache counts as available (the kernel reclaims it before it refuses) but
for its shmem, dirty and writeback pages, which it cannot drop at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from torchlvm.errors import ConfigError, OptionError, Spell, in_python, spelled

CGROUP_ROOT = Path("/sys/fs/cgroup")
"""Where the control groups are mounted (v2 here; v1 one folder per controller under it)."""
PROC_CGROUP = Path("/proc/self/cgroup")
"""This process's control groups, a line per hierarchy: ``id:controllers:path``."""
_NO_LIMIT = 1 << 62  # a cgroup v1 limit at least this large is its "unlimited" (2**63 - 4096)


@dataclass(frozen=True)
class Available:
    """Bytes this process may still allocate, and where that bound comes from (``"available
    here"``, or the limit left under, in the words of a message)."""

    nbytes: int
    where: str


def available() -> Available | None:
    """The least of the memory available here and what is left under this process's limits
    (see the module docstring), or None when nothing says."""
    found = [*_machine(), *_rlimits(), *_cgroups()]
    return min(found, key=lambda a: a.nbytes) if found else None


def available_bytes() -> int | None:
    """Bytes :func:`available` to a new allocation, or None when nothing says."""
    have = available()
    return None if have is None else have.nbytes


def _machine() -> Iterator[Available]:
    """The machine's memory available to a new allocation (Linux: ``MemAvailable``; else the
    free physical pages)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    yield Available(int(line.split()[1]) * 1024, "available here")
                    return
    except (OSError, ValueError, IndexError):
        pass
    try:
        yield Available(
            os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "available here"
        )
    except (AttributeError, OSError, ValueError):
        return


def _rlimits() -> Iterator[Available]:
    """What is left under this process's soft limits of its address space (``VmSize`` against
    ``RLIMIT_AS``) and of its data (``VmData`` against ``RLIMIT_DATA``), where they are set."""
    try:
        import resource
    except ImportError:  # (not on Windows)
        return
    status = _status_bytes()
    for limit, used, flag, what in (
        (resource.RLIMIT_AS, "VmSize", "-v", "address-space"),
        (resource.RLIMIT_DATA, "VmData", "-d", "data"),
    ):
        soft = resource.getrlimit(limit)[0]
        if soft == resource.RLIM_INFINITY or used not in status:
            continue
        where = f"this process's {what} limit (ulimit {flag} {soft // 1024}: {size_text(soft)})"
        yield Available(max(0, soft - status[used]), f"left under {where}")


def _status_bytes() -> dict[str, int]:
    """This process's sizes from ``/proc/self/status``, in bytes (``VmSize``, ``VmData``, ...);
    empty where the system has no such file."""
    sizes = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if value.strip().endswith(" kB"):
                    sizes[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    return sizes


def _cgroups() -> Iterator[Available]:
    """What is left under the memory limit of this process's control group and of each group
    above it, where one is set: the limit less the group's usage, its page cache counted as
    free but for what cannot be dropped at once (v2: ``memory.max``, ``memory.current``; v1:
    ``memory.limit_in_bytes``, ``memory.usage_in_bytes``)."""
    for folder, v2 in _cgroup_folders():
        names = (
            ("memory.max", "memory.current", _V2_RECLAIMABLE)
            if v2
            else ("memory.limit_in_bytes", "memory.usage_in_bytes", _V1_RECLAIMABLE)
        )
        limit, usage = _number(folder / names[0]), _number(folder / names[1])
        if limit is None or usage is None or limit >= _NO_LIMIT:
            continue
        left = max(0, limit - usage + _reclaimable(folder / "memory.stat", *names[2]))
        where = f"the memory limit of this process's control group ({size_text(limit)}: "
        where += f"{folder / names[0]})"
        yield Available(left, f"left under {where}")


def _cgroup_folders() -> Iterator[tuple[Path, bool]]:
    """The folders of this process's memory control group and of the groups above it (with
    whether each is cgroup v2), from ``/proc/self/cgroup``; a path the mount does not show (a
    container that sees its own group as the root) is read from the mount's root."""
    try:
        lines = PROC_CGROUP.read_text().splitlines()
    except OSError:
        return
    for line in lines:
        parts = line.split(":", 2)  # hierarchy:controllers:path; v2's is 0::path
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            mount, v2 = CGROUP_ROOT, True
        elif "memory" in controllers.split(","):
            mount, v2 = CGROUP_ROOT / controllers, False
        else:
            continue
        folder = mount / path.lstrip("/")
        if not folder.is_dir():
            folder = mount
        while True:
            yield folder, v2
            if folder == mount or mount not in folder.parents:
                break
            folder = folder.parent


def _number(path: Path) -> int | None:
    """The integer a control-group file holds; None for ``max`` (no limit) or no such file."""
    try:
        text = path.read_text().strip()
        return None if text == "max" else int(text)
    except (OSError, ValueError):
        return None


_V2_RECLAIMABLE = ("file", ("shmem", "file_dirty", "file_writeback"))
_V1_RECLAIMABLE = ("total_cache", ("total_shmem", "total_dirty", "total_writeback"))
"""A control group's page cache in its ``memory.stat`` (v2, v1), and the parts of it the kernel
cannot drop at once: shmem (tmpfs, /dev/shm, where DataLoader workers put their tensors: freed
only by swapping), dirty and writeback pages (written out first). Counting all of the cache as
free let a check pass that the OOM killer then ended without a line (readA #15)."""


def _reclaimable(path: Path, cache: str, held: tuple[str, ...]) -> int:
    """The page cache of a control group's ``memory.stat`` at ``path`` (its ``cache`` entry)
    less the parts ``held`` in it; 0 where it has none."""
    stat = _stats(path)
    return max(0, stat.get(cache, 0) - sum(stat.get(key, 0) for key in held))


def _stats(path: Path) -> dict[str, int]:
    """The entries of a control group's ``memory.stat``; empty where it cannot be read."""
    stat = {}
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            stat[name] = int(value)
    except (OSError, ValueError):
        pass
    return stat


def size_text(nbytes: float) -> str:
    """E.g. ``"25.6 GB"`` (decimal units)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    raise AssertionError("unreachable")


def check_fits(nbytes: int, what: str, fix: str | Callable[[Spell], str]) -> None:
    """Refuse a request whose ``nbytes`` exceed the memory this process may have
    (:func:`available`).

    Args:
        nbytes: what the request needs at least. what: what those bytes hold, e.g.
            ``"--n 100000000 samples of 64 values (float32)"``. fix: how to ask for less; a
            function of a :data:`~torchlvm.errors.Spell` where it names an option, which each
            interface spells its own way (:func:`~torchlvm.errors.spelled`).

    Raises:
        ConfigError: naming the need, the limit and the fix (an OptionError for a spelled fix).
    """
    have = available()
    if have is None or nbytes <= have.nbytes:
        return

    def message(spell: Spell) -> str:
        advice = fix if isinstance(fix, str) else fix(spell)
        return (
            f"{what} need {size_text(nbytes)} of memory, more than the "
            f"{size_text(have.nbytes)} {have.where}; {advice}"
        )

    raise ConfigError(message(in_python)) if isinstance(fix, str) else spelled(OptionError, message)
