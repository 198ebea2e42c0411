#!/usr/bin/env bash
# Checks opentok-mock against an HTTP client none of us wrote: the official OpenTok Python SDK.
#
# Creates a virtualenv (once) with opentok==3.15.0, builds and starts the mock on 127.0.0.1:0,
# runs check.py against it and stops the mock. Exits non-zero with a message on any failure.
#
# Environment (all optional):
#   SDK_CHECK_VENV       virtualenv to use/create (default: <target>/sdk-check/venv-opentok-3.15.0)
#   SDK_CHECK_WAIT_SECS  how long to wait for the mock's "listening on" line (default 60)
#   CARGO_TARGET_DIR     honoured like cargo does
set -euo pipefail

readonly SDK_VERSION="3.15.0"
readonly API_KEY="123456"
readonly API_SECRET="1234567890abcdef1234567890abcdef1234567890"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
venv="${SDK_CHECK_VENV:-$target_dir/sdk-check/venv-opentok-$SDK_VERSION}"
wait_secs="${SDK_CHECK_WAIT_SECS:-60}"

# Local traffic only: never send the mock's requests through a proxy from the environment.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

die() {
    echo "python-sdk-check: FAILED: $*" >&2
    exit 1
}

mock_pid=""
workdir=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$mock_pid" ]] && kill -0 "$mock_pid" 2>/dev/null; then
        kill -TERM "$mock_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$mock_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
    [[ -n "$workdir" ]] && rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The SDK, in its own virtualenv.
command -v python3 >/dev/null || die "python3 is not installed"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "python-sdk-check: creating virtualenv $venv" >&2
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" || die "cannot create a virtualenv at $venv"
fi
installed="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("opentok"))' 2>/dev/null || true)"
if [[ "$installed" != "$SDK_VERSION" ]]; then
    echo "python-sdk-check: installing opentok==$SDK_VERSION" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "opentok==$SDK_VERSION" \
        || die "cannot install opentok==$SDK_VERSION from PyPI"
fi

# 2. The mock binary.
cargo build --quiet -p opentok-mock --bin opentok-mock || die "cargo build of opentok-mock failed"
bin="$target_dir/debug/opentok-mock"
[[ -x "$bin" ]] || die "no binary at $bin"

# 3. Start it and read its URL from the single "listening on" line.
workdir="$(mktemp -d "${TMPDIR:-/tmp}/python-sdk-check.XXXXXX")"
OPENTOK_MOCK_API_KEY="$API_KEY" OPENTOK_MOCK_API_SECRET="$API_SECRET" RUST_LOG="${RUST_LOG:-info}" \
    "$bin" --addr 127.0.0.1:0 >"$workdir/stdout" 2>"$workdir/stderr" &
mock_pid=$!

url=""
deadline=$((SECONDS + wait_secs))
while [[ -z "$url" ]]; do
    line="$(grep -m1 -E '^listening on http://127\.0\.0\.1:[0-9]+$' "$workdir/stdout" || true)"
    if [[ -n "$line" ]]; then
        url="${line#listening on }"
        break
    fi
    if ! kill -0 "$mock_pid" 2>/dev/null; then
        die "the mock exited before listening; its log: $(tail -n 20 "$workdir/stderr")"
    fi
    if ((SECONDS >= deadline)); then
        die "no 'listening on' line from the mock within ${wait_secs}s"
    fi
    sleep 0.1
done
echo "python-sdk-check: mock at $url (pid $mock_pid)" >&2

# 4. The checks; check.py prints the summary line.
runner=()
command -v timeout >/dev/null && runner=(timeout 300)
if ! ${runner[@]+"${runner[@]}"} "$venv/bin/python" "$here/check.py" "$url" "$API_KEY" "$API_SECRET"; then
    echo "python-sdk-check: mock log (last 20 lines):" >&2
    tail -n 20 "$workdir/stderr" >&2
    die "the Python SDK did not work against the mock"
fi

# 5. Stop the mock the way CI would and insist on a clean exit.
kill -TERM "$mock_pid"
mock_status=0
wait "$mock_pid" || mock_status=$?
mock_pid=""
((mock_status == 0)) || die "the mock exited with status $mock_status on SIGTERM"
