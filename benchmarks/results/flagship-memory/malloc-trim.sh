#!/bin/bash
# Does glibc hand freed activation memory back after every pass? By default its trim and mmap thresholds adapt to
# the history of frees, so one process keeps the memory (fast) and another returns it and faults it in again on the
# next pass (slow), the per-process bimodality seen before. Fixed thresholds (mmap_threshold 32 MiB, its maximum;
# trim_threshold 256 MiB or 1 GiB) keep it. `mha2mla benchmark` on the flagship folder under the launcher's setting
# (hugetlb=1 only) and the two fixed ones, against HuggingFace's PyTorch with hugetlb=1, alternating; two rounds at
# 2 and 10 s, one at 30 s; 1 and 2 threads. Peak RSS and faults of the whole process by /usr/bin/time.
# Usage: malloc-trim.sh MODEL OUT_DIR PYTHON   (PYTHON: an interpreter with torch and transformers)
set -u
model=$1 out=$2 python=$3
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
huge=glibc.malloc.hugetlb=1
fixed="$huge:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold"
ours() {  # name, seconds, threads, GLIBC_TUNABLES
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$1.time" env -u OPENBLAS_CORETYPE GLIBC_TUNABLES="$4" \
    "$here/mha2mla" benchmark --model "$model" --seconds "$2" --threads "$3" --warmup 1 --repeats 3 --no-ceilings \
    --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{print $3 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
theirs() {  # name, seconds, threads
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$1.time" env GLIBC_TUNABLES="$huge" "$python" \
    "$here/benchmarks/pytorch/hf_forward.py" --model "$model" --seconds "$2" --threads "$3" --warmup 1 --repeats 3 \
    --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$out/$1.log" | awk '{print $2 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
cell() {  # seconds, threads, round
  local s=$1 t=$2 r=$3
  ours "hugetlb-${s}s-${t}t-r$r" "$s" "$t" "$huge"
  ours "trim256m-${s}s-${t}t-r$r" "$s" "$t" "$fixed=268435456"
  ours "trim1g-${s}s-${t}t-r$r" "$s" "$t" "$fixed=1073741824"
  theirs "pytorch-hugetlb-${s}s-${t}t-r$r" "$s" "$t"
}
for round in 1 2; do
  for seconds in 2 10; do
    for threads in 1 2; do cell "$seconds" "$threads" "$round"; done
  done
done
for threads in 1 2; do cell 30 "$threads" 1; done
