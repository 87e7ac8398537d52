#!/bin/bash
# Two ranks that meet at this machine's network address instead of loopback, as ranks on two machines would:
# the store at ADDRESS:PORT, Gloo's device from GLOO_SOCKET_IFNAME=IFACE. The same run over loopback and in one
# process; the trained weights are then compared (compare.py). Each rank one thread, global batch 8, 12 updates.
# Usage: nic.sh CORPUS OUT_DIR ADDRESS IFACE PYTHON   (PYTHON: an interpreter with safetensors and numpy)
set -u
corpus=$1 out=$2 address=$3 iface=$4 python=$5
here=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$out"
args=(finetune --model "$here/models/conformer-small-synthetic" --train "$corpus/train" --valid "$corpus/validation"
  --max-steps 12 --eval-every 6 --batch-size 8 --threads 1 --timeout 2m)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])'; }
two_ranks() {  # name, store address, extra environment
  local name=$1 master=$2 port
  port=$(free_port)
  rm -rf "$out/$name"
  env ${3:-} "$here/mha2mla" "${args[@]}" --out "$out/$name" --world-size 2 --rank 0 --master "$master:$port" \
    > "$out/$name-rank0.log" 2>&1 &
  local r0=$!
  env ${3:-} "$here/mha2mla" "${args[@]}" --out "$out/$name" --world-size 2 --rank 1 --master "$master:$port" \
    > "$out/$name-rank1.log" 2>&1 &
  local r1=$!
  # the connections the two ranks hold while they run (store and Gloo pairs: local and remote address), every second
  : > "$out/$name-connections.txt"
  while kill -0 $r0 2>/dev/null || kill -0 $r1 2>/dev/null; do
    ss -tnp | grep java | awk '{print $4, "->", $5}' >> "$out/$name-connections.txt"
    sleep 1
  done
  sort -u -o "$out/$name-connections.txt" "$out/$name-connections.txt"
  wait $r0; echo "$name rank 0 exit $?"
  wait $r1; echo "$name rank 1 exit $?"
}
two_ranks nic "$address" "GLOO_SOCKET_IFNAME=$iface"
two_ranks loopback 127.0.0.1
rm -rf "$out/single"
"$here/mha2mla" "${args[@]}" --out "$out/single" > "$out/single.log" 2>&1; echo "single exit $?"
"$python" "$(dirname "$0")/compare.py" "$out/nic" "$out/loopback" "$out/single" | tee "$out/compare.txt"
# the model folders (40 MB) are not kept: the logs, connections and comparison are the result
rm -rf "$out/nic" "$out/loopback" "$out/single"
