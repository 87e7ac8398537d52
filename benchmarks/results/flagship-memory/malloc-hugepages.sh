#!/bin/bash
# `mha2mla benchmark` on the flagship folder with glibc's malloc on 4 KiB pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=0)
# and on transparent huge pages (hugetlb=1, what the launcher sets), interleaved, two rounds, OpenBLAS's own kernel
# set; then 1 against 2 threads with huge pages. Page faults and peak RSS from /usr/bin/time of the whole process.
# Usage: malloc-hugepages.sh MODEL OUT_DIR
# OPENBLAS_THREAD_TIMEOUT=28 (OpenBLAS's default) as when these results were recorded, before the launcher set 4.
set -u
model=$1 out=$2
mkdir -p "$out"
run() {  # name, hugetlb (0|1), seconds, threads
  local name=$1 huge=$2 seconds=$3 threads=$4
  /usr/bin/time -f "%M KB %e s %R minor-faults" -o "$out/$name.time" env -u OPENBLAS_CORETYPE OPENBLAS_THREAD_TIMEOUT=28 \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=$huge ./mha2mla benchmark --model "$model" --seconds "$seconds" \
    --threads "$threads" --warmup 1 --repeats 3 --no-ceilings --out "$out/$name.json" > "$out/$name.log" 2>&1
  echo "$name: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$name.log" | awk '{print $3 " s median"}') $(tail -1 "$out/$name.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
for round in 1 2; do
  for seconds in 2 10 30; do
    for huge in 0 1; do run "hugetlb$huge-${seconds}s-1t-r$round" $huge $seconds 1; done
  done
done
for round in 1 2; do
  for threads in 1 2; do run "hugetlb1-10s-${threads}t-threads-r$round" 1 10 $threads; done
done
