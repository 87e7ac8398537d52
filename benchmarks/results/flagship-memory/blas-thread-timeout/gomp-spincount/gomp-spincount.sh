#!/bin/bash
# libgomp spin before sleeping (GOMP_SPINCOUNT; 0 = OMP_WAIT_POLICY=PASSIVE, what the launcher sets) for mha2mla benchmark,
# 2 threads, flagship folder at /tmp/flagship; paths as on the machine it ran on.
out=/tmp/omp; mkdir -p $out
run() { # name spincount seconds threads
  /usr/bin/time -f "%M KB %e s" -o $out/$1.time env -u OPENBLAS_CORETYPE ${2:+GOMP_SPINCOUNT=$2} /work/main/mha2mla benchmark --model /tmp/flagship --seconds $3 --threads $4 --warmup 1 --repeats 5 --no-ceilings --out $out/$1.json > $out/$1.log 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' $out/$1.log | awk '{print $3 " s median IQR " $4}') load $(cut -d' ' -f1 /proc/loadavg)"
}
for r in 1 2; do
  for s in 2 10; do
    for spin in "" 3000 30000 300000; do run "spin${spin:-0}-${s}s-2t-r$r" "$spin" $s 2; done
  done
done
