#!/bin/bash
# Peak RSS and wall time of `mha2mla benchmark` on the flagship folder as safetensors and as pytorch_model.bin:
# this build (/work/main) and the one before the .bin loader change (/work/wt-old), interleaved, two rounds.
set -u
for round in 1 2; do
  for build in main old; do
    for folder in /tmp/flagship /tmp/flagship-bin; do
      [ $build = old ] && [ $folder = /tmp/flagship ] && continue
      dir=/work/$([ $build = main ] && echo main || echo wt-old)
      out=/tmp/binmem-$build-$(basename $folder)-$round
      /usr/bin/time -f "%M KB %e s" -o $out.time $dir/mha2mla benchmark --model $folder --seconds 2 --threads 1 --warmup 1 --repeats 3 --no-ceilings --out $out.json > $out.log 2>&1
      echo "round $round $build $(basename $folder): $(cat $out.time | tail -1) load $(cut -d' ' -f1 /proc/loadavg) rc-log: $(grep -m1 -i 'error\|exception' $out.log)"
    done
  done
done
