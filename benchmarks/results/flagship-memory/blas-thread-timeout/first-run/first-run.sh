#!/bin/bash
# The first check of OPENBLAS_THREAD_TIMEOUT (default against 2^4), 1 and 2 threads; paths as on the machine it ran on.
out=/tmp/obt; mkdir -p $out
run() { # name timeout seconds threads
  /usr/bin/time -f "%M KB %e s %c invol-cs %w vol-cs" -o $out/$1.time env -u OPENBLAS_CORETYPE ${2:+OPENBLAS_THREAD_TIMEOUT=$2} /work/main/mha2mla benchmark --model /tmp/flagship --seconds $3 --threads $4 --warmup 1 --repeats 5 --no-ceilings --out $out/$1.json > $out/$1.log 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' $out/$1.log | awk '{print $3 " s median IQR " $4}') $(cat $out/$1.time) load $(cut -d' ' -f1 /proc/loadavg)"
}
for r in 1 2; do
  for s in 2 10; do
    for t in 2 1; do
      for to in "" 4; do run "timeout${to:-default}-${s}s-${t}t-r$r" "$to" $s $t; done
    done
  done
done
