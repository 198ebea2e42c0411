#!/usr/bin/env bash
# Fuzzes the live server (offline, --mock-opentok) against its own OpenAPI document with
# schemathesis: no 5xx, and every status, content type and body as the document says.
#   SCHEMATHESIS_CASES=10000 bash crates/server/fuzz/schemathesis.sh   # the long run
set -euo pipefail
cd "$(dirname "$0")/../../.."

cases="${SCHEMATHESIS_CASES:-1000}"
# Three operations take bodies or parameters; the coverage phase adds cases of its own, and the
# count of generated cases is checked against the budget at the end.
per_operation=$(( (cases + 1) / 2 ))
venv="target/schemathesis/venv-4.32.5"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi

cargo build --quiet -p tiny-opentok-server
out=$(mktemp)
err=$(mktemp)
target/debug/tiny-opentok-server --mock-opentok --host 127.0.0.1 --port 0 >"$out" 2>"$err" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out" "$err"
}
trap cleanup EXIT INT TERM

url=""
for _ in $(seq 1 300); do
  url=$(sed -n 's/^listening on //p' "$out" | head -n 1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "server exited:"; cat "$err"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "server did not start within 30 s:"; cat "$err"; exit 1; }

echo "fuzzing $url with $per_operation examples per operation"
report=$(mktemp)
trap 'cleanup; rm -f "$report"' EXIT INT TERM
NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
"$venv/bin/schemathesis" run "$url/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$per_operation" \
  --seed 20261128 \
  --workers 2 \
  --no-color | tee "$report"
generated=$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$report" | tail -n 1)
if [ -z "$generated" ] || [ "$generated" -lt "$cases" ]; then
  echo "schemathesis generated ${generated:-no} cases, fewer than the $cases asked for"; exit 1
fi
if grep -q "panicked" "$err"; then
  echo "the server panicked during the run:"; grep -A3 panicked "$err"; exit 1
fi
