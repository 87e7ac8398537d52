#!/bin/bash
# Streaming with the native dense layers: StreamedModelBenchmark.stream (a recording fed chunk by chunk to a new
# stream with 512 frames of left context, then finished; one thread) on the flagship folder (4 s in 16-frame chunks:
# every dense layer multiplies 16 rows) and on the two shipped small models (10 s, chunks of 1 and 16 frames), the
# build before the native dense layers and this one, alternating; the flagship twice. The launcher's environment.
# Usage: native-linear-streaming.sh FLAGSHIP_DIR OUT_DIR BEFORE_CHECKOUT   (BEFORE_CHECKOUT: built with its benchmarks)
set -u
flagship=$1 out=$2 before=$3
mkdir -p "$out"
out=$(cd "$out" && pwd)
here=$(cd "$(dirname "$0")/../../.." && pwd)
jmh() {  # name, checkout, JMH arguments...
  local name=$1 tree=$2
  shift 2
  (cd "$tree" && env -u OPENBLAS_CORETYPE GLIBC_TUNABLES=glibc.malloc.hugetlb=1 OMP_WAIT_POLICY=PASSIVE \
    OPENBLAS_THREAD_TIMEOUT=4 java -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
    org.openjdk.jmh.Main 'StreamedModelBenchmark.stream' -p threads=1 -wi 1 -w 2s -i 5 -r 2s -f 1 \
    -rf json -rff "$out/$name.json" "$@" > "$out/$name.log" 2>&1)
  echo "$name: load $(cut -d' ' -f1 /proc/loadavg)"
  grep -E '^StreamedModelBenchmark.stream' "$out/$name.log"
}
big=(-p models="$(dirname "$flagship")" -p model="$(basename "$flagship")" -p chunk=16 -p seconds=4)
small=(-p models=models -p model=conformer-small-synthetic,conformer-small-synthetic-mla-streaming -p chunk=1,16 -p seconds=10)
for round in 1 2; do
  jmh "before-flagship-r$round" "$before" "${big[@]}"
  jmh "after-flagship-r$round" "$here" "${big[@]}"
done
jmh before-small "$before" "${small[@]}"
jmh after-small "$here" "${small[@]}"
