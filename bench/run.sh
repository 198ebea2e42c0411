#!/usr/bin/env bash
# Load benchmark (issue #7): our server against a Node peer (Express + the official `opentok` SDK)
# and a floor (a bare actix-web route), all talking to the same opentok-mock on 127.0.0.1.
#
#   bash bench/run.sh
#
# Rig: each server under test gets core $SERVER_CPU to itself (taskset); wrk and the mock share core
# $LOAD_CPU. Our server runs with WORKERS=1, so every server has one core whatever its thread model.
# Runs are interleaved (ours, peer, floor, ours, peer, floor, ...) so that machine drift hits all
# alike, and the report gives medians over rounds. Results: stdout and bench/out/results.md.
#
# Knobs (environment): DURATION (s per run, 6), ROUNDS (3), CONNS (64), LATENCY_MS (50),
# WARMUP_SECS (2), TOKEN_FORMAT (t1 | jwt, for ours and the peer alike), LOAD_CPU (0), SERVER_CPU (1),
# BUDGET_SECS (300: a watchdog stops the run this long after the builds), SKIP_BUILD=1,
# PROFILE=1 (extra runs under `perf record`, summed up in bench/out/run/profile-*.txt; not in the table),
# SKIP_PEER=1 (no Node peer: no npm, no peer rows; quicker when comparing two builds of ours).
#
# VONAGE=1 adds phase 4, Vonage application credentials: the mock in Vonage mode, ours with VONAGE_*
# settings (RS256 client tokens), the Express + @vonage/video peer (bench/peer/vonage-server.js),
# and an anchor in the same rounds, `openssl speed -seconds 3 rsa2048` on core $SERVER_CPU: minting
# is bounded by the RSA signature, so the report gives ours' req/s over openssl's sign/s. VONAGE=only
# runs phase 4 alone (about 1.5 min with the defaults). The baseline (BASELINE_BIN) is not run there.
#
# BASELINE_BIN=/path/to/tiny-opentok-server adds a contender "baseline": that binary, run exactly as
# "ours" (shipped log level, WORKERS=1, same core) in the same interleaved rounds and phases, and the
# report puts the two side by side with their ratio and its spread over rounds. It runs in the
# directory that holds its config/: the binary's own directory when a config/ is beside it (as in
# /work/baseline-bin), else this work tree. Binaries come from target/release, or from
# $CARGO_TARGET_DIR/release when that is set. SERVER_ENV and BASELINE_ENV (space-separated NAME=VALUE)
# add settings to ours and the baseline: with the same binary as both, SERVER_ENV=SESSION_STORE=...
# prices a session store against memory.
#
# Every process this script starts is recorded by PID and stopped on exit, error or signal.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
OUT="$BENCH/out"
# Working files of the last run (logs, wrk output, raw numbers); bench/soak.sh also writes to out/.
RUN="$OUT/run"

DURATION="${DURATION:-6}"
ROUNDS="${ROUNDS:-3}"
CONNS="${CONNS:-64}"
LATENCY_MS="${LATENCY_MS:-50}"
WARMUP_SECS="${WARMUP_SECS:-2}"
TOKEN_FORMAT="${TOKEN_FORMAT:-t1}"
LOAD_CPU="${LOAD_CPU:-0}"
SERVER_CPU="${SERVER_CPU:-1}"
BUDGET_SECS_SET="${BUDGET_SECS:-}"
BUDGET_SECS="${BUDGET_SECS:-300}"

SKIP_PEER="${SKIP_PEER:-0}"
VONAGE="${VONAGE:-0}"
[[ "$VONAGE" =~ ^(0|1|only)$ ]] || { echo "VONAGE must be 0, 1 or only" >&2; exit 1; }
# Phase 4 takes about 80 s more with the defaults.
[[ "$VONAGE" != 1 ]] || BUDGET_SECS="${BUDGET_SECS_SET:-$((BUDGET_SECS + 150))}"
BASELINE_BIN="${BASELINE_BIN:-}"

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SERVER_BIN="$TARGET/release/tiny-opentok-server"
MOCK_BIN="$TARGET/release/opentok-mock"
FLOOR_BIN="$TARGET/release/bench-floor"

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}

# ---------------------------------------------------------------- processes, stopped by PID only
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid ignored SIGTERM for 5 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    PIDS=()
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# forget PID: drops an exited (and reaped) process from PIDS, so that its number, once reused by
# some other process, is never signalled.
forget() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# stop PID: stops one process we started, reaps it and forgets it.
stop() {
    local pid="$1"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget "$pid"
}

# wait_url NAME FILE PID: the URL from the process's `listening on http://...` line.
wait_url() {
    local name="$1" file="$2" pid="$3" url
    for _ in $(seq 1 300); do
        url="$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$file" 2>/dev/null || true)"
        if [[ -n "$url" ]]; then
            echo "$url"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    log "$name did not come up; last lines of its output:"
    tail -n 20 "$file" "${file%.stdout}.log" >&2 2>/dev/null || true
    die "$name did not come up"
}

# wait_health NAME URL PID LOGFILE: GET /healthz answers 200 within 30 s.
wait_health() {
    local name="$1" url="$2" pid="$3" logfile="$4"
    for _ in $(seq 1 300); do
        if curl -fsS -o /dev/null --max-time 1 "$url/healthz" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    log "$name did not come up at $url; last lines of its log:"
    tail -n 20 "$logfile" >&2 || true
    die "$name did not come up"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_ticks PID: utime + stime of the whole process (all threads), in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# core_ticks CPU: "busy total" clock ticks of one core so far, from /proc/stat. Busy is user, nice,
# system and steal; irq and softirq are left out, since the kernel may account the loopback
# traffic of the server itself there rather than to the server's process.
core_ticks() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# peak_rss_kib PID: VmHWM, the process's peak resident set so far.
peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# post URL BODY OUTFILE: POSTs JSON, prints the status code.
post() {
    curl -sS -o "$3" -w '%{http_code}' --max-time 10 -X POST \
        -H 'content-type: application/json' -d "$2" "$1" || echo 000
}
json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# ---------------------------------------------------------------- checks and builds
mkdir -p "$OUT"
# wrk comes from Debian's packages; a fresh machine does not have it.
if ! command -v wrk >/dev/null; then
    log "installing wrk (apt-get)"
    SUDO=()
    ((EUID == 0)) || SUDO=(sudo)
    { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq wrk; } >"$OUT/apt-wrk.log" 2>&1 ||
        die "could not install wrk (see $OUT/apt-wrk.log); install it and rerun"
fi
TOOLS=(cargo wrk curl python3 taskset)
[[ "$VONAGE" == 0 ]] || TOOLS+=(openssl)
[[ "$SKIP_PEER" == 1 ]] || TOOLS+=(node npm)
for tool in "${TOOLS[@]}"; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
CORES="$(nproc --all)"
((LOAD_CPU < CORES && SERVER_CPU < CORES)) || die "need cores $LOAD_CPU and $SERVER_CPU; this machine has $CORES"

rm -rf "$RUN"
mkdir -p "$RUN"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -q -p tiny-opentok-server -p opentok-mock) ||
        die "cargo build of the server and the mock failed"
    # The floor is its own workspace; sharing the target directory reuses the actix-web build.
    # Phase 4 (all of VONAGE=only) does not use it.
    if [[ "$VONAGE" != only ]]; then
        cargo build --release -q --locked --manifest-path "$BENCH/floor/Cargo.toml" \
            --target-dir "$TARGET" || die "cargo build of bench/floor failed"
    fi
    if [[ "$SKIP_PEER" != 1 ]]; then
        log "installing the peer's packages (npm ci)"
        (cd "$BENCH/peer" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in bench/peer failed"
    fi
fi
BINS=("$SERVER_BIN" "$MOCK_BIN")
[[ "$VONAGE" == only ]] || BINS+=("$FLOOR_BIN")
for bin in "${BINS[@]}"; do
    [[ -x "$bin" ]] || die "$bin is missing (run without SKIP_BUILD=1)"
done
BASELINE_CWD="$ROOT"
if [[ -n "$BASELINE_BIN" ]]; then
    [[ -x "$BASELINE_BIN" ]] || die "BASELINE_BIN=$BASELINE_BIN is missing or not executable"
    BASELINE_BIN="$(realpath "$BASELINE_BIN")"
    [[ ! -d "$(dirname "$BASELINE_BIN")/config" ]] || BASELINE_CWD="$(dirname "$BASELINE_BIN")"
    log "baseline: $BASELINE_BIN (config from $BASELINE_CWD/config)"
fi

# The watchdog bounds everything after the builds; it is one of our PIDs, so it dies with the run.
(
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "$BUDGET_SECS" &
    nap=$!
    wait "$nap"
    echo "[bench] over the ${BUDGET_SECS}s budget; stopping" >&2
    kill -TERM $$
) &
PIDS+=($!)

API_KEY=47000001
API_SECRET="$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# The Node SDK signs its REST-auth JWT without a `jti`, which the mock accepts, as OpenTok does.
MOCK_EXTRA=()
JTI_NOTE="the mock accepts the Node SDK's auth JWT without a jti, as OpenTok does"

# ---------------------------------------------------------------- starting each process
# Phase 4 (VONAGE): an application id of this run and the mock's test key pair.
VONAGE_APP_ID="$(python3 -c 'import uuid; print(uuid.uuid4())')"
VONAGE_KEY="$ROOT/crates/opentok-mock/tests/data/test-only-rsa2048.pem"
VONAGE_PUBLIC_KEY="$ROOT/crates/opentok-mock/tests/data/test-only-rsa2048.pub.pem"

# start_mock LATENCY_MS [vonage] -> MOCK_PID, MOCK_URL
start_mock() {
    local f="$RUN/mock-$1ms${2:+-$2}" creds=(--api-key "$API_KEY" --api-secret "$API_SECRET")
    [[ "${2:-}" != vonage ]] || creds=(--application-id "$VONAGE_APP_ID" --public-key-path "$VONAGE_PUBLIC_KEY")
    RUST_LOG=warn taskset -c "$LOAD_CPU" "$MOCK_BIN" --addr 127.0.0.1:0 "${creds[@]}" \
        --latency-ms "$1" "${MOCK_EXTRA[@]}" >"$f.stdout" 2>"$f.log" &
    MOCK_PID=$!
    PIDS+=("$MOCK_PID")
    MOCK_URL="$(wait_url "opentok-mock" "$f.stdout" "$MOCK_PID")"
    log "mock (latency ${1} ms${2:+, $2}) at $MOCK_URL, pid $MOCK_PID"
}

# start_ours NAME RUST_LOG [BIN DIR] -> SRV_PID, SRV_URL. "ours" runs with the shipped log level
# (info); "ours-quiet" is the same binary at RUST_LOG=warn, a diagnostic row that prices per-request
# logging; "baseline" is BASELINE_BIN, run as "ours" from the directory DIR that holds its config/.
# With CREDS=vonage (phase 4) it gets Vonage application credentials instead of OpenTok ones.
start_ours() {
    local name="$1" level="$2" bin="${3:-$SERVER_BIN}" dir="${4:-$ROOT}" port f="$RUN/$1-$PHASE" extra=() creds
    port="$(free_port)"
    if [[ "$name" == baseline ]]; then read -ra extra <<<"${BASELINE_ENV:-}"; else read -ra extra <<<"${SERVER_ENV:-}"; fi
    creds=(OPENTOK_KEY="$API_KEY" OPENTOK_SECRET="$API_SECRET" OPENTOK_API_URL="$MOCK_URL" OPENTOK_TOKEN_FORMAT="$TOKEN_FORMAT")
    [[ "${CREDS:-opentok}" != vonage ]] ||
        creds=(VONAGE_APPLICATION_ID="$VONAGE_APP_ID" VONAGE_PRIVATE_KEY_PATH="$VONAGE_KEY" VONAGE_API_URL="$MOCK_URL")
    (cd "$dir" && RUST_LOG="$level" HOST=127.0.0.1 PORT="$port" WORKERS=1 \
        exec env "${creds[@]}" "${extra[@]}" taskset -c "$SERVER_CPU" "$bin") >"$f.stdout" 2>"$f.log" &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    SRV_URL="http://127.0.0.1:$port"
    wait_health "$name" "$SRV_URL" "$SRV_PID" "$f.log"
    log "$name at $SRV_URL, pid $SRV_PID"
}

start_peer() { # [SEED_SESSION] -> PEER_PID, PEER_URL
    local f="$RUN/peer-$PHASE"
    HOST=127.0.0.1 PORT=0 OPENTOK_KEY="$API_KEY" OPENTOK_SECRET="$API_SECRET" \
        OPENTOK_API_URL="$MOCK_URL" TOKEN_FORMAT="$TOKEN_FORMAT" PEER_SEED_SESSION="${1:-}" \
        NODE_ENV=production taskset -c "$SERVER_CPU" node "$BENCH/peer/server.js" >"$f.stdout" 2>"$f.log" &
    PEER_PID=$!
    PIDS+=("$PEER_PID")
    PEER_URL="$(wait_url "peer" "$f.stdout" "$PEER_PID")"
    wait_health "peer" "$PEER_URL" "$PEER_PID" "$f.log"
    log "peer at $PEER_URL, pid $PEER_PID"
}

start_vonage_peer() { # -> PEER_PID, PEER_URL
    local f="$RUN/peer-$PHASE"
    HOST=127.0.0.1 PORT=0 VONAGE_APPLICATION_ID="$VONAGE_APP_ID" VONAGE_PRIVATE_KEY_PATH="$VONAGE_KEY" \
        VONAGE_API_URL="$MOCK_URL" NODE_ENV=production \
        taskset -c "$SERVER_CPU" node "$BENCH/peer/vonage-server.js" >"$f.stdout" 2>"$f.log" &
    PEER_PID=$!
    PIDS+=("$PEER_PID")
    PEER_URL="$(wait_url "vonage peer" "$f.stdout" "$PEER_PID")"
    wait_health "vonage peer" "$PEER_URL" "$PEER_PID" "$f.log"
    log "vonage peer at $PEER_URL, pid $PEER_PID"
}

start_floor() { # BODY_FILE -> FLOOR_PID, FLOOR_URL
    local f="$RUN/floor"
    taskset -c "$SERVER_CPU" "$FLOOR_BIN" --addr 127.0.0.1:0 --body-file "$1" >"$f.stdout" 2>"$f.log" &
    FLOOR_PID=$!
    PIDS+=("$FLOOR_PID")
    FLOOR_URL="$(wait_url "floor" "$f.stdout" "$FLOOR_PID")"
    log "floor at $FLOOR_URL, pid $FLOOR_PID"
}

# ---------------------------------------------------------------- one measured run
printf 'phase\tscenario\tserver\tround\trequests\tduration_us\tp50_us\tp99_us\tstatus_err\tsocket_err\tcpu_ticks\twall_ns\tloadgen_cpu_s\tmock_ticks\tcore_busy_ticks\tcore_total_ticks\n' >"$RUN/runs.tsv"
printf 'phase\tserver\tpeak_rss_kib\n' >"$RUN/rss.tsv"
printf 'scenario\tserver\tstatus\tbytes\n' >"$RUN/bodies.tsv"
TICK_HZ="$(getconf CLK_TCK)"

# run_wrk OUTFILE ARGS...: wrk on the load core, in the background so that a signal is handled at
# once (bash defers traps while a foreground child runs), and tracked by PID like everything else.
run_wrk() {
    local out="$1"
    shift
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" --timeout 5s -s "$BENCH/wrk/post.lua" "$@" >"$out" 2>&1 &
    local wrk_pid=$!
    PIDS+=("$wrk_pid")
    wait "$wrk_pid" || true
    forget "$wrk_pid"
}

# children_cpu FILE: user + system seconds of all reaped children of this shell, from bash's `times`
# as saved in FILE (it must run in this shell, not in a $(...) subshell). Taken right before and
# after run_wrk, the difference is wrk's CPU time.
children_cpu() {
    awk 'NR == 2 {
        n = split($0, f, /[ms ]+/); t = 0
        for (i = 1; i + 1 <= n; i += 2) if (f[i] != "") t += f[i] * 60 + f[i + 1]
        print t
    }' "$1"
}

# measure SCENARIO SERVER PID URL BODY ROUND|warmup
measure() {
    local scenario="$1" server="$2" pid="$3" url="$4" body="$5" round="$6"
    local secs="$DURATION" tag="$RUN/wrk-$scenario-$server-$round"
    [[ "$round" == warmup ]] && secs="$WARMUP_SECS"
    kill -0 "$pid" 2>/dev/null || die "$server died before $scenario (see $RUN/$server-*.log)"
    local c0 m0 t0 c1 m1 t1 k0 kt0 k1 kt1 line
    c0="$(cpu_ticks "$pid")"
    m0="$(cpu_ticks "$MOCK_PID")"
    read -r k0 kt0 <<<"$(core_ticks "$SERVER_CPU")"
    t0="$(date +%s%N)"
    times >"$tag.t0"
    BENCH_BODY="$body" BENCH_CTYPE="${WRK_CTYPE:-application/json}" BENCH_AUTH="${WRK_AUTH:-}" \
        run_wrk "$tag.txt" -d"${secs}s" "$url"
    times >"$tag.t1"
    t1="$(date +%s%N)"
    kill -0 "$pid" 2>/dev/null || die "$server died during $scenario (see $RUN/$server-*.log)"
    c1="$(cpu_ticks "$pid")"
    m1="$(cpu_ticks "$MOCK_PID")"
    read -r k1 kt1 <<<"$(core_ticks "$SERVER_CPU")"
    line="$(grep -m1 '^BENCH ' "$tag.txt" || true)"
    [[ -n "$line" ]] || die "wrk gave no result for $scenario/$server; see $tag.txt"
    # BENCH requests=.. duration_us=.. p50_us=.. p99_us=.. status=.. connect=.. read=.. write=.. timeout=..
    local -A r
    local kv
    for kv in ${line#BENCH }; do r[${kv%%=*}]="${kv#*=}"; done
    local sock=$((r[connect] + r[read] + r[write] + r[timeout]))
    local lg
    lg="$(awk -v a="$(children_cpu "$tag.t0")" -v b="$(children_cpu "$tag.t1")" 'BEGIN { print b - a }')"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$PHASE" "$scenario" "$server" "$round" \
        "${r[requests]}" "${r[duration_us]}" "${r[p50_us]}" "${r[p99_us]}" "${r[status]}" "$sock" \
        "$((c1 - c0))" "$((t1 - t0))" "$lg" "$((m1 - m0))" "$((k1 - k0))" "$((kt1 - kt0))" >>"$RUN/runs.tsv"
    log "$(printf '%-8s %-6s round %s: %8.0f req/s  p50 %6s us  p99 %6s us  status-err %s  socket-err %s' \
        "$scenario" "$server" "$round" "$(awk -v n="${r[requests]}" -v d="${r[duration_us]}" 'BEGIN { print n / (d / 1e6) }')" \
        "${r[p50_us]}" "${r[p99_us]}" "${r[status]}" "$sock")"
}

# mock_jwt: a REST-auth JWT the mock accepts (HS256, iss, ist, iat, exp = iat + 300, jti), for the
# diagnostic runs straight at the mock. The mock does not track jti, so one token serves a phase.
mock_jwt() {
    python3 - "$API_KEY" "$API_SECRET" <<'PY'
import base64, hashlib, hmac, json, sys, time
key, secret = sys.argv[1], sys.argv[2]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"iss": key, "ist": "project", "iat": now, "exp": now + 300, "jti": "bench"}).encode())
sig = b64(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
PY
}

# measure_mock SCENARIO ROUND: the mock alone, POST /session/create as the SDKs send it. It shows
# the most that any server in front of this mock could get on this rig.
measure_mock() {
    WRK_AUTH="$MOCK_JWT" WRK_CTYPE=application/x-www-form-urlencoded \
        measure "$1" mock-direct "$MOCK_PID" "$MOCK_URL/session/create" \
        'archiveMode=manual&p2p.preference=disabled' "$2"
}

record_rss() { printf '%s\t%s\t%s\n' "$PHASE" "$1" "$(peak_rss_kib "$2")" >>"$RUN/rss.tsv"; }

# shrink_log FILE: our server logs every request at info; keep the ends of a big log only.
shrink_log() {
    local f="$1"
    if [[ -f "$f" ]] && (($(stat -c %s "$f") > 1048576)); then
        { head -n 40 "$f"; echo "... $(wc -l <"$f") lines in all, cut by bench/run.sh ..."; tail -n 40 "$f"; } >"$f.cut"
        mv "$f.cut" "$f"
    fi
}

# new_session NAME URL -> SID: creates a session on that server; empty if it was refused.
new_session() {
    local code
    code="$(post "$2/session" "$SESSION_BODY" "$RUN/$1-session.json")"
    if [[ "$code" == 201 ]]; then
        SID="$(json_field "$RUN/$1-session.json" id)"
    else
        log "$1: POST /session answered $code: $(cat "$RUN/$1-session.json")"
        SID=""
    fi
}

# check_access NAME URL SID [SCENARIO]: one access request must answer 201; keeps the body for the report.
check_access() {
    local code sc="${4:-access}"
    code="$(post "$2/session/$3/access" "$ACCESS_BODY" "$RUN/$1-$sc.json")"
    [[ "$code" == 201 ]] || die "$1: POST /session/{id}/access answered $code: $(cat "$RUN/$1-$sc.json")"
    printf '%s\t%s\t%s\t%s\n' "$sc" "$1" "$code" "$(wc -c <"$RUN/$1-$sc.json")" >>"$RUN/bodies.tsv"
}

# profile NAME PID URL BODY SCENARIO: an extra run under `perf record` (PROFILE=1 only), summed up
# into buckets by bench/perf_buckets.py, plus the flat top symbols. Not part of the measured rounds.
profile() {
    local name="$1" pid="$2" url="$3" body="$4" scenario="$5"
    local data="$RUN/perf-$scenario-$name.data" report="$RUN/profile-$scenario-$name.txt"
    perf record -q -F 499 --call-graph dwarf,16384 -o "$data" -p "$pid" -- sleep "$DURATION" \
        >/dev/null 2>&1 &
    local perf_pid=$!
    PIDS+=("$perf_pid")
    BENCH_BODY="$body" run_wrk "$RUN/wrk-$scenario-$name-profile.txt" -d"${DURATION}s" "$url"
    wait "$perf_pid" || true
    forget "$perf_pid"
    {
        echo "# $name, $scenario: CPU samples by bucket (first match over the whole stack)"
        perf script -i "$data" 2>/dev/null | python3 "$BENCH/perf_buckets.py"
        echo
        echo "# flat profile, self time, top symbols"
        perf report -i "$data" --stdio --no-children -g none --sort dso,symbol --percent-limit 0.7 2>/dev/null |
            grep -v '^#' | grep -v '^$' | cut -c1-180 | head -n 40
    } >"$report"
    rm -f "$data"
    log "profile of $name under $scenario: $report"
}

SESSION_BODY='{"mediaMode":"routed"}'
ACCESS_BODY='{}'
PEER_CREATES=1
HAVE_PEER=1
if [[ "$SKIP_PEER" == 1 ]]; then
    HAVE_PEER=0 PEER_CREATES=0
    JTI_NOTE="no peer in this run (SKIP_PEER=1)"
fi
HAVE_BASE=0
[[ -z "$BASELINE_BIN" ]] || HAVE_BASE=1
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
STARTED="$(date +%s)"

# ---------------------------------------------------------------- phases 1 and 2: no mock latency
# Phases 1 to 3 use OpenTok credentials; VONAGE=only skips them.
if [[ "$VONAGE" != only ]]; then
    PHASE=1
    start_mock 0
    start_ours ours info
    OURS_PID=$SRV_PID OURS_URL=$SRV_URL
    if ((HAVE_BASE)); then
        start_ours baseline info "$BASELINE_BIN" "$BASELINE_CWD"
        BASE_PID=$SRV_PID BASE_URL=$SRV_URL
    fi
    start_ours ours-quiet warn
    QUIET_PID=$SRV_PID QUIET_URL=$SRV_URL
    if ((HAVE_PEER)); then start_peer; fi

    new_session ours "$OURS_URL"
    [[ -n "$SID" ]] || die "our server could not create a session"
    OURS_SID=$SID
    if ((HAVE_BASE)); then
        new_session baseline "$BASE_URL"
        [[ -n "$SID" ]] || die "the baseline server could not create a session"
        BASE_SID=$SID
    fi
    new_session ours-quiet "$QUIET_URL"
    [[ -n "$SID" ]] || die "our server (quiet) could not create a session"
    QUIET_SID=$SID
    PEER_SID=""
    if ((HAVE_PEER)); then
        new_session peer "$PEER_URL"
        PEER_SID=$SID
    fi
    if ((HAVE_PEER)) && [[ -z "$PEER_SID" ]]; then
        # Only the create call is refused; the peer's token minting does not touch the mock. Seed the
        # peer with a session id of the same key so that its access route can still be measured.
        log "the mock refuses the Node SDK; peer session scenarios are skipped, its access route is seeded"
        PEER_CREATES=0
        JTI_NOTE="the mock REFUSED the Node SDK's auth JWT (no jti): peer POST /session not measured; the peer was seeded with a session id for the access scenario"
        stop "$PEER_PID"
        start_peer "$OURS_SID"
        PEER_SID="$OURS_SID"
    fi
    check_access ours "$OURS_URL" "$OURS_SID"
    if ((HAVE_BASE)); then check_access baseline "$BASE_URL" "$BASE_SID"; fi
    check_access ours-quiet "$QUIET_URL" "$QUIET_SID"
    if ((HAVE_PEER)); then check_access peer "$PEER_URL" "$PEER_SID"; fi
    start_floor "$RUN/ours-access.json"
    check_access floor "$FLOOR_URL" "$OURS_SID"

    MOCK_JWT="$(mock_jwt)"
    # Access first, then session creation, each in interleaved rounds: storing sessions grows the
    # servers' memory, so the access rounds see each server's memory without that data.
    run_access() {
        measure access ours "$OURS_PID" "$OURS_URL/session/$OURS_SID/access" "$ACCESS_BODY" "$1"
        if ((HAVE_BASE)); then
            measure access baseline "$BASE_PID" "$BASE_URL/session/$BASE_SID/access" "$ACCESS_BODY" "$1"
        fi
        measure access ours-quiet "$QUIET_PID" "$QUIET_URL/session/$QUIET_SID/access" "$ACCESS_BODY" "$1"
        if ((HAVE_PEER)); then
            measure access peer "$PEER_PID" "$PEER_URL/session/$PEER_SID/access" "$ACCESS_BODY" "$1"
        fi
        measure access floor "$FLOOR_PID" "$FLOOR_URL/session/$OURS_SID/access" "$ACCESS_BODY" "$1"
    }
    run_session() {
        measure session ours "$OURS_PID" "$OURS_URL/session" "$SESSION_BODY" "$1"
        if ((HAVE_BASE)); then measure session baseline "$BASE_PID" "$BASE_URL/session" "$SESSION_BODY" "$1"; fi
        measure session ours-quiet "$QUIET_PID" "$QUIET_URL/session" "$SESSION_BODY" "$1"
        measure_mock session "$1"
        if ((PEER_CREATES)); then
            measure session peer "$PEER_PID" "$PEER_URL/session" "$SESSION_BODY" "$1"
        fi
    }
    record_phase_rss() {
        record_rss ours "$OURS_PID"
        if ((HAVE_BASE)); then record_rss baseline "$BASE_PID"; fi
        record_rss ours-quiet "$QUIET_PID"
        if ((HAVE_PEER)); then record_rss peer "$PEER_PID"; fi
        [[ "$PHASE" != 1 ]] || record_rss floor "$FLOOR_PID"
    }
    log "warming up"
    run_access warmup
    for round in $(seq 1 "$ROUNDS"); do run_access "$round"; done
    record_phase_rss
    if [[ "${PROFILE:-0}" == 1 ]]; then
        profile ours "$OURS_PID" "$OURS_URL/session/$OURS_SID/access" "$ACCESS_BODY" access
        profile ours-quiet "$QUIET_PID" "$QUIET_URL/session/$QUIET_SID/access" "$ACCESS_BODY" access
        profile floor "$FLOOR_PID" "$FLOOR_URL/session/$OURS_SID/access" "$ACCESS_BODY" access
    fi

    PHASE=2
    log "warming up"
    run_session warmup
    for round in $(seq 1 "$ROUNDS"); do run_session "$round"; done
    record_phase_rss
    if [[ "${PROFILE:-0}" == 1 ]]; then
        profile ours "$OURS_PID" "$OURS_URL/session" "$SESSION_BODY" session
        profile ours-quiet "$QUIET_PID" "$QUIET_URL/session" "$SESSION_BODY" session
    fi
    for pid in "$FLOOR_PID" "${PEER_PID:-}" "$QUIET_PID" "${BASE_PID:-}" "$OURS_PID" "$MOCK_PID"; do
        [[ -z "$pid" ]] || stop "$pid"
    done

    # ---------------------------------------------------------------- phase 3: mock latency
    PHASE=3
    start_mock "$LATENCY_MS"
    start_ours ours info
    OURS_PID=$SRV_PID OURS_URL=$SRV_URL
    if ((HAVE_BASE)); then
        start_ours baseline info "$BASELINE_BIN" "$BASELINE_CWD"
        BASE_PID=$SRV_PID BASE_URL=$SRV_URL
    fi
    if ((PEER_CREATES)); then start_peer; fi
    MOCK_JWT="$(mock_jwt)"
    run_latency() {
        measure session-lat ours "$OURS_PID" "$OURS_URL/session" "$SESSION_BODY" "$1"
        if ((HAVE_BASE)); then measure session-lat baseline "$BASE_PID" "$BASE_URL/session" "$SESSION_BODY" "$1"; fi
        measure_mock session-lat "$1"
        if ((PEER_CREATES)); then
            measure session-lat peer "$PEER_PID" "$PEER_URL/session" "$SESSION_BODY" "$1"
        fi
    }
    log "warming up"
    run_latency warmup
    for round in $(seq 1 "$ROUNDS"); do run_latency "$round"; done
    record_rss ours "$OURS_PID"
    if ((HAVE_BASE)); then record_rss baseline "$BASE_PID"; fi
    if ((PEER_CREATES)); then record_rss peer "$PEER_PID"; fi
    # Phase 4 gets core 1 to itself: stop this phase's processes, by PID, before it starts.
    if ((PEER_CREATES)); then stop "$PEER_PID"; fi
    if ((HAVE_BASE)); then stop "$BASE_PID"; fi
    stop "$OURS_PID"
    stop "$MOCK_PID"
fi

# ---------------------------------------------------------------- phase 4: Vonage credentials (RS256)
# openssl_anchor ROUND: `openssl speed -seconds 3 rsa2048` on the server core, in the same rounds as
# the servers. To anchor.tsv: the sign/s it prints (per second of its own user CPU time) and the
# signatures it made in its 3 s of wall time (its alarm is wall-clock), which the neighbours on the
# core slow down just as they slow the servers.
openssl_anchor() {
    local out="$RUN/openssl-$1.txt" fields
    taskset -c "$SERVER_CPU" openssl speed -seconds 3 rsa2048 >"$out" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait "$pid" || die "openssl speed failed (see $out)"
    forget "$pid"
    fields="$(python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# The summary table: a header line naming the columns, then `rsa 2048 bits <col> <col> ...`.
head = next(l.split() for l in text.splitlines() if "sign/s" in l.split())
row = next(l.split() for l in re.findall(r"^rsa +2048 bits .*$", text, re.M))
# `Doing 2048 bits private rsa's for 3s: 6208 2048 bits private RSA's in 2.93s`
done = re.search(r"Doing 2048 bits private rsa.s for (\d+)s: (\d+) 2048 bits private RSA.s in ([\d.]+)s", text)
print(row[3 + head.index("sign/s")], done.group(2), done.group(3), done.group(1), sep="\t")
PY
)" || die "no sign/s in $out"
    printf '%s\t%s\n' "$1" "$fields" >>"$RUN/anchor.tsv"
    log "$(printf '%-8s %-6s round %s: %8.0f sign/s per CPU-second, %s signs in %s s CPU, %s s wall' \
        openssl rsa2048 "$1" $fields)"
}

if [[ "$VONAGE" != 0 ]]; then
    PHASE=4
    printf 'round\tsign_per_s\tsigns\tcpu_s\twall_s\n' >"$RUN/anchor.tsv"
    start_mock 0 vonage
    CREDS=vonage start_ours ours info
    OURS_PID=$SRV_PID OURS_URL=$SRV_URL
    if ((HAVE_PEER)); then start_vonage_peer; fi
    new_session ours "$OURS_URL"
    [[ -n "$SID" ]] || die "our server (Vonage credentials) could not create a session"
    OURS_SID=$SID
    check_access ours "$OURS_URL" "$OURS_SID" access-vonage
    if ((HAVE_PEER)); then
        new_session peer "$PEER_URL"
        [[ -n "$SID" ]] || die "the vonage peer could not create a session"
        PEER_SID=$SID
        check_access peer "$PEER_URL" "$PEER_SID" access-vonage
    fi
    run_vonage() {
        measure access-vonage ours "$OURS_PID" "$OURS_URL/session/$OURS_SID/access" "$ACCESS_BODY" "$1"
        if ((HAVE_PEER)); then
            measure access-vonage peer "$PEER_PID" "$PEER_URL/session/$PEER_SID/access" "$ACCESS_BODY" "$1"
        fi
        [[ "$1" == warmup ]] || openssl_anchor "$1"
    }
    log "warming up"
    run_vonage warmup
    for round in $(seq 1 "$ROUNDS"); do run_vonage "$round"; done
    record_rss ours "$OURS_PID"
    if ((HAVE_PEER)); then record_rss peer "$PEER_PID"; fi
    if [[ "${PROFILE:-0}" == 1 ]]; then
        profile ours "$OURS_PID" "$OURS_URL/session/$OURS_SID/access" "$ACCESS_BODY" access-vonage
    fi
fi
cleanup
for f in "$RUN"/ours-*.log "$RUN"/baseline-*.log; do shrink_log "$f"; done

# ---------------------------------------------------------------- report
ELAPSED=$(($(date +%s) - STARTED))
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
GIT_REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
CPU_MODEL="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
BASELINE_DESC=""
if ((HAVE_BASE)); then
    BASELINE_DESC="$BASELINE_BIN ($(stat -c %s "$BASELINE_BIN") bytes, sha256 $(sha256sum "$BASELINE_BIN" | cut -c1-12))"
fi
export VONAGE RUN DURATION ROUNDS CONNS LATENCY_MS TOKEN_FORMAT TICK_HZ GIT_REV CPU_MODEL CORES JTI_NOTE BASELINE_DESC
export LOAD_CPU SERVER_CPU LOAD_BEFORE LOAD_AFTER ELAPSED
python3 "$BENCH/report.py" | tee "$OUT/results.md"
