#!/usr/bin/env bash
# Builds the Go and C game-server examples and runs each against a real nats-server and a real
# engine (cairn serve), both on their own free ports with their own store, and stopped afterwards
# whatever happens. Fails if a build or an example fails.
#
#   bash examples/run.sh                          # every example on the solo and the team hunt files
#   bash examples/run.sh FILE...                  # on these hunt files instead
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
say() { echo "--- $* ($(($(date +%s) - start))s)"; }

if [ $# -gt 0 ]; then
  hunts=("$@")
else
  hunts=(examples/hunts/solo-chain.json examples/hunts/team-hunt.json)
fi

missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ -d "${EXAMPLES_GOPATH:-/usr/share/gocode}/src/github.com/nats-io/nats.go" ] || missing+=(golang-github-nats-io-go-nats-dev)
command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || missing+=(gcc make)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists libnats 2>/dev/null || missing+=(libnats-dev)
pkg-config --exists jansson 2>/dev/null || missing+=(libjansson-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "examples: missing ${missing[*]}: install them (Debian: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
nats_server=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
[ -x "$nats_server" ] || { echo "examples: nats-server is missing (Debian: sudo apt-get install nats-server)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-examples.XXXXXX")
nats_pid=""
engine_pid=""
# Stops what this script started, in order (the engine first, so it hands nothing to a dead
# server), waiting for each to exit; then removes the store. Runs on every exit.
stop() {
  local status=$?
  for pid in $engine_pid $nats_pid; do
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM

say "building"
# Go in GOPATH mode against Debian's packaged sources: no module download. With network access,
# `go build` in examples/go (module mode, go.mod) builds the same program.
[ -n "${GOCACHE:-}" ] || [ -n "${HOME:-}" ] || export GOCACHE="$work/go-cache"
export GO111MODULE=off GOPATH="${EXAMPLES_GOPATH:-/usr/share/gocode}"
go vet ./examples/go
go test ./examples/go
go build -o "$work/go-example" ./examples/go
make -s -C examples/c OUT="$work/c-example" TEST="$work/c-board-test" "$work/c-example" check

free_port() { node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
nats_port=$(free_port)
metrics_port=$(free_port)
nats_url="nats://127.0.0.1:$nats_port"

# Waits up to 30 s for a check, failing with the process's log if the process exits first.
await() {
  local what=$1 pid=$2 log=$3
  shift 3
  for _ in $(seq 1 300); do
    if "$@" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "examples: $what exited before it was ready:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "examples: $what not ready after 30 s:" >&2
  cat "$log" >&2
  exit 1
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1"); }
healthy() {
  exec 3<>"/dev/tcp/127.0.0.1/$metrics_port" || return 1
  printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3
  head -1 <&3 | grep -q ' 200 '
}

say "starting nats-server on $nats_url"
"$nats_server" -js -a 127.0.0.1 -p "$nats_port" -sd "$work/nats" >"$work/nats.log" 2>&1 &
nats_pid=$!
await nats-server "$nats_pid" "$work/nats.log" listening "$nats_port"

say "starting the engine (cairn serve --nats $nats_url)"
node --max-semi-space-size=32 bin/cairn.js serve --nats "$nats_url" --metrics-port "$metrics_port" \
  --log-level warn >"$work/engine.log" 2>&1 &
engine_pid=$!
await "the engine" "$engine_pid" "$work/engine.log" healthy

failed=()
for lang in go c; do
  for file in "${hunts[@]}"; do
    hunt="$lang-$(basename "$file" .json)"
    say "$lang example on $file (hunt $hunt)"
    if timeout 90 "$work/$lang-example" -nats "$nats_url" -hunt "$hunt" "$file"; then
      :
    else
      echo "examples: the $lang example failed on $file (exit $?)" >&2
      failed+=("$lang:$file")
    fi
  done
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "--- the engine's log:" >&2
  cat "$work/engine.log" >&2
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "every example passed (${#hunts[@]} hunt file(s), Go and C)"
