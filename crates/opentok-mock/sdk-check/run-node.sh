#!/usr/bin/env bash
# Checks opentok-mock against the official Node SDKs: `opentok` (OpenTok mode) and `@vonage/video`
# (Vonage mode: create, a wrong key refused, client tokens that verify). Then our server in Vonage
# mode against the mock: its RS256 tokens must match `generateClientToken`'s for the same inputs
# (claims, order, values; jti, iat and exp aside). Versions are pinned in package.json /
# package-lock.json and installed with `npm ci` under the cargo target directory.
#
# Environment (all optional):
#   SDK_CHECK_WAIT_SECS  how long to wait for the mock's "listening on" line (default 60)
#   CARGO_TARGET_DIR     honoured like cargo does
set -euo pipefail

readonly API_KEY="123456"
readonly API_SECRET="1234567890abcdef1234567890abcdef1234567890"
readonly APPLICATION_ID="29f760f8-7ce1-46c9-ade3-f2dedee4ed5f"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
keys="$root/crates/opentok-mock/tests/data"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
wait_secs="${SDK_CHECK_WAIT_SECS:-60}"
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

die() {
    echo "node-sdk-check: FAILED: $*" >&2
    exit 1
}

mock_pid=""
server_pid=""
workdir=""
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
stop_mock() {
    if [[ -n "$mock_pid" ]] && kill -0 "$mock_pid" 2>/dev/null; then
        kill -TERM "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
    mock_pid=""
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_server
    stop_mock
    [[ -n "$workdir" ]] && rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The SDKs, exactly as locked.
command -v node >/dev/null || die "node is not installed"
command -v npm >/dev/null || die "npm is not installed"
node_dir="$target_dir/sdk-check/node"
mkdir -p "$node_dir"
cp "$here/package.json" "$here/package-lock.json" "$here/check.js" "$node_dir/"
(cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || die "npm ci failed in $node_dir"

# 2. The mock and server binaries.
cargo build --quiet -p opentok-mock --bin opentok-mock -p tiny-opentok-server --bin tiny-opentok-server \
    || die "cargo build of opentok-mock and tiny-opentok-server failed"
bin="$target_dir/debug/opentok-mock"
server_bin="$target_dir/debug/tiny-opentok-server"
[[ -x "$bin" && -x "$server_bin" ]] || die "no binaries at $bin and $server_bin"
workdir="$(mktemp -d "${TMPDIR:-/tmp}/node-sdk-check.XXXXXX")"

# Starts the mock with the given arguments and sets $url from its "listening on" line.
start_mock() {
    : >"$workdir/stdout"
    RUST_LOG="${RUST_LOG:-info}" "$bin" --addr 127.0.0.1:0 "$@" >"$workdir/stdout" 2>"$workdir/stderr" &
    mock_pid=$!
    url=""
    local deadline=$((SECONDS + wait_secs)) line
    while [[ -z "$url" ]]; do
        line="$(grep -m1 -E '^listening on http://127\.0\.0\.1:[0-9]+$' "$workdir/stdout" || true)"
        if [[ -n "$line" ]]; then url="${line#listening on }"; break; fi
        kill -0 "$mock_pid" 2>/dev/null || die "the mock exited: $(tail -n 20 "$workdir/stderr")"
        ((SECONDS < deadline)) || die "no 'listening on' line from the mock within ${wait_secs}s"
        sleep 0.1
    done
}

run_check() {
    if ! timeout 300 node "$node_dir/check.js" "$@"; then
        echo "node-sdk-check: mock log (last 20 lines):" >&2
        tail -n 20 "$workdir/stderr" >&2
        die "the Node SDK check '$1' failed"
    fi
}

# 3. OpenTok mode with the `opentok` SDK (its auth JWT has no jti).
start_mock --api-key "$API_KEY" --api-secret "$API_SECRET"
run_check opentok "$url" "$API_KEY" "$API_SECRET"
stop_mock

# 4. Vonage mode with `@vonage/video`; the mock derives the public key from the private one.
start_mock --application-id "$APPLICATION_ID" --private-key-path "$keys/test-only-rsa2048.pem"
run_check vonage "$url" "$APPLICATION_ID" "$keys/test-only-rsa2048.pem" \
    "$keys/test-only-rsa2048-other.pem" "$keys/test-only-rsa2048.pub.pem"

# 5. Our server with the same application's credentials against the same mock. It runs in the
#    scratch directory with a clean environment, so no config/local.toml or OPENTOK_* variable of
#    the caller's can add a second kind of credentials.
mock_url="$url"
: >"$workdir/server.stdout"
(cd "$workdir" && exec env -i PATH="$PATH" RUST_LOG="${RUST_LOG:-info}" HOST=127.0.0.1 PORT=0 \
    VONAGE_APPLICATION_ID="$APPLICATION_ID" VONAGE_PRIVATE_KEY_PATH="$keys/test-only-rsa2048.pem" \
    VONAGE_API_URL="$mock_url" "$server_bin" >"$workdir/server.stdout" 2>"$workdir/server.stderr") &
server_pid=$!
server_url=""
deadline=$((SECONDS + wait_secs))
while [[ -z "$server_url" ]]; do
    line="$(grep -m1 -E '^listening on http://127\.0\.0\.1:[0-9]+$' "$workdir/server.stdout" || true)"
    if [[ -n "$line" ]]; then server_url="${line#listening on }"; break; fi
    kill -0 "$server_pid" 2>/dev/null || die "the server exited: $(tail -n 20 "$workdir/server.stderr")"
    ((SECONDS < deadline)) || die "no 'listening on' line from the server within ${wait_secs}s"
    sleep 0.1
done
if ! timeout 300 node "$node_dir/check.js" server "$server_url" "$APPLICATION_ID" \
    "$keys/test-only-rsa2048.pem" "$keys/test-only-rsa2048.pub.pem"; then
    echo "node-sdk-check: server log (last 20 lines):" >&2
    tail -n 20 "$workdir/server.stderr" >&2
    die "our server's tokens differ from @vonage/video's"
fi
stop_server
stop_mock
echo "node-sdk-check: OK"
