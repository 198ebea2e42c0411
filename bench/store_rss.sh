#!/usr/bin/env bash
# Resident memory after N sessions (100,000 by default) for each session store: the release
# server (WORKERS=1, RUST_LOG=warn, otherwise shipped settings, so the SQLite and Redis stores
# keep their default read cache of STORE_CACHE_SIZE=100000) against a release opentok-mock
# with no latency, all on 127.0.0.1. wrk (1 thread, CONNS connections) sends POST /session until
# N answers came back, then the script reads VmRSS and VmHWM from /proc/PID/status. For Redis it
# also reads `MEMORY USAGE` of one session key and `used_memory` before and after; for SQLite,
# the size of the database and its WAL.
#
#   bash bench/store_rss.sh          # needs a Redis at REDIS_URL (redis://127.0.0.1:6379)
#
# Knobs: SESSIONS (100000), CONNS (64), STORES ("memory sqlite redis"), BUDGET_SECS per wrk run
# (180), STORE_CACHE_SIZE (unset: the default). Nothing is built here: build release first.
# Every process it starts is stopped by PID; its Redis keys (a prefix of their own) and the
# SQLite files are deleted on exit. Results: stdout and bench/out/store_rss.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/bench/out"
RUN="$OUT/store_rss"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SERVER_BIN="${SERVER_BIN:-$TARGET/release/tiny-opentok-server}"
MOCK_BIN="${MOCK_BIN:-$TARGET/release/opentok-mock}"
SESSIONS="${SESSIONS:-100000}"
CONNS="${CONNS:-64}"
STORES="${STORES:-memory sqlite redis}"
BUDGET_SECS="${BUDGET_SECS:-180}"
REDIS_HOSTPORT="${REDIS_HOSTPORT:-127.0.0.1:6379}"
PREFIX="rssbench-$$:"
DB="$RUN/sessions.db"

log() { printf '[store_rss %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}

PIDS=()
rcli() { redis-cli -h "${REDIS_HOSTPORT%:*}" -p "${REDIS_HOSTPORT#*:}" "$@"; }
drop_keys() { rcli --scan --pattern "${PREFIX}*" | xargs -r -n 1000 redis-cli -h "${REDIS_HOSTPORT%:*}" -p "${REDIS_HOSTPORT#*:}" del >/dev/null; }
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
    if [[ " $STORES " == *" redis "* ]]; then drop_keys || log "could not delete the keys under $PREFIX"; fi
    rm -f "$DB" "$DB-wal" "$DB-shm"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop() {
    local pid="$1" keep=() p
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${PIDS[@]}"; do [[ "$p" == "$pid" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

for tool in wrk curl python3; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
[[ " $STORES " != *" redis "* ]] || command -v redis-cli >/dev/null || die "redis-cli is not installed"
for bin in "$SERVER_BIN" "$MOCK_BIN"; do [[ -x "$bin" ]] || die "$bin is missing (build release first)"; done
mkdir -p "$RUN"
rm -f "$DB" "$DB-wal" "$DB-shm"

kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
used_memory() { rcli info memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }

API_KEY=47000001
API_SECRET="$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"
RUST_LOG=warn "$MOCK_BIN" --addr 127.0.0.1:0 --api-key "$API_KEY" --api-secret "$API_SECRET" \
    --latency-ms 0 >"$RUN/mock.stdout" 2>"$RUN/mock.log" &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
for _ in $(seq 1 100); do
    MOCK_URL="$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$RUN/mock.stdout" 2>/dev/null || true)"
    [[ -z "$MOCK_URL" ]] || break
    sleep 0.1
done
[[ -n "$MOCK_URL" ]] || die "the mock did not come up"

ROWS=()
for store in $STORES; do
    case "$store" in
        memory) url=memory ;;
        sqlite) url="sqlite://$DB" ;;
        redis) url="redis://$REDIS_HOSTPORT" ;;
        *) die "unknown store $store (memory, sqlite, redis)" ;;
    esac
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    extra=()
    [[ -z "${STORE_CACHE_SIZE:-}" ]] || extra+=(STORE_CACHE_SIZE="$STORE_CACHE_SIZE")
    (cd "$ROOT" && exec env RUST_LOG=warn HOST=127.0.0.1 PORT="$port" WORKERS=1 OPENTOK_KEY="$API_KEY" \
        OPENTOK_SECRET="$API_SECRET" OPENTOK_API_URL="$MOCK_URL" SESSION_STORE="$url" \
        STORE_KEY_PREFIX="$PREFIX" "${extra[@]}" "$SERVER_BIN") >"$RUN/$store.stdout" 2>"$RUN/$store.log" &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || die "$store: the server exited (see $RUN/$store.log)"
        sleep 0.1
    done
    # One session first, so that the baseline includes the store's connection and first write.
    curl -fsS -o /dev/null --max-time 5 -X POST -H 'content-type: application/json' \
        -d '{"mediaMode":"routed"}' "http://127.0.0.1:$port/session" || die "$store: POST /session failed"
    rss0="$(kib "$pid" VmRSS)"
    [[ "$store" != redis ]] || mem0="$(used_memory)"
    log "$store: pid $pid, VmRSS $(mib "$rss0") MiB; creating $SESSIONS sessions"
    t0="$(date +%s%N)"
    BENCH_BODY='{"mediaMode":"routed"}' BENCH_COUNT="$SESSIONS" timeout "$((BUDGET_SECS + 10))" \
        wrk -t1 -c"$CONNS" --timeout 5s -d"${BUDGET_SECS}s" -s "$ROOT/bench/wrk/count.lua" \
        "http://127.0.0.1:$port/session" >"$RUN/$store.wrk" 2>&1 || true
    t1="$(date +%s%N)"
    line="$(grep -m1 '^COUNT ' "$RUN/$store.wrk")" ||
        die "$store: $SESSIONS answers did not come back within ${BUDGET_SECS} s (see $RUN/$store.wrk)"
    declare -A r=()
    for kv in ${line#COUNT }; do r[${kv%%=*}]="${kv#*=}"; done
    created="${r[created]}"
    errors=$((r[responses] - created))
    ((errors == 0)) || log "$store: $errors answers other than 201"
    rss1="$(kib "$pid" VmRSS)"
    hwm="$(kib "$pid" VmHWM)"
    rate="$(awk -v n="${r[responses]}" -v d="$((t1 - t0))" 'BEGIN { printf "%.0f", n / (d / 1e9) }')"
    per="$(awk -v a="$rss0" -v b="$rss1" -v n="$created" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
    note=""
    case "$store" in
        sqlite)
            bytes=$(($(stat -c %s "$DB") + $(stat -c %s "$DB-wal" 2>/dev/null || echo 0)))
            note="file + WAL $(mib $((bytes / 1024))) MiB" ;;
        redis)
            mem1="$(used_memory)"
            key="$(rcli --scan --pattern "${PREFIX}s:*" | awk 'NR == 1')"
            usage="$(rcli memory usage "$key")"
            keys="$(rcli --scan --pattern "${PREFIX}s:*" | wc -l)"
            grow="$(awk -v a="$mem0" -v b="$mem1" -v n="$keys" 'BEGIN { printf "%.0f", (b - a) / n }')"
            note="MEMORY USAGE of one key ${usage} B (key of ${#key} characters); used_memory +$(mib $(((mem1 - mem0) / 1024))) MiB over $keys keys = $grow B/session" ;;
    esac
    ROWS+=("| $store | $created | $errors | $rate | $(mib "$rss0") MiB | $(mib "$rss1") MiB | $(mib "$hwm") MiB | $per B | $note |")
    log "$store: $created created ($errors errors, $rate req/s), VmRSS $(mib "$rss1") MiB, VmHWM $(mib "$hwm") MiB. $note"
    stop "$pid"
done

{
    echo "Sessions per store: $SESSIONS requested, wrk -t1 -c$CONNS; $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
    echo "| store | sessions created | errors | req/s | VmRSS before | VmRSS after | VmHWM | RSS growth per session | notes |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/store_rss.md"
