#!/bin/bash
# interleaved: A = 1 process x 2 threads, B = 2 processes x 1 thread; same global batch 8, 40 updates
cd "$(dirname "$0")/../../.."
M=models/conformer-small-synthetic
mkdir -p "${RUNS:-runs}"
for rep in 1 2 3; do
  for mode in A B; do
    out=${RUNS:-runs}/$mode$rep; rm -rf $out
    if [ $mode = A ]; then extra="--threads 2"; else extra="--nproc 2 --threads 1"; fi
    s=$(date +%s.%N)
    ./mha2mla finetune --model $M --train ${CORPUS:-corpus}/train --valid ${CORPUS:-corpus}/validation --out $out --max-steps 40 --eval-every 40 --batch-size 8 $extra > $out.log 2>&1
    e=$(date +%s.%N)
    echo "$mode $rep wall $(echo "$e - $s" | bc) load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
