#!/usr/bin/env bash
# ./dev bench: the reference server's throughput on loopback with wrk, next to a static file
# served by the same process for scale. Prints a table; nothing here is a pass/fail test.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE_DIR="${JOBWIRE_CACHE_DIR:-$HOME/.cache/jobwire}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE_DIR/target}"
CARGO="${NATIVE_CARGO:-$HOME/.cargo/bin/cargo}"
DURATION="${JOBWIRE_BENCH_SECONDS:-10}"
CONNECTIONS="${JOBWIRE_BENCH_CONNECTIONS:-64}"
API_KEY=demo-api-key-0123456789abcdef
SECRET_KEY=demo-secret-key-do-not-use-in-production

if ! command -v wrk >/dev/null 2>&1; then
  echo "== bench: apt-get install wrk"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
fi
echo "== bench: cargo build --profile server (server, signer)"
"$CARGO" build --profile server -q -p jobwire-server -p jobwire-e2e --bin jobwire-server --bin jobwire-sign
BIN="$CARGO_TARGET_DIR/server"

LOG="$(mktemp)"
RUST_LOG=jobwire_server=warn "$BIN/jobwire-server" --listen 127.0.0.1:0 --dist "$ROOT/dist" --job-duration-ms 3600000 >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$LOG" && break; sleep 0.1; done
BASE="$(grep -o 'listening on http://[^/]*' "$LOG" | sed 's/listening on //')"
API="$BASE/client/api"

sign() { "$BIN/jobwire-sign" "$API" "$API_KEY" "$SECRET_KEY" "$@"; }
DEPLOY="$(sign deployVirtualMachine zoneid=a1f2c3d4-0000-4000-8000-000000000001 \
  serviceofferingid=b1f2c3d4-0000-4000-8000-000000000001 templateid=c1f2c3d4-0000-4000-8000-000000000001)"
JOB_ID="$(curl -sf -X POST "$DEPLOY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["deployvirtualmachineresponse"]["jobid"])')"
QUERY="$(sign queryAsyncJobResult "jobid=$JOB_ID")"
curl -sf "$QUERY" | grep -q '"jobstatus":0' || { echo "bench: the job query does not answer pending" >&2; exit 1; }

run_wrk() { # label url [extra wrk args...]
  local label="$1" url="$2"; shift 2
  local out
  out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url")"  # later -c wins
  local rps p50 p99 errors
  rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  p50="$(echo "$out" | awk '$1=="50%" {print $2}')"
  p99="$(echo "$out" | awk '$1=="99%" {print $2}')"
  errors="$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')"
  printf '| %-44s | %12s | %8s | %8s | %s\n' "$label" "$rps" "$p50" "$p99" "${errors:-none}"
}

echo
echo "wrk: 2 threads, $CONNECTIONS connections, ${DURATION} s each, server and wrk on the same 2 cores"
printf '| %-44s | %12s | %8s | %8s | %s\n' "request" "requests/s" "p50" "p99" "errors"
printf '|%s|%s|%s|%s|%s\n' "----------------------------------------------" "--------------" "----------" "----------" "------"
run_wrk "GET /index.html (static file, for scale)" "$BASE/index.html"
run_wrk "queryAsyncJobResult (signed, pending job)" "$QUERY"
# Thousands of held long-polls: each connection's request is held 2 s by `Prefer: wait=2`
# (the job stays pending), so ~connections/2 answers per second, all on a few tokio tasks.
HELD="${JOBWIRE_BENCH_HELD:-2000}"
ulimit -n $((HELD + 1024)) 2>/dev/null || true
run_wrk "queryAsyncJobResult, $HELD held (Prefer: wait=2)" "$QUERY" -c"$HELD" -H "Prefer: wait=2" --timeout 10s
echo "(held long-polls: expect ≈ $((HELD / 2)) requests/s with p50 ≈ 2 s; more means requests were not held, errors mean exhaustion)"
