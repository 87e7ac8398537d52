#!/bin/bash
# Stage profile (ForwardProfile) of the flagship's forward pass, build BEFORE against build AFTER (two checkouts, each
# built with `mvn -pl java,benchmarks -am package -DskipTests`), 1 and 2 threads, alternating, one process each, with
# the launcher's environment.
# Usage: channels-last-encoder.sh MODEL OUT_DIR BEFORE_CHECKOUT AFTER_CHECKOUT SECONDS ROUNDS
set -u
model=$1 out=$2 before=$3 after=$4 seconds=$5 rounds=$6
mkdir -p "$out"
profile() {  # name, checkout, threads
  (cd "$2" && env -u OPENBLAS_CORETYPE GLIBC_TUNABLES=glibc.malloc.hugetlb=1 OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4 \
    java -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" dev.mha2mla.benchmarks.ForwardProfile \
    "$model" "$seconds" "$3") > "$out/$1.txt" 2>&1
  echo "$1: encoder $(awk '/extract_features_conv/ {print $2}' "$out/$1.txt") ms, total $(awk '$1 == "total" {print $2}' "$out/$1.txt") ms, load $(cut -d' ' -f1 /proc/loadavg)"
}
for round in $(seq 1 "$rounds"); do
  for threads in 1 2; do
    profile "before-${seconds}s-${threads}t-r$round" "$before" "$threads"
    profile "after-${seconds}s-${threads}t-r$round" "$after" "$threads"
  done
done
