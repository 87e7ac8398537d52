#!/bin/bash
# OpenBLAS's pthread workers spin after each product for 2^OPENBLAS_THREAD_TIMEOUT cycles (default 2^28) before they
# sleep, on the cores LibTorch's OpenMP threads need next. `mha2mla benchmark` with the default, 2^20 and 2^4 (sleep
# at once) against HuggingFace's PyTorch (benchmarks/pytorch/hf_forward.py, malloc on huge pages as mha2mla's
# launcher sets it), 2 threads at 2 and 10 s, and 1 thread at 2 s; runs alternating, three rounds; context
# switches of the whole process by /usr/bin/time.
# Usage: blas-thread-timeout.sh MODEL OUT_DIR PYTHON   (PYTHON: an interpreter with torch and transformers)
set -u
model=$1 out=$2 python=$3
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
fmt="%M KB %e s %c involuntary-cs %w voluntary-cs"
ours() {  # name, seconds, threads, timeout (empty: OpenBLAS's default)
  /usr/bin/time -f "$fmt" -o "$out/$1.time" env -u OPENBLAS_CORETYPE -u OPENBLAS_THREAD_TIMEOUT \
    ${4:+OPENBLAS_THREAD_TIMEOUT=$4} "$here/mha2mla" benchmark --model "$model" --seconds "$2" --threads "$3" \
    --warmup 1 --repeats 5 --no-ceilings --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{print $3 " s median, IQR " $4}'); $(tail -1 "$out/$1.time"); load $(cut -d' ' -f1 /proc/loadavg)"
}
theirs() {  # name, seconds, threads
  /usr/bin/time -f "$fmt" -o "$out/$1.time" env GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$python" \
    "$here/benchmarks/pytorch/hf_forward.py" --model "$model" --seconds "$2" --threads "$3" --warmup 1 --repeats 5 \
    --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$out/$1.log" | awk '{print $2 " s median, IQR " $3}'); $(tail -1 "$out/$1.time"); load $(cut -d' ' -f1 /proc/loadavg)"
}
for round in 1 2 3; do
  for seconds in 2 10; do
    for timeout in "" 20 4; do ours "mha2mla-timeout${timeout:-28}-${seconds}s-2t-r$round" "$seconds" 2 "$timeout"; done
    theirs "pytorch-hugetlb1-${seconds}s-2t-r$round" "$seconds" 2
  done
  ours "mha2mla-timeout4-2s-1t-r$round" 2 1 4
  theirs "pytorch-hugetlb1-2s-1t-r$round" 2 1
done
