#!/usr/bin/env bash
# Soak run (not a CI test): the release server under 256 connections of mixed traffic for 60 s
# against opentok-mock, on 127.0.0.1 only. Passes with 0 errors; reports resident memory at the
# start and end of the run, and its peak. Every process it starts is stopped by PID.
#
#   bash bench/soak.sh                 # CONNS=256 DURATION=60 by default
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/bench/out"
CONNS="${CONNS:-256}"
DURATION="${DURATION:-60}"
mkdir -p "$OUT"

log() { printf '[soak %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for tool in cargo wrk curl python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed (wrk: apt-get install -y wrk)"
done

log "building release binaries"
(cd "$ROOT" && cargo build --release -q -p tiny-opentok-server -p opentok-mock)

# listening_url FILE PID: waits for the process's `listening on http://...` line.
listening_url() {
    for _ in $(seq 1 300); do
        url="$(sed -n 's/^listening on //p' "$1" | head -n 1)"
        [[ -n "$url" ]] && { echo "$url"; return 0; }
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    die "process $2 did not start; see $1"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rss_kib() { awk "/^$2:/ { print \$2 }" "/proc/$1/status"; }

KEY=47000002
SECRET="$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"
RUST_LOG=warn "$ROOT/target/release/opentok-mock" --addr 127.0.0.1:0 --api-key "$KEY" \
    --api-secret "$SECRET" >"$OUT/soak-mock.stdout" 2>"$OUT/soak-mock.log" &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
MOCK_URL="$(listening_url "$OUT/soak-mock.stdout" "$MOCK_PID")"

RUST_LOG=warn HOST=127.0.0.1 PORT=0 OPENTOK_KEY="$KEY" OPENTOK_SECRET="$SECRET" \
    OPENTOK_API_URL="$MOCK_URL" "$ROOT/target/release/tiny-opentok-server" \
    >"$OUT/soak-server.stdout" 2>"$OUT/soak-server.log" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
URL="$(listening_url "$OUT/soak-server.stdout" "$SERVER_PID")"
URL="${URL/0.0.0.0/127.0.0.1}"

SESSION="$(curl -fsS -X POST "$URL/session" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
log "server pid $SERVER_PID at $URL; session $SESSION; $CONNS connections for ${DURATION}s"

# A short warm-up so the start figure is the steady state, not the empty process.
wrk -t2 -c"$CONNS" -d3s -s "$ROOT/bench/wrk/soak.lua" "$URL" -- "$SESSION" >/dev/null
RSS_START="$(rss_kib "$SERVER_PID" VmRSS)"

# Samples resident memory every 5 s during the run; one of our PIDs, stopped at exit.
(while kill -0 "$SERVER_PID" 2>/dev/null; do rss_kib "$SERVER_PID" VmRSS; sleep 5; done) \
    >"$OUT/soak-rss.txt" &
PIDS+=($!)

wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$ROOT/bench/wrk/soak.lua" \
    "$URL" -- "$SESSION" | tee "$OUT/soak-wrk.txt"
RSS_END="$(rss_kib "$SERVER_PID" VmRSS)"
RSS_PEAK="$(rss_kib "$SERVER_PID" VmHWM)"
kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during the run"

line="$(grep '^SOAK ' "$OUT/soak-wrk.txt")"
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$line"; }
REQUESTS="$(field requests)"
ERRORS=$(( $(field non2xx) + $(field socket_errors) ))
RPS=$(( REQUESTS / DURATION ))
{
    echo "| connections | duration | requests | req/s | sessions created | errors | p50 | p99 | RSS start | RSS end | RSS peak |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '| %s | %s s | %s | %s | %s | %s | %s µs | %s µs | %s MiB | %s MiB | %s MiB |\n' \
        "$CONNS" "$DURATION" "$REQUESTS" "$RPS" "$(field creates)" "$ERRORS" \
        "$(field p50_us)" "$(field p99_us)" \
        "$(mib "$RSS_START")" "$(mib "$RSS_END")" "$(mib "$RSS_PEAK")"
    echo
    echo "RSS samples every 5 s (KiB): $(tr '\n' ' ' <"$OUT/soak-rss.txt")"
} | tee "$OUT/soak.md"
[[ "$ERRORS" == 0 ]] || die "$ERRORS errors during the soak"
log "passed: 0 errors"
