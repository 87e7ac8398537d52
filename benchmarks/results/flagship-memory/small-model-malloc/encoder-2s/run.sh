#!/bin/bash
# The shipped small model's feature encoder at 2 s, mha2mla (EncProbe) and PyTorch (hf_encoder.py), 1 and 2 threads,
# two rounds alternating. Run from the repository root after `mvn -pl java,benchmarks -am package -DskipTests`.
# Usage: run.sh PYTHON > results.txt
set -eu
python=$1
here=$(dirname "$0")
cp="java/target/classes:$(cat benchmarks/target/classpath.txt)"
classes=$(mktemp -d)
javac -d "$classes" -cp "$cp" "$here/EncProbe.java"
echo "host: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F)"
for round in 1 2; do
  for threads in 1 2; do
    echo "mha2mla, $threads thread(s), round $round (load $(cut -d' ' -f1 /proc/loadavg)):"
    env -u OPENBLAS_CORETYPE GLIBC_TUNABLES=glibc.malloc.hugetlb=1 OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4 \
      java -cp "$classes:$cp" dev.mha2mla.model.EncProbe models/conformer-small-synthetic 2 "$threads" 2>&1 | grep -v WARN
  done
  echo "round $round (load $(cut -d' ' -f1 /proc/loadavg)):"
  GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$python" "$here/hf_encoder.py" models/conformer-small-synthetic 2 2>&1 | grep PyTorch
done
rm -rf "$classes"
