#!/bin/sh
# Starts the local 3-node cluster (node-1..3.conf) in the foreground; Ctrl-C stops all three.
# Run from the repository root: the store directories (.cairn/cluster/n1..n3) are relative to it.
set -eu
dir=$(dirname "$0")
bin=${NATS_SERVER_BIN:-nats-server}
pids=""
trap 'kill $pids 2>/dev/null; wait' INT TERM EXIT
for i in 1 2 3; do
  "$bin" -c "$dir/node-$i.conf" &
  pids="$pids $!"
done
echo "cluster up: nats://127.0.0.1:4231,nats://127.0.0.1:4232,nats://127.0.0.1:4233 (Ctrl-C stops it)" >&2
wait
