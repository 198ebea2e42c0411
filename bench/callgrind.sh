#!/usr/bin/env bash
# Instructions per request (callgrind): a figure that the machine's noise does not move, to compare
# two builds of the server.
#
#   bash bench/callgrind.sh                                       # the build in target/release
#   BASELINE_BIN=/work/baseline-bin/tiny-opentok-server bash bench/callgrind.sh
#
# Method: the server runs under `valgrind --tool=callgrind` with one worker (WORKERS=1) and the
# shipped log level (RUST_LOG unset, so info; its logs go to a file), against a release opentok-mock
# on 127.0.0.1 with no latency. A Python client outside valgrind (bench/callgrind_client.py) sends
# sequential requests on one keep-alive connection: LAST token requests (POST /session/{id}/access),
# then LAST session creations (POST /session). At FIRST and LAST requests of each it has callgrind
# dump its counters (`callgrind_control --dump`); a dump holds the instructions of all threads since
# the previous one, so the Ir at a checkpoint is the sum of the dumps so far, and
# Ir per request = (Ir after LAST - Ir after FIRST) / (LAST - FIRST).
# When BASELINE_BIN is set, that binary is measured the same way in the same run, and the table
# gives the ratio new/baseline for both routes. Each binary is measured REPEAT times, each time in a
# fresh process (alternating new, baseline, new, ...); the table gives the median and the range over
# them. Single processes scatter by a few tenths of a percent, mostly in the runtime's timer and
# park work (tokio's timer wheel, epoll turns: how requests and timers interleave), a little in
# SHA-1 (the token's data length varies with its nonce and times). Results: stdout and
# bench/out/callgrind.md.
#
# Each server runs in the directory that holds the config/ it reads: the binary's own directory when
# a config/ is beside it (as in /work/baseline-bin, so that an old binary is not handed keys of a
# newer config/default.toml that it would refuse), else this work tree. Its environment is cleared
# but for PATH and the settings below, so nothing from the caller's shell (RUST_LOG, API_KEYS, ...)
# leaks in.
#
# Knobs (environment): SERVER_BIN (target/release/tiny-opentok-server under CARGO_TARGET_DIR or
# ./target), BASELINE_BIN (unset: measure ours only), MOCK_BIN (target/release/opentok-mock),
# REPEAT (3), FIRST (500), LAST (2500), ACCESS_BODY ({"role":"publisher","data":"name=bench"}),
# BUDGET_SECS (900: a watchdog stops the run), SERVER_ENV and BASELINE_ENV (space-separated NAME=VALUE
# settings for ours and the baseline, e.g. SERVER_ENV=SESSION_STORE=redis://127.0.0.1:6379 with the
# same binary as both, to price a session store). Nothing is built here: build release first.
#
# Every process this script starts is recorded by PID and stopped on exit, error or signal.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
OUT="$BENCH/out"
RUN="$OUT/callgrind"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

SERVER_BIN="${SERVER_BIN:-$TARGET/release/tiny-opentok-server}"
BASELINE_BIN="${BASELINE_BIN:-}"
MOCK_BIN="${MOCK_BIN:-$TARGET/release/opentok-mock}"
REPEAT="${REPEAT:-3}"
FIRST="${FIRST:-500}"
LAST="${LAST:-2500}"
DEFAULT_ACCESS_BODY='{"role":"publisher","data":"name=bench"}'
ACCESS_BODY="${ACCESS_BODY:-$DEFAULT_ACCESS_BODY}"
SESSION_BODY='{"mediaMode":"routed"}'
BUDGET_SECS="${BUDGET_SECS:-900}"

log() { printf '[callgrind %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}

# ---------------------------------------------------------------- processes, stopped by PID only
PIDS=()
# forget PID: drops an exited (and reaped) process from PIDS, so that its number, once reused by
# some other process, is never signalled.
forget() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
# stop PID [SECS]: SIGTERM, up to SECS (10) for it to go, then SIGKILL; reaps it and forgets it.
stop() {
    local pid="$1" secs="${2:-10}"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((secs * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIGTERM for $secs s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    forget "$pid"
}
cleanup() {
    local i
    # Newest first (the client before its server, the watchdog last).
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop "${PIDS[i]}" 5; done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# wait_url NAME FILE PID SECS: the URL from the process's `listening on http://...` line.
wait_url() {
    local name="$1" file="$2" pid="$3" secs="$4" url
    for _ in $(seq 1 $((secs * 10))); do
        url="$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$file" 2>/dev/null || true)"
        if [[ -n "$url" ]]; then
            echo "$url"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    log "$name did not come up; see $file and the logs beside it"
    die "$name did not come up"
}

# abs PATH: the absolute path of an existing executable.
abs() {
    [[ -x "$1" ]] || die "$1 is missing or not executable (build release first: cargo build --release -p tiny-opentok-server -p opentok-mock)"
    realpath "$1"
}

# describe BIN: path, size and the start of its sha256, so that a report names the binary it measured.
describe() { printf '%s (%s bytes, sha256 %s)' "$1" "$(stat -c %s "$1")" "$(sha256sum "$1" | cut -c1-12)"; }

# ---------------------------------------------------------------- checks
for tool in valgrind callgrind_control python3 curl realpath sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is not installed (valgrind: apt-get install -y valgrind)"
done
if ! [[ "$FIRST" =~ ^[0-9]+$ && "$LAST" =~ ^[0-9]+$ ]] || ((FIRST < 1 || FIRST >= LAST)); then
    die "need 0 < FIRST < LAST (got $FIRST, $LAST)"
fi
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a positive integer (got $REPEAT)"
SERVER_BIN="$(abs "$SERVER_BIN")"
MOCK_BIN="$(abs "$MOCK_BIN")"
[[ -z "$BASELINE_BIN" ]] || BASELINE_BIN="$(abs "$BASELINE_BIN")"

mkdir -p "$OUT"
rm -rf "$RUN"
mkdir -p "$RUN"

# The watchdog bounds the whole run; it is one of our PIDs, so it dies with the run.
(
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "$BUDGET_SECS" &
    nap=$!
    wait "$nap"
    echo "[callgrind] over the ${BUDGET_SECS}s budget; stopping" >&2
    kill -TERM $$
) &
PIDS+=($!)

# callgrind_control reaches valgrind through vgdb's FIFOs, named after the user and host as each side
# reads them from its environment (LOGNAME or USER, HOST or HOSTNAME): the server's HOST=127.0.0.1
# is in valgrind's, so callgrind_control is given the same values, or it talks to nobody and
# still prints "OK".
VG_USER="$(id -un)"

API_KEY=47000001
API_SECRET="$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# ---------------------------------------------------------------- the mock, native
RUST_LOG=warn "$MOCK_BIN" --addr 127.0.0.1:0 --api-key "$API_KEY" --api-secret "$API_SECRET" \
    --latency-ms 0 >"$RUN/mock.stdout" 2>"$RUN/mock.log" &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
MOCK_URL="$(wait_url opentok-mock "$RUN/mock.stdout" "$MOCK_PID" 30)"
log "mock at $MOCK_URL, pid $MOCK_PID"

# measure NAME BIN: one server process under callgrind, both routes; leaves its dumps in
# $RUN/callgrind.out.NAME.PID.N, the client's window times in $RUN/NAME.wall, and appends
# NAME=callgrind.out.NAME.PID. (the common start of the dumps' names) to SPECS.
SPECS=()
measure() {
    local name="$1" bin="$2" cwd="$ROOT" pid url sid f="$RUN/$1"
    [[ -d "$(dirname "$bin")/config" ]] && cwd="$(dirname "$bin")"
    log "$name: $bin (config from $cwd/config)"
    # --separate-threads=no (the default, written out): each dump sums the counts of all threads.
    local extra=()
    if [[ "$name" == baseline* ]]; then read -ra extra <<<"${BASELINE_ENV:-}"; else read -ra extra <<<"${SERVER_ENV:-}"; fi
    (cd "$cwd" && exec env -i PATH="$PATH" LOGNAME="$VG_USER" USER="$VG_USER" HOST=127.0.0.1 PORT=0 WORKERS=1 \
        OPENTOK_KEY="$API_KEY" OPENTOK_SECRET="$API_SECRET" OPENTOK_API_URL="$MOCK_URL" "${extra[@]}" \
        valgrind --tool=callgrind --separate-threads=no --log-file="$f.valgrind.log" \
        --callgrind-out-file="$RUN/callgrind.out.$name.%p" "$bin") >"$f.stdout" 2>"$f.log" &
    pid=$!
    PIDS+=("$pid")
    url="$(wait_url "$name" "$f.stdout" "$pid" 120)"
    log "$name under callgrind at $url, pid $pid"

    curl -fsS --max-time 60 -X POST -H 'content-type: application/json' -d "$SESSION_BODY" \
        -o "$f.session.json" "$url/session" || die "$name: POST /session failed"
    sid="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$f.session.json")"

    client "$url" "/session/$sid/access" "$ACCESS_BODY" "$pid" access "$RUN/callgrind.out.$name.$pid." >"$f.wall"
    client "$url" /session "$SESSION_BODY" "$pid" session "$RUN/callgrind.out.$name.$pid." >>"$f.wall"
    # The server finishes in-flight work and valgrind writes its last dump; both take a moment.
    stop "$pid" 60
    SPECS+=("$name=callgrind.out.$name.$pid.")
}

# client URL PATH BODY PID LABEL DUMP_PREFIX: LAST sequential requests with dumps at FIRST and LAST
# (each checked to have appeared as a new DUMP_PREFIX* file); in the
# background and waited for, so that a signal is handled at once, and tracked by PID.
client() {
    local cpid
    log "$5: $LAST requests, dumps at $FIRST and $LAST"
    LOGNAME="$VG_USER" USER="$VG_USER" HOST=127.0.0.1 python3 "$BENCH/callgrind_client.py" \
        "$1" "$2" "$3" "$LAST" "$4" "$5" "$6" "$FIRST" "$LAST" &
    cpid=$!
    PIDS+=("$cpid")
    if ! wait "$cpid"; then
        forget "$cpid"
        die "the $5 client failed (server log: $RUN/*.log)"
    fi
    forget "$cpid"
}

for r in $(seq 1 "$REPEAT"); do
    measure "new-$r" "$SERVER_BIN"
    [[ -z "$BASELINE_BIN" ]] || measure "baseline-$r" "$BASELINE_BIN"
done
stop "$MOCK_PID"

# ---------------------------------------------------------------- report
STAMP="$(date -u '+%Y-%m-%d %H:%M UTC')"
GIT_REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
VG_VERSION="$(valgrind --version)"
NEW_DESC="$(describe "$SERVER_BIN")"
BASE_DESC="$([[ -z "$BASELINE_BIN" ]] || describe "$BASELINE_BIN")"
export STAMP GIT_REV VG_VERSION NEW_DESC BASE_DESC REPEAT
python3 "$BENCH/callgrind_report.py" "$RUN" "$FIRST" "$LAST" "${SPECS[@]}" >"$OUT/callgrind.md" ||
    die "could not read the dumps in $RUN"
cat "$OUT/callgrind.md"
