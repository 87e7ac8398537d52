#!/bin/bash
# `mha2mla benchmark` on the flagship folder with OpenBLAS's kernel set pinned by this machine's environment
# (OPENBLAS_CORETYPE=Haswell, AVX2) and with OpenBLAS's own choice (the variable unset: Cooperlake, AVX-512),
# interleaved, two rounds; then 1 against 2 threads with OpenBLAS's own choice. Usage: blas-kernels.sh MODEL OUT_DIR
set -u
model=$1 out=$2
mkdir -p "$out"
run() {  # name, kernels (pinned|own), seconds, threads
  local name=$1 kernels=$2 seconds=$3 threads=$4
  local env_args=(env OPENBLAS_CORETYPE=Haswell)
  [ "$kernels" = own ] && env_args=(env -u OPENBLAS_CORETYPE)
  /usr/bin/time -f "%M KB %e s" -o "$out/$name.time" "${env_args[@]}" ./mha2mla benchmark --model "$model" \
    --seconds "$seconds" --threads "$threads" --warmup 1 --repeats 3 --no-ceilings --out "$out/$name.json" > "$out/$name.log" 2>&1
  echo "$name: $(grep -E '^ +[0-9.]+ +[0-9]+ ' "$out/$name.log" | awk '{print $3 " s median"}') $(tail -1 "$out/$name.time") load $(cut -d' ' -f1 /proc/loadavg)"
}
for round in 1 2; do
  for seconds in 2 10 30; do
    for kernels in pinned own; do run "$kernels-${seconds}s-1t-r$round" $kernels $seconds 1; done
  done
done
for round in 1 2; do
  for threads in 1 2; do run "own-10s-${threads}t-threads-r$round" own 10 $threads; done
done
