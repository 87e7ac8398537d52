#!/bin/bash
# `mha2mla benchmark` against HuggingFace's PyTorch implementation (benchmarks/pytorch/hf_forward.py) on the same
# flagship-size folder, same lengths and thread counts, runs alternating, one process each; peak RSS, page faults and
# wall time of the whole process by /usr/bin/time. mha2mla as its launcher runs it (malloc on huge pages), with
# OpenBLAS's own kernel set; PyTorch once as installed and once with the same malloc setting.
# Two rounds at 2 and 10 s, one at 30 s.
# Usage: vs-pytorch.sh MODEL OUT_DIR PYTHON   (PYTHON: an interpreter with torch and transformers)
# OPENBLAS_THREAD_TIMEOUT=28 (OpenBLAS's default) as when these results were recorded, before the launcher set 4.
set -u
model=$1 out=$2 python=$3
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
ours() {  # name, seconds, threads
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$1.time" env -u OPENBLAS_CORETYPE OPENBLAS_THREAD_TIMEOUT=28 "$here/mha2mla" benchmark \
    --model "$model" --seconds "$2" --threads "$3" --warmup 1 --repeats 3 --no-ceilings --out "$out/$1.json" \
    > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{print $3 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
theirs() {  # name, seconds, threads, GLIBC_TUNABLES
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$1.time" env GLIBC_TUNABLES="$4" "$python" "$here/benchmarks/pytorch/hf_forward.py" \
    --model "$model" --seconds "$2" --threads "$3" --warmup 1 --repeats 3 --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$out/$1.log" | awk '{print $2 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
for round in 1 2; do
  for seconds in 2 10; do
    for threads in 1 2; do
      ours "mha2mla-${seconds}s-${threads}t-r$round" "$seconds" "$threads"
      theirs "pytorch-${seconds}s-${threads}t-r$round" "$seconds" "$threads" ""
      theirs "pytorch-hugetlb1-${seconds}s-${threads}t-r$round" "$seconds" "$threads" glibc.malloc.hugetlb=1
    done
  done
done
for threads in 1 2; do
  ours "mha2mla-30s-${threads}t-r1" 30 "$threads"
  theirs "pytorch-30s-${threads}t-r1" 30 "$threads" ""
  theirs "pytorch-hugetlb1-30s-${threads}t-r1" 30 "$threads" glibc.malloc.hugetlb=1
done
