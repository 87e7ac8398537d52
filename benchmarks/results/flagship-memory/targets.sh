#!/bin/bash
# mha2mla against HuggingFace's PyTorch implementation (benchmarks/pytorch/hf_forward.py), one interleaved run:
# the flagship-size folder at 2, 10 and 30 s and the shipped small model at 10 and 30 s, 1 and 2 threads, one process
# per cell, the two alternating; then 5 minutes of audio on the flagship (mha2mla alone, default threads).
# mha2mla as its launcher runs it; PyTorch with the launcher's malloc setting (glibc.malloc.hugetlb=1), its fair
# baseline (malloc-hugepages.md). Peak RSS and minor faults of the whole process by /usr/bin/time.
# Usage: targets.sh FLAGSHIP_MODEL OUT_DIR PYTHON   (PYTHON: an interpreter with torch and transformers)
set -u
flagship=$1 out=$2 python=$3
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
small="$here/models/conformer-small-synthetic"
ours() {  # name, model, seconds, threads, repeats
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$1.time" env -u OPENBLAS_CORETYPE "$here/mha2mla" benchmark \
    --model "$2" --seconds "$3" --threads "$4" --warmup 1 --repeats "$5" --no-ceilings --out "$out/$1.json" \
    > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{print $3 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
theirs() {  # name, model, seconds, threads, repeats
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$1.time" env GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$python" \
    "$here/benchmarks/pytorch/hf_forward.py" --model "$2" --seconds "$3" --threads "$4" --warmup 1 --repeats "$5" \
    --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$out/$1.log" | awk '{print $2 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
pair() {  # label, model, seconds, threads, repeats
  ours "mha2mla-$1" "$2" "$3" "$4" "$5"
  theirs "pytorch-$1" "$2" "$3" "$4" "$5"
}
for round in 1 2; do
  for threads in 1 2; do
    pair "flagship-2s-${threads}t-r$round" "$flagship" 2 "$threads" 5
    pair "flagship-10s-${threads}t-r$round" "$flagship" 10 "$threads" 3
    pair "small-10s-${threads}t-r$round" "$small" 10 "$threads" 5
    pair "small-30s-${threads}t-r$round" "$small" 30 "$threads" 5
  done
done
for threads in 1 2; do
  pair "flagship-30s-${threads}t-r1" "$flagship" 30 "$threads" 3
done
/usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/mha2mla-flagship-300s.time" env -u OPENBLAS_CORETYPE \
  "$here/mha2mla" benchmark --model "$flagship" --seconds 300 --warmup 0 --repeats 1 --no-ceilings \
  --out "$out/mha2mla-flagship-300s.json" > "$out/mha2mla-flagship-300s.log" 2>&1
echo "mha2mla-flagship-300s: $(tail -1 "$out/mha2mla-flagship-300s.time") load $(cut -d' ' -f1 /proc/loadavg)"
