#!/bin/bash
# The flagship folder at 2 s, 1 thread, under the launcher's settings: the JVM's default tiered compilation (C1 then
# C2) against C1 alone (-XX:TieredStopAtLevel=1), alternating, one process each, six pairs.
# Usage: jit-tiers.sh FLAGSHIP_MODEL OUT_DIR
set -u
flagship=$1 out=$2
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
run() {  # name, java options
  env -u OPENBLAS_CORETYPE MHA2MLA_JAVA_OPTS="$2" "$here/mha2mla" benchmark --model "$flagship" --seconds 2 \
    --threads 1 --warmup 3 --repeats 5 --no-ceilings --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{print $3 " s median, IQR " $4}') load $(cut -d' ' -f1 /proc/loadavg)"
}
for i in 1 2 3 4 5 6; do
  run "c2-p$i" "-Xmx4g"
  run "c1-p$i" "-Xmx4g -XX:TieredStopAtLevel=1"
done
