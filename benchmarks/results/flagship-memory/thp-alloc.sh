#!/bin/bash
# LibTorch asking for huge pages itself (THP_MEM_ALLOC_ENABLE=1: blocks of 2 MiB and more 2 MiB-aligned and
# madvise(MADV_HUGEPAGE), wherever malloc put them) together with fixed malloc thresholds (mmap 32 MiB, trim
# 256 MiB, through GLIBC_TUNABLES) against glibc's adaptive thresholds (-Dmha2mla.malloc=adaptive), both with the
# launcher's hugetlb=1; alternating, one process each. Flagship folder at 2 and 10 s (two rounds) and 30 s, 1 thread;
# the shipped small model at 2 s, four pairs. Peak RSS and faults of the whole process by /usr/bin/time.
# Usage: thp-alloc.sh FLAGSHIP_MODEL OUT_DIR
# Ran from commit eed7708, whose dev.mha2mla.io.Malloc fixed the thresholds at model load unless
# -Dmha2mla.malloc=adaptive; the next commit removed it (findings in the .md beside this file).
set -u
flagship=$1 out=$2
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
fixed=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456
run() {  # name, model, seconds, warm-up and repeats, then env assignments
  local name=$1 model=$2 seconds=$3 repeats=$4
  shift 4
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$name.time" env -u OPENBLAS_CORETYPE "$@" \
    "$here/mha2mla" benchmark --model "$model" --seconds "$seconds" --threads 1 --warmup "$repeats" --repeats "$repeats" \
    --no-ceilings --out "$out/$name.json" > "$out/$name.log" 2>&1
  echo "$name: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$name.log" | awk '{print $3 " s median"}') $(tail -1 "$out/$name.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
pair() {  # name, model, seconds, repeats
  run "adaptive-$1" "$2" "$3" "$4" MHA2MLA_JAVA_OPTS="-Xmx4g -Dmha2mla.malloc=adaptive"
  run "thp-fixed-$1" "$2" "$3" "$4" THP_MEM_ALLOC_ENABLE=1 GLIBC_TUNABLES=$fixed
}
for i in 1 2 3 4; do pair "small-2s-p$i" "$here/models/conformer-small-synthetic" 2 30; done
for round in 1 2; do
  for seconds in 2 10; do pair "flagship-${seconds}s-r$round" "$flagship" "$seconds" 1; done
done
pair flagship-30s-r1 "$flagship" 30 1
