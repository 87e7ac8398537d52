#!/usr/bin/env bash
# One-shot check of the CUDA kernels on a machine with an NVIDIA GPU, CMake, a C++ compiler, nvcc and Python
# with PyTorch (no Java needed); each step has a time limit (on an H200 with 16 cores the whole script took 162 s):
#   1. builds native/ and kernels/ for this GPU's architecture (Release);
#   2. runs CTest: every CUDA entry point against its CPU twin (float32 and 16-bit), the streaming caches, the
#      CPU checks and the emulated CUDA build; a "skipped" CUDA check counts as a failure here;
#   3. times the kernels and the streaming caches at flagship sizes (kernel_check --bench);
#   4. measures the device's ceilings with PyTorch (copy bandwidth, float32 FMA and bf16 matrix rates) and
#      PyTorch's SVD (cuSOLVER) of a flagship K/V weight, as a reference for mha2mla's cuSOLVER backend;
#   5. writes results.md: each CUDA timing as a fraction of its roofline (max of flops / float32 rate and
#      bytes / copy bandwidth over the measured time).
# Usage: benchmarks/gpu/check.sh [OUT_DIR]   (default: $OUT if set, else benchmarks/gpu/out); run from anywhere.
# Output: OUT_DIR/check.log (everything), OUT_DIR/bench.txt, OUT_DIR/ceilings.json, OUT_DIR/results.md.
# Exit status: 0 when every check passed, 1 otherwise (the timings are written either way).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-${OUT:-$here/out}}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
build="${BUILD_DIR:-$root/build-gpu}"
log="$out/check.log"
: >"$log"
failed=0
step() { echo "== $* ($(date -u +%H:%M:%S))" | tee -a "$log"; }
run() {  # run SECONDS CMD...: the command's output to the log; a non-zero status marks the check failed
  local limit=$1; shift
  timeout "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  if [ $rc -ne 0 ]; then echo "   failed (exit $rc): $*" | tee -a "$log"; failed=1; fi
  return $rc
}

step "machine"
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,compute_cap --format=csv
  command -v nvcc >/dev/null && nvcc --version | tail -2
  cmake --version | head -1
  nproc
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
} >>"$log" 2>&1
arch="${CUDA_ARCHS:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')}"
arch="${arch:-90}"
echo "   GPU architecture: sm_$arch" | tee -a "$log"

step "build (Release, sm_$arch)"
run 120 cmake -S "$root/native" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DMHA2MLA_CUDA=ON
if ! grep -q "CUDA kernels" "$log" || grep -q "CUDA kernels were not built" "$log"; then
  echo "   nvcc was not found or not used: no CUDA kernels to check" | tee -a "$log"
  failed=1
fi
run 360 cmake --build "$build" -j "$(nproc)"
checker="$build/kernel_test/kernel_check"

step "checks (CTest)"
if [ -x "$checker" ]; then
  run 400 ctest --test-dir "$build" --output-on-failure -j 4
  if "$checker" --cuda 2>&1 | tee -a "$log" | grep -qi "skipped"; then
    echo "   the CUDA checks were skipped: no usable GPU" | tee -a "$log"
    failed=1
  fi
else
  echo "   no kernel_check was built" | tee -a "$log"
  failed=1
fi

step "kernel timings at flagship sizes"
if [ -x "$checker" ]; then
  timeout 300 "$checker" --bench >"$out/bench.txt" 2>&1
  cat "$out/bench.txt" >>"$log"
fi

step "device ceilings (PyTorch)"
run 120 env PYTHONUNBUFFERED=1 python3 "$here/ceilings.py" "$out/ceilings.json"

step "summary"
python3 "$here/summarize.py" "$out/bench.txt" "$out/ceilings.json" "$failed" >"$out/results.md" 2>>"$log"
cat "$out/results.md"
echo "checks: $([ $failed -eq 0 ] && echo passed || echo FAILED); full log: $log"
exit $failed
