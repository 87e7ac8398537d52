#!/bin/bash
# 1 thread, 2 threads and the adaptive default (--threads 0) under the launcher's settings (malloc on huge pages,
# OPENBLAS_THREAD_TIMEOUT=4), on a loaded machine: four busy shell loops on the 2 cores for the whole script.
# `mha2mla benchmark`, interleaved, two rounds: the flagship folder at 2 s (--warmup 1 --repeats 3) and the shipped
# small model at 10 s (--warmup 5 --repeats 21).
# Usage: loaded-threads.sh FLAGSHIP_MODEL OUT_DIR
set -u
flagship=$1 out=$2
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../../.." && pwd)
busy=()
for i in 1 2 3 4; do (while :; do :; done) & busy+=($!); done
trap 'kill "${busy[@]}" 2>/dev/null' EXIT
sleep 20
run() {  # name, model, seconds, threads, warm-up, repeats
  env -u OPENBLAS_CORETYPE "$here/mha2mla" benchmark --model "$2" --seconds "$3" --threads "$4" --warmup "$5" \
    --repeats "$6" --no-ceilings --out "$out/$1.json" > "$out/$1.log" 2>&1
  echo "$1: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$1.log" | awk '{print $3 " s median, " $8 " threads"}') load $(cut -d' ' -f1 /proc/loadavg)"
}
for round in 1 2; do
  for t in 1 2 0; do run "flagship-2s-${t}t-r$round" "$flagship" 2 "$t" 1 3; done
  for t in 1 2 0; do run "small-10s-${t}t-r$round" "$here/models/conformer-small-synthetic" 10 "$t" 5 21; done
done
