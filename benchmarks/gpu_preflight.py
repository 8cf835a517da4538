"""What ``gpu_device_check.sh`` checks before its first step, in seconds of the lease.

``python benchmarks/gpu_preflight.py 0`` (the GPU run) or ``1`` (``--cpu-check``). Exit status:
0, ready; 3, no CUDA device is visible on the GPU run (nothing to measure: the script says so and
exits 0); 2, torchlvm, zuko or Fashion-MNIST is missing, named with its fix (the GPU machine has
no package registry and no datasets: ``benchmarks/gpu_prepare.sh`` makes ``.whl/`` and
``.devdata/`` for the device call to carry).
"""

from __future__ import annotations

import sys

PREPARE = "run 'bash benchmarks/gpu_prepare.sh' in the checkout and carry {what} in the device call"


def main(argv: list[str]) -> int:
    cpu_check = argv[:1] == ["1"]
    import torch

    if not cpu_check and not torch.cuda.is_available():
        print(
            "gpu_device_check: no CUDA device is visible here, so there is nothing to measure; "
            "run it on the GPU machine (or with --cpu-check to try its steps on this CPU)"
        )
        return 3
    try:
        import zuko  # noqa: F401

        import torchlvm.training  # noqa: F401
    except ImportError as err:
        print(f"gpu_device_check: {err}; {PREPARE.format(what='.whl')}")
        return 2
    from torchlvm.data.locate import find_files
    from torchlvm.data.mnist import REQUIRED_FILES

    found = find_files("fashion-mnist", REQUIRED_FILES)
    if found.files is None and not cpu_check:  # (--cpu-check measures on random data)
        where = ", ".join(found.looked_in)
        print(
            f"gpu_device_check: Fashion-MNIST is not in {where}; {PREPARE.format(what='.devdata')}"
        )
        return 2
    data = "Fashion-MNIST found" if found.files else "no Fashion-MNIST (--cpu-check needs none)"
    print(f"gpu_device_check: torchlvm and zuko import; {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
