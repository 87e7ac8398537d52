#!/bin/bash
# The shipped small model at 10 s, 1 thread, in 4 pairs of processes alternating: glibc's adaptive malloc thresholds
# (the launcher's setting) against fixed ones (mmap 32 MiB, trim 256 MiB). Run from the repository root after
# `mvn -pl java,benchmarks -am package -DskipTests`. Usage: run.sh > results.txt
set -eu
here=$(dirname "$0")
cp=$(cat benchmarks/target/classpath.txt)
classes=$(mktemp -d)
javac -d "$classes" -cp "$cp" "$here/PathAB.java"
echo "host: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F)"
for round in 1 2 3 4; do
  for tunables in glibc.malloc.hugetlb=1 glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456; do
    echo "round $round, GLIBC_TUNABLES=$tunables (load $(cut -d' ' -f1 /proc/loadavg))"
    env -u OPENBLAS_CORETYPE GLIBC_TUNABLES=$tunables OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4 \
      java -cp "$classes:$cp" PathAB models/conformer-small-synthetic 10 1 2>&1 | grep -v WARN
  done
done
rm -rf "$classes"
