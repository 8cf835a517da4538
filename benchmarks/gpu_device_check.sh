#!/usr/bin/env bash
# The whole GPU check of issue 15, as one prepared script for one short lease of a GPU machine:
# the versions and the device, the CUDA tests (`pytest -m cuda`: fit() on the GPU, the fast path
# against the eager path, the non-finite guard, host synchronizations per step, and the
# --accelerator tests of the other commands), then benchmarks/gpu_throughput.py, then where the
# time goes: benchmarks/profile_fit.py (torch.profiler over the plain loop and fit()) and
# benchmarks/host_overhead.py --accelerator gpu (fit()'s host time per step outside the step's
# ops), then benchmarks/eval_chunk.py --device cuda (log_marginal_is's default chunk against
# the best). The default time limits add up to 550 s: one device call of at most 600 s (with
# REPEAT_CONFIGS, 640 s: lower BENCH_TIMEOUT or leave a step out).
#
#   bash benchmarks/gpu_prepare.sh                   # here, once: .whl/ (zuko) and .devdata/
#                                                    # (Fashion-MNIST), which the GPU machine
#                                                    # cannot fetch
#   bash benchmarks/gpu_device_check.sh --cpu-check  # here, first: the same steps on the CPU,
#                                                    # a few steps each, so no device time is
#                                                    # spent on a typo
#   bash benchmarks/gpu_device_check.sh              # on the GPU machine (device run, carry
#                                                    # [".whl", ".devdata"], timeout_s 600);
#                                                    # logs and gpu.md in $OUT. Without a GPU
#                                                    # it says so and exits 0
#
# The GPU machine runs a bare copy of the checkout: this script imports torchlvm from src/,
# installs the wheels of .whl/ that its Python lacks (into /tmp/site), and reads datasets from
# .devdata/ ($TORCHLVM_DATA); it checks all three before the first step, so a missing one costs
# seconds, not the lease. Each step has its own time limit and a failing step does not stop the
# next, so that one failure does not lose the other results. Environment: PYTHON (default
# python3); OUT (default a temporary folder); TESTS_TIMEOUT, BENCH_TIMEOUT,
# PROFILE_TIMEOUT, HOST_TIMEOUT, EVAL_TIMEOUT (seconds); CPU_CHECK_TIMEOUT (seconds per step of
# --cpu-check, default 900); BENCH_ARGS: more arguments of gpu_throughput.py (e.g.
# "--configs plain fit --no-eval"); REPEAT_CONFIGS: configurations to measure a second time, for
# the spread. At most 8 files come back from a device call: the GPU steps write 6 to $OUT
# (versions, the CUDA tests' log, gpu.md and its log, and the .md of each later step; the
# later steps' output is in the call's reply), 7 with REPEAT_CONFIGS.
set -u -o pipefail
py=${PYTHON:-python3}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
cpu_check=0
if [ "${1:-}" = "--cpu-check" ]; then cpu_check=1; fi
cd "$(dirname "$0")/.." || exit 2
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .devdata ] && [ -z "${TORCHLVM_DATA:-}" ]; then export TORCHLVM_DATA="$PWD/.devdata"; fi
if ! "$py" -c 'import zuko' 2>/dev/null && compgen -G '.whl/*.whl' >/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

{
  date -u
  "$py" -c 'import sys, torch, lightning; print("python", sys.version.split()[0], "| torch",
torch.__version__, "| CUDA", torch.version.cuda, "| lightning", lightning.__version__,
"| CUDA visible:", torch.cuda.is_available())'
  nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not here"
} 2>&1 | tee "$out/versions.txt"

# Before any step: without a GPU there is nothing to measure (the CPU's run is --cpu-check);
# a package or dataset the machine lacks is named with its fix, before the lease is spent
"$py" benchmarks/gpu_preflight.py "$cpu_check" 2>&1 | tee -a "$out/versions.txt"
case "${PIPESTATUS[0]}" in
  0) ;;
  3) exit 0 ;;  # no GPU: said so
  *) exit 2 ;;
esac

status=0
if [ "$cpu_check" = 1 ]; then
  # a shared CPU under load is slow: gpu_throughput's check took 451 s at a load of 9-13
  cpu_limit=${CPU_CHECK_TIMEOUT:-900}
  # the CUDA tests are collected (and skipped here); their CPU forms run
  timeout "$cpu_limit" "$py" -m pytest -q -p no:cacheprovider -rs \
    tests/training/test_training_fast.py 2>&1 | tee "$out/pytest.log" || status=1
  # shellcheck disable=SC2086
  timeout "$cpu_limit" "$py" benchmarks/gpu_throughput.py --cpu-check --data random --steps 2 \
    --warmup 1 ${BENCH_ARGS:-} --out "$out/gpu.md" 2>&1 | tee "$out/gpu_throughput.log" || status=1
  timeout "$cpu_limit" "$py" benchmarks/profile_fit.py --batches 128 --steps 4 --top 5 \
    --out "$out/profile_fit.md" 2>&1 | tee "$out/profile_fit.log" || status=1
  timeout "$cpu_limit" "$py" benchmarks/host_overhead.py --rounds 1 --epochs 1 --batches 128 \
    --out "$out/host_overhead.md" 2>&1 | tee "$out/host_overhead.log" || status=1
  timeout "$cpu_limit" "$py" benchmarks/eval_chunk.py --device cpu --k 20 --images 100 --rounds 1 \
    --chunks 10,20 --out "$out/eval_chunk.md" 2>&1 | tee "$out/eval_chunk.log" || status=1
else
  timeout "${TESTS_TIMEOUT:-110}" "$py" -m pytest -q -p no:cacheprovider -rs -m cuda \
    --continue-on-collection-errors tests 2>&1 | tee "$out/pytest_cuda.log" || status=1
  # shellcheck disable=SC2086
  timeout "${BENCH_TIMEOUT:-190}" "$py" benchmarks/gpu_throughput.py --steps 300 --warmup 30 \
    ${BENCH_ARGS:-} --out "$out/gpu.md" 2>&1 | tee "$out/gpu_throughput.log" || status=1
  if [ -n "${REPEAT_CONFIGS:-}" ]; then  # the same configurations again: the run-to-run spread
    # shellcheck disable=SC2086
    timeout "${REPEAT_TIMEOUT:-90}" "$py" benchmarks/gpu_throughput.py --steps 300 --warmup 30 \
      --configs $REPEAT_CONFIGS --out "$out/gpu_repeat.md" 2>&1 || status=1
  fi
  timeout "${PROFILE_TIMEOUT:-100}" "$py" benchmarks/profile_fit.py --batches 128 1024 \
    --steps 32 --top 25 --out "$out/profile_fit.md" 2>&1 || status=1
  # one round: each configuration's result is also printed as it comes, should time run out
  timeout "${HOST_TIMEOUT:-120}" "$py" benchmarks/host_overhead.py --accelerator gpu \
    --rounds 1 --epochs 2 --out "$out/host_overhead_gpu.md" 2>&1 || status=1
  timeout "${EVAL_TIMEOUT:-30}" "$py" benchmarks/eval_chunk.py --device cuda --batch 100 2000 \
    --images 2000 --rounds 5 --chunks 171,342,685,1000 --out "$out/eval_chunk_gpu.md" 2>&1 \
    || status=1
fi
echo "gpu_device_check: exit status $status; files in $out"
exit "$status"
