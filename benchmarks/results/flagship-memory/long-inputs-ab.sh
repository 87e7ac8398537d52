#!/bin/bash
# Inputs past the native kernel's rows (10 and 30 s: 499 and 1499 frames) after this session's changes, where the
# only change on their path is the convolution block's 1 x 1 convolutions run as torch.linear instead of conv1d:
# `mha2mla benchmark` of the build before (0fe2f8a) and after, one process each, alternating.
# Usage: long-inputs-ab.sh MODEL OUT_DIR BEFORE_CHECKOUT
set -u
model=$1 out=$2 before=$3
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
run() {  # name, checkout, seconds, threads
  /usr/bin/time -f "%M KB %e s" -o "$out/$1.time" env -u OPENBLAS_CORETYPE "$2/mha2mla" benchmark --model "$model" \
    --seconds "$3" --threads "$4" --warmup 1 --repeats 3 --no-ceilings --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{print $3 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
for round in 1 2; do
  for threads in 1 2; do
    run "before-10s-${threads}t-r$round" "$before" 10 "$threads"
    run "after-10s-${threads}t-r$round" "$here" 10 "$threads"
  done
done
run before-30s-2t "$before" 30 2
run after-30s-2t "$here" 30 2
