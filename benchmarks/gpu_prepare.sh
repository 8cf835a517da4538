#!/usr/bin/env bash
# Here, before a GPU lease: put into this checkout what benchmarks/gpu_device_check.sh needs on
# the GPU machine and cannot fetch there (it reaches no package registry and holds no datasets):
#
#   .whl/      zuko's wheel (torchlvm imports it; the machine's image has torch, lightning,
#              scikit-learn, safetensors, matplotlib, pytest and hypothesis, but not zuko)
#   .devdata/  Fashion-MNIST's four IDX files (gpu_throughput.py measures on its training split)
#
# Each folder holds a .gitignore of "*" that this script writes, so git ignores both (nothing to
# commit by mistake, 30 MB of it) and the device call carries them by name. Run it in the checkout the
# session was started in (the one the device tool sends), then make the one device call:
#
#   bash benchmarks/gpu_prepare.sh
#   device run:  command "bash benchmarks/gpu_device_check.sh"   carry [".whl", ".devdata"]
#                timeout_s 600
#
# Environment: PYTHON (default .venv/bin/python, else python3): the interpreter whose zuko
# version is fetched; FASHION_MNIST: the folder holding the IDX files (default: where
# `torchlvm datasets` finds them).
set -eu -o pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}

ignored() { mkdir -p "$1" && printf '*\n' >"$1/.gitignore"; }  # (written by this script)
ignored .whl
ignored .devdata

version=$("$py" -c 'import importlib.metadata as m; print(m.version("zuko"))')
rm -f .whl/zuko-*.whl
# the GPU machine runs Python 3.12; zuko is pure Python, so one wheel fits every platform
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp -d .whl "zuko==$version"

files=$(PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" "$py" -c '
import sys
from torchlvm.data.locate import find_files
from torchlvm.data.mnist import REQUIRED_FILES
found = find_files("fashion-mnist", REQUIRED_FILES, sys.argv[1] or None)
if found.files is None:
    sys.exit("gpu_prepare: Fashion-MNIST not found in " + ", ".join(found.looked_in)
             + "; apt-get install dataset-fashion-mnist, or set FASHION_MNIST=FOLDER")
print("\n".join(map(str, found.files.values())))' "${FASHION_MNIST:-}")
mkdir -p .devdata/fashion-mnist
while IFS= read -r file; do cp "$file" .devdata/fashion-mnist/; done <<<"$files"

ls -l .whl .devdata/fashion-mnist
du -sh .whl .devdata
echo "gpu_prepare: ready; carry .whl and .devdata in the device call of gpu_device_check.sh"
