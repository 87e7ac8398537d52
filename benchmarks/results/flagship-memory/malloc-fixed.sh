#!/bin/bash
# mha2mla fixing glibc's malloc thresholds when a model class loads (mmap 4 MiB, trim 256 MiB: dev.mha2mla.io.Malloc)
# against glibc's adaptive ones (-Dmha2mla.malloc=adaptive), alternating, under the launcher's other settings
# (hugetlb=1). The shipped small model at 2 s, eight processes each; the flagship folder at 2 and 10 s (two rounds)
# and 30 s (one), 1 thread, and 10 s with 2 threads. Peak RSS and faults of the whole process by /usr/bin/time.
# Usage: malloc-fixed.sh FLAGSHIP_MODEL OUT_DIR
# Ran from commit eed7708, whose dev.mha2mla.io.Malloc fixed the thresholds at model load unless
# -Dmha2mla.malloc=adaptive; the next commit removed it (findings in the .md beside this file).
set -u
flagship=$1 out=$2
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
run() {  # name, model, seconds, threads, repeats, java options
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$1.time" env -u OPENBLAS_CORETYPE MHA2MLA_JAVA_OPTS="$6" \
    "$here/mha2mla" benchmark --model "$2" --seconds "$3" --threads "$4" --warmup "$5" --repeats "$5" --no-ceilings \
    --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{print $3 " s median"}') $(tail -1 "$out/$1.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
pair() {  # name, model, seconds, threads, repeats
  run "adaptive-$1" "$2" "$3" "$4" "$5" "-Xmx4g -Dmha2mla.malloc=adaptive"
  run "fixed-$1" "$2" "$3" "$4" "$5" "-Xmx4g"
}
small="$here/models/conformer-small-synthetic"
for i in 1 2 3 4 5 6 7 8; do pair "small-2s-1t-p$i" "$small" 2 1 30; done
for round in 1 2; do
  for seconds in 2 10; do pair "flagship-${seconds}s-1t-r$round" "$flagship" "$seconds" 1 3; done
done
pair flagship-30s-1t-r1 "$flagship" 30 1 3
pair flagship-10s-2t-r1 "$flagship" 10 2 3
