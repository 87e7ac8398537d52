#!/bin/bash
# Two ranks on two emulated machines: network namespaces host-a (198.18.0.1) and host-b (198.18.0.2), each with its
# own host name, process ids, and a disk of its own at the run's path (host-b's --out is an empty folder bind-mounted
# over it), joined by a veth link that tc's token bucket can slow to a given rate. Needs root, ip, tc, unshare.
#
#   same       two ranks train as one process does (rank 1's disk stays empty)
#   evaluate   two ranks score the training set; the report equals one process's
#   killed     kill -9 of rank 1 on host-b; both ranks resume (host-b's disk still empty) and end with the bits of an
#              uninterrupted two-host run
#   hang       SIGSTOP of rank 1; rank 0 stops after --timeout; rank 1, continued, finds it gone
#   partition  host-b's link goes down mid-run (packets dropped, no reset); both ranks stop within --timeout; the link
#              back up, the run resumes and ends with the uninterrupted bits
#   allreduce  the gradient all-reduce of the shipped and a flagship-size model over the link at full speed, 10 and
#              1 Gbit/s
#
# Usage: two-hosts.sh CORPUS OUT_DIR PYTHON [FLAGSHIP_FOLDER]   (PYTHON: an interpreter with safetensors and numpy)
set -u
corpus=$1 out=$2 python=$3 flagship=${4:-}
here=$(cd "$(dirname "$0")/../../.." && pwd)
results=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=/tmp/mha2mla-two-hosts
rm -rf "$work"; mkdir -p "$work/run" "$work/disk-b"
cp="$here/benchmarks/target/classes:$(cat "$here/benchmarks/target/classpath.txt")"

hosts_down() {
  for h in a b; do ip netns del mha2mla-$h 2>/dev/null; rm -rf /etc/netns/mha2mla-$h; done
  return 0
}
hosts_up() {
  hosts_down
  for h in a b; do
    ip netns add mha2mla-$h
    mkdir -p /etc/netns/mha2mla-$h
    echo host-$h > /etc/netns/mha2mla-$h/hostname
    printf '127.0.0.1 localhost\n198.18.0.1 host-a\n198.18.0.2 host-b\n' > /etc/netns/mha2mla-$h/hosts
    ip -n mha2mla-$h link set lo up
  done
  ip link add eth-a netns mha2mla-a type veth peer name eth-b netns mha2mla-b
  ip -n mha2mla-a addr add 198.18.0.1/24 dev eth-a
  ip -n mha2mla-b addr add 198.18.0.2/24 dev eth-b
  ip -n mha2mla-a link set eth-a up
  ip -n mha2mla-b link set eth-b up
}
trap hosts_down EXIT
# link RATE: both directions limited to RATE (e.g. 1gbit), or "full" for the veth's own speed
link() {
  for h in a b; do
    ip netns exec mha2mla-$h tc qdisc del dev eth-$h root 2>/dev/null
    if [ "$1" != full ]; then
      local bits=$(numfmt --from=si "$(echo "${1%bit}" | tr a-z A-Z)")
      ip netns exec mha2mla-$h tc qdisc add dev eth-$h root tbf rate "$1" burst $((bits / 8 / 100)) latency 100ms
    fi
  done
}
# on HOST COMMAND...: run with that host's network, host name and process ids; host b sees its own empty disk at
# $work/run
on() {
  local h=$1; shift
  ip netns exec mha2mla-$h unshare --uts --pid --fork --mount-proc sh -c '
    hostname "$(cat /etc/hostname)"
    if [ "$(hostname)" = host-b ]; then mount --bind '"$work/disk-b $work/run"'; fi
    exec env GLOO_SOCKET_IFNAME=eth-${0#host-} "$@"' "host-$h" "$@"
}
port=29500
args=(finetune --model "$here/models/conformer-small-synthetic" --train "$corpus/train" --valid "$corpus/validation"
  --batch-size 8 --threads 1 --max-steps 24 --eval-every 8 --checkpoint-every 2 --timeout 30s)
# start NAME: both ranks in the background, logs NAME-rank{0,1}.log, pids in r0 r1 (the launchers')
start() {
  local name=$1; shift
  port=$((port + 1))
  on a "$here/mha2mla" "${args[@]}" --out "$work/run/$name" --world-size 2 --rank 0 --master 198.18.0.1:$port "$@" \
    > "$out/$name-rank0.log" 2>&1 &
  r0=$!
  on b "$here/mha2mla" "${args[@]}" --out "$work/run/$name" --world-size 2 --rank 1 --master 198.18.0.1:$port "$@" \
    > "$out/$name-rank1.log" 2>&1 &
  r1=$!
}
# java pid (in this namespace) of the rank whose launcher pid is $1
java_of() {
  local p
  for p in $(pgrep -f "mha2mla.home"); do
    pstree -p "$1" 2>/dev/null | grep -q "($p)" && { echo "$p"; return; }
  done
}
step_of() { sed -n 's/.*"step" *: *\([0-9]*\).*/\1/p' "$work/run/$1/checkpoint/checkpoint.json" 2>/dev/null | head -1; }
await_step() {  # NAME STEP
  for _ in $(seq 1 600); do
    [ "$(step_of "$1")" ] && [ "$(step_of "$1")" -ge "$2" ] && return 0
    sleep 0.2
  done
  echo "no checkpoint of step $2 in $1"; return 1
}
seconds_since() { echo "$(date +%s.%N) - $1" | bc | xargs printf '%.1f'; }
finish() {  # NAME: wait for both ranks, print their exit codes and last error lines
  wait $r0; local c0=$?
  wait $r1; local c1=$?
  echo "$1: rank 0 exit $c0, rank 1 exit $c1"
}
last_error() { grep -h "error:" "$out/$1" | tail -1; }
stopped() {  # T0: when each rank's process ended, seconds after T0, and its exit code
  local e0="" e1=""
  while [ -z "$e0" ] || [ -z "$e1" ]; do
    [ -z "$e0" ] && ! kill -0 $r0 2>/dev/null && e0=$(seconds_since "$1")
    [ -z "$e1" ] && ! kill -0 $r1 2>/dev/null && e1=$(seconds_since "$1")
    sleep 0.1
  done
  wait $r0; echo "rank 0 exit $? after $e0 s"
  wait $r1; echo "rank 1 exit $? after $e1 s"
}

hosts_up
{
echo "# two-hosts.sh, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), build $(git -C "$here" describe --always --dirty)"

echo "## same"
start same; finish same
"$here/mha2mla" "${args[@]}" --out "$work/single" > "$out/single.log" 2>&1; echo "single exit $?"
echo "rank 1's disk after the run: $(find "$work/disk-b" -mindepth 1 | wc -l) entries"
"$python" "$results/compare.py" "$work/run/same" "$work/single"

echo "## evaluate"
eval_args=(evaluate --model "$here/models/conformer-small-synthetic" --data "$corpus/train" --threads 1 --timeout 30s)
port=$((port + 1))
on a "$here/mha2mla" "${eval_args[@]}" --out "$work/run/eval.json" --world-size 2 --rank 0 --master 198.18.0.1:$port \
  > "$out/evaluate-rank0.log" 2>&1 &
r0=$!
on b "$here/mha2mla" "${eval_args[@]}" --out "$work/run/eval.json" --world-size 2 --rank 1 --master 198.18.0.1:$port \
  > "$out/evaluate-rank1.log" 2>&1 &
r1=$!
finish evaluate
"$here/mha2mla" "${eval_args[@]}" --out "$work/eval-single.json" > "$out/evaluate-single.log" 2>&1; echo "single exit $?"
"$python" - "$work/run/eval.json" "$work/eval-single.json" <<'PY'
import json, sys
two, one = (json.load(open(f)) for f in sys.argv[1:])
same = [k for k in ("wer", "wer_ci95", "cer", "words", "characters", "audio_seconds", "utterances", "worst") if two[k] == one[k]]
print(f"two hosts: {two['utterance_count']} utterances, WER {two['wer']:.6f}; one process: WER {one['wer']:.6f}; "
      f"equal: {', '.join(same)}; different: {', '.join(k for k in ('wer', 'wer_ci95', 'cer', 'words', 'characters', 'audio_seconds', 'utterances', 'worst') if k not in same) or 'none'}")
PY

echo "## killed"
start killed; await_step killed 4
kill -9 "$(java_of $r1)"; t0=$(date +%s.%N)
wait $r0; echo "rank 0 exit $? after $(seconds_since "$t0") s, at checkpoint step $(step_of killed)"; wait $r1
echo "rank 0: $(last_error killed-rank0.log)"
start killed --resume; finish "killed, resumed"
"$python" "$results/compare.py" "$work/run/same" "$work/run/killed"

echo "## hang"
start hang; await_step hang 4
j1=$(java_of $r1); kill -STOP "$j1"; t0=$(date +%s.%N)
wait $r0; echo "rank 0 exit $? after $(seconds_since "$t0") s"
kill -CONT "$j1"; t1=$(date +%s.%N)
wait $r1; echo "rank 1 exit $? $(seconds_since "$t1") s after it was continued"
echo "rank 0: $(last_error hang-rank0.log)"
echo "rank 1: $(last_error hang-rank1.log)"

echo "## partition"
start partition; await_step partition 4
ip -n mha2mla-b link set eth-b down; t0=$(date +%s.%N)
stopped "$t0"
echo "rank 0: $(last_error partition-rank0.log)"
echo "rank 1: $(last_error partition-rank1.log)"
ip -n mha2mla-b link set eth-b up
echo "checkpoint step $(step_of partition); resuming with the link back up"
mv "$out/partition-rank0.log" "$out/partition-stop-rank0.log"; mv "$out/partition-rank1.log" "$out/partition-stop-rank1.log"
start partition --resume; finish "partition, resumed"
"$python" "$results/compare.py" "$work/run/same" "$work/run/partition"

echo "## allreduce"
for rate in full 10gbit 1gbit; do
  link $rate
  for m in "$here/models/conformer-small-synthetic" $flagship; do
    port=$((port + 1))
    on b java -cp "$cp" dev.mha2mla.benchmarks.AllReduceCost "$m" 2 9 --rank 1 198.18.0.1:$port > /dev/null 2>&1 &
    echo "link $rate: $(on a java -cp "$cp" dev.mha2mla.benchmarks.AllReduceCost "$m" 2 9 --rank 0 198.18.0.1:$port 2>&1 | tail -1)"
    wait
  done
done
link full
echo "# end $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$out/results.txt"
# the model folders are not kept: the logs and comparisons are the result
rm -rf "$work"
