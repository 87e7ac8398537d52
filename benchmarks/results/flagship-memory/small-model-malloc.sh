#!/bin/bash
# The shipped small model under glibc's adaptive malloc thresholds (-Dmha2mla.malloc=adaptive) against the fixed ones
# its load now sets, beside HuggingFace's PyTorch (benchmarks/pytorch/hf_forward.py, malloc on huge pages as the
# launcher sets it): 2, 10 and 30 s in one process, 1 and 2 threads, one process each, alternating, 4 rounds.
# Then one flagship process, to show that its load leaves glibc's thresholds alone.
# Usage: small-model-malloc.sh FLAGSHIP_MODEL OUT_DIR PYTHON
set -u
flagship=$1 out=$2 python=$3
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
small="$here/models/conformer-small-synthetic"
ours() {  # name, java options, model, seconds, threads
  MHA2MLA_JAVA_OPTS="$2" env -u OPENBLAS_CORETYPE "$here/mha2mla" benchmark --model "$3" --seconds "$4" --threads "$5" \
    --warmup 3 --repeats 20 --no-ceilings --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{printf "%s s %s; ", $1, $3}')$(grep 'malloc:' "$out/$1.log" | sed 's/^ *//') load $(cut -d' ' -f1 /proc/loadavg)"
}
theirs() {  # name, seconds, threads
  env GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$python" "$here/benchmarks/pytorch/hf_forward.py" --model "$small" \
    --seconds "$2" --threads "$3" --warmup 3 --repeats 20 --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$out/$1.log" | awk '{printf "%s s %s; ", $1, $2}')load $(cut -d' ' -f1 /proc/loadavg)"
}
for round in 1 2 3 4; do
  for threads in 1 2; do
    ours "adaptive-${threads}t-r$round" "-Xmx4g -Dmha2mla.malloc=adaptive" "$small" 2,10,30 "$threads"
    ours "fixed-${threads}t-r$round" "-Xmx4g" "$small" 2,10,30 "$threads"
    theirs "pytorch-${threads}t-r$round" 2,10,30 "$threads"
  done
done
ours "flagship-2s-1t" "-Xmx4g" "$flagship" 2 1
