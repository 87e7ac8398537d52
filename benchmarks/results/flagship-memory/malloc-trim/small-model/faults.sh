#!/bin/bash
# The shipped small model, 2 s, 1 thread, in N processes: median pass and the process's minor faults after 10 warm-up
# and R timed passes (Ftz.java beside this file; its first argument 1 would set flush-to-zero first).
# Usage: [TUN=GLIBC_TUNABLES value] [N=4] [RS="30 330"] faults.sh   (after building java/target/mha2mla.jar)
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../../.."   # the repository root
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4
export GLIBC_TUNABLES=${TUN:-glibc.malloc.hugetlb=1}
unset OPENBLAS_CORETYPE
M=${M:-models/conformer-small-synthetic}; S=${S:-2}
for i in $(seq 1 ${N:-4}); do
  for R in ${RS:-30 330}; do
    java -Xmx4g -cp "java/target/mha2mla.jar:java/target/lib/*" "$here/Ftz.java" 0 $M $S $R 2>&1 | grep RESULT | sed "s/^/$i R=$R /"
  done
done
