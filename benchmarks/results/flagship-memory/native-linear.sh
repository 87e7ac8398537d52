#!/bin/bash
# The dense layers through mla_linear_f32 (W read in place) against the build before it (OpenBLAS's packed products
# in LibTorch) and HuggingFace's PyTorch, at 2 s of audio (99 frames: every layer's products have 99 or 197 rows,
# below NativeLinear.preferredMaxRows(); from 5 s on the rows exceed it and the build runs what it ran before).
# `mha2mla benchmark` on the flagship folder, one process each, alternating before / after / PyTorch; three rounds;
# 1 and 2 threads. Peak RSS and faults of the whole process by /usr/bin/time.
# Usage: [ROUNDS="4"] native-linear.sh MODEL OUT_DIR BEFORE_CHECKOUT PYTHON
#   BEFORE_CHECKOUT: a built checkout of the commit before (its ./mha2mla launcher); PYTHON: with torch and transformers
set -u
model=$1 out=$2 before=$3 python=$4
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
huge=glibc.malloc.hugetlb=1
ours() {  # name, checkout, seconds, threads
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$1.time" env -u OPENBLAS_CORETYPE \
    "$2/mha2mla" benchmark --model "$model" --seconds "$3" --threads "$4" --warmup 1 --repeats 5 --no-ceilings \
    --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{print $3 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
theirs() {  # name, seconds, threads
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$1.time" env GLIBC_TUNABLES="$huge" "$python" \
    "$here/benchmarks/pytorch/hf_forward.py" --model "$model" --seconds "$2" --threads "$3" --warmup 1 --repeats 5 \
    --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$out/$1.log" | awk '{print $2 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
for round in ${ROUNDS:-1 2 3}; do
  for threads in 1 2; do
    ours "before-2s-${threads}t-r$round" "$before" 2 "$threads"
    ours "after-2s-${threads}t-r$round" "$here" 2 "$threads"
    theirs "pytorch-2s-${threads}t-r$round" 2 "$threads"
  done
done
