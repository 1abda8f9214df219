#!/usr/bin/env bash
# Property tests of the HTTP API from its own OpenAPI document: schemathesis
# (from PyPI, installed into target/schemathesis-venv when missing) generates
# requests for every operation, valid and invalid, and checks every answer:
# no 5xx, each status documented, each body matching its schema (errors:
# the API.md shape). Bounded: a fixed seed and few examples per operation.
#
#   scripts/api-properties.sh                 # the bounded run of scripts/test.sh
#   ST_MAX_EXAMPLES=500 scripts/api-properties.sh   # a longer run
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
VENV=${TWOSTEP_SCHEMATHESIS_VENV:-$PWD/target/schemathesis-venv}
TARGET=${CARGO_TARGET_DIR:-target}
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-15}
SEED=${ST_SEED:-20261126}

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$ST_VERSION"
fi

cargo build -q -p twostep-cli
data=$(mktemp -d)
# Limits per IP are raised: every request comes from 127.0.0.1, and a run
# that only sees 429 tests nothing behind them.
"$TARGET/debug/twostep" serve --listen 127.0.0.1:0 --data-dir "$data" --captcha-bits 0 \
  --login-per-ip-per-minute 1000000 --accounts-per-ip-per-hour 1000000 --captcha-per-ip-per-minute 1000000 \
  --codes-per-ip-per-minute 1000000 --codes-sent-per-ip-per-hour 1000000 \
  >"$data/stdout" 2>"$data/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
url=
for _ in $(seq 1 100); do
  url=$(grep -o 'http://[0-9.:]*' "$data/stdout" | head -n1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start:"; cat "$data/server.log"; exit 1; }

# A signed-in account, so the operations behind a bearer token are reached.
email=properties@example.com
password=correct-horse-battery
curl -fsS -XPOST "$url/api/v1/accounts" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" >/dev/null
# Delivery runs in the background: wait up to 10 s for the code to arrive.
code=
for _ in $(seq 1 50); do
  code=$(curl -fsS "$url/api/v1/dev/outbox?to=$email" | python3 -c '
import json, re, sys
messages = json.load(sys.stdin)["messages"]
found = re.search(r"\b\d{6}\b", messages[0]["body"]) if messages else None
print(found.group() if found else "")')
  [ -n "$code" ] && break
  sleep 0.2
done
[ -n "$code" ] || { echo "no sign-up code in the development outbox"; cat "$data/server.log"; exit 1; }
curl -fsS -XPOST "$url/api/v1/accounts/verify-email" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"code\":\"$code\"}" >/dev/null
token=$(curl -fsS -XPOST "$url/api/v1/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["session_token"])')
[ -n "$token" ] || { echo "could not sign in"; exit 1; }
# Sudo mode (10 minutes, longer than the run), so the routes that need a
# recent proof answer from behind that check.
curl -fsS -XPOST "$url/api/v1/me/sudo" -H 'content-type: application/json' -H "Authorization: Bearer $token" \
  -d "{\"method\":\"password\",\"password\":\"$password\"}" >/dev/null

status=0
# Logout, and signing out or forgetting a device, are left out: they would
# end the session the rest of the run uses (schemathesis finds the current
# device's id in GET /me/devices), and every later answer would be 401
# (the API tests cover them). The staff audit route is
# left out while schemathesis 4.32.5 fails on it inside Hypothesis ("AST
# constructor recursion depth mismatch", a tool error, not an answer of
# ours); crates/testkit/tests/headers.rs calls it. positive_data_acceptance is
# left out: it expects every schema-valid body to pass, but some rules are
# beyond JSON Schema (a phone number's country plan, e-mail syntax, the
# question catalogue, a backup key that matches the one shown); a rejection
# is then a documented 400 invalid_request, which the other checks verify.
# Run from the temporary directory: schemathesis keeps its cache in the
# working directory, which must not be the repository.
(cd "$data" && "$VENV/bin/schemathesis" run "$url/api/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 2 \
  --phases examples,coverage,fuzzing --continue-on-failure \
  -H "Authorization: Bearer $token" --exclude-path /api/v1/logout \
  --exclude-path "/api/v1/me/devices/{device_id}/sign-out" --exclude-path "/api/v1/me/devices/{device_id}" \
  --exclude-path /api/v1/admin/audit \
  --request-timeout 10) || status=$?

if grep -q 'panicked' "$data/server.log"; then
  echo "the server panicked during the property tests:"; grep -A5 'panicked' "$data/server.log"; status=1
fi
exit "$status"
