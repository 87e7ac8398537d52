#!/bin/bash
# From the repository root after `mvn -pl java,benchmarks -am package -DskipTests`. Usage: run.sh > results.txt
set -eu
here=$(dirname "$0")
cp="java/target/classes:$(cat benchmarks/target/classpath.txt)"
classes=$(mktemp -d)
javac -d "$classes" -cp "$cp" "$here/BatchProbe.java"
echo "host: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F); load $(cut -d' ' -f1 /proc/loadavg)"
for threads in 1 2 1 2; do
  env -u OPENBLAS_CORETYPE GLIBC_TUNABLES=glibc.malloc.hugetlb=1 OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4 \
    java -cp "$classes:$cp" dev.mha2mla.model.BatchProbe models/conformer-small-synthetic "$threads" 2>&1 | grep batch
done
rm -rf "$classes"
