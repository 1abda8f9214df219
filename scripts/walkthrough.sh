#!/usr/bin/env bash
# The README's walk-through, as a script that runs as written: sign up,
# confirm the e-mail with the code from the development outbox, solve the
# captcha, sign in, confirm it's you, enrol an authenticator, then sign in
# again with the password and an authenticator code.
#
# Needs a running server with the development outbox (no e-mail provider),
# e.g. `cargo run -p twostep-cli -- serve`, and bash, curl, python3 and
# oathtool (Debian: apt-get install curl python3 oathtool).
#
#   ./scripts/walkthrough.sh                      # the server on 127.0.0.1:8080
#   TWOSTEP_URL=http://127.0.0.1:9000 ./scripts/walkthrough.sh
#   EMAIL=alice@example.com ./scripts/walkthrough.sh
#
# The address must not have an account yet (sign-up of a taken address only
# tells its owner), so the default is a new one each run.
set -euo pipefail

URL=${TWOSTEP_URL:-http://127.0.0.1:8080}
EMAIL=${EMAIL:-walk-$(date +%s)-$$@example.com}
PASSWORD=${PASSWORD:-correct horse battery}

for tool in curl python3 oathtool; do
    command -v "$tool" >/dev/null || { echo "walkthrough: $tool is needed" >&2; exit 1; }
done

# call METHOD PATH EXPECTED_STATUS [JSON_BODY] [TOKEN]: prints the request
# and the answer, stops unless the status is the expected one; the answer's
# body is left in $BODY.
call() {
    local method=$1 path=$2 expected=$3 body=${4:-} token=${5:-}
    local args=(-sS -X "$method" -o /tmp/twostep-walk.$$ -w '%{http_code}')
    [ -n "$body" ] && args+=(-H 'content-type: application/json' -d "$body")
    [ -n "$token" ] && args+=(-H "authorization: Bearer $token")
    echo "> $method $path${body:+ $body}"
    local status
    status=$(curl "${args[@]}" "$URL$path")
    BODY=$(cat /tmp/twostep-walk.$$)
    rm -f /tmp/twostep-walk.$$
    echo "< $status $BODY"
    if [ "$status" != "$expected" ]; then
        echo "walkthrough: expected $expected from $method $path" >&2
        exit 1
    fi
}

# json FIELD: a field of the last answer ($BODY), e.g. json session_token.
json() {
    python3 -c 'import json, sys; v = json.loads(sys.argv[1]); [v := v[k] for k in sys.argv[2].split(".")]; print(v)' \
        "$BODY" "$1"
}

# The newest 6-digit code sent to $1, from the development outbox (delivery
# runs in the background: wait a moment for it).
outbox_code() {
    local to=$1 code=""
    for _ in $(seq 50); do
        code=$(curl -sS "$URL/api/v1/dev/outbox?to=$to" | python3 -c '
import json, re, sys
messages = json.load(sys.stdin)["messages"]
found = re.search(r"\b\d{6}\b", messages[0]["body"]) if messages else None
print(found.group(0) if found else "")')
        [ -n "$code" ] && { echo "$code"; return; }
        sleep 0.2
    done
    echo "walkthrough: no code for $to in the development outbox" >&2
    exit 1
}

# The captcha: a decimal nonce such that SHA-256 over the UTF-8 bytes of the
# salt followed by the nonce's digits starts with difficulty_bits zero bits.
# Prints the "captcha" object for the login body (the exchange goes to stderr).
solved_captcha() {
    call GET /api/v1/captcha 200 >&2
    python3 -c '
import hashlib, json, sys
c = json.loads(sys.argv[1])
bits, prefix = c["difficulty_bits"], hashlib.sha256(c["salt"].encode())
nonce = 0
while True:
    h = prefix.copy()
    h.update(str(nonce).encode())
    if int.from_bytes(h.digest(), "big") >> (256 - bits) == 0:
        break
    nonce += 1
print(json.dumps({"challenge_id": c["challenge_id"], "nonce": str(nonce)}))' "$BODY"
}

echo "# 1. Sign up; the 6-digit code goes to the development outbox"
call POST /api/v1/accounts 202 "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
CODE=$(outbox_code "$EMAIL")
echo "  code from GET /api/v1/dev/outbox?to=$EMAIL: $CODE"
call POST /api/v1/accounts/verify-email 200 "{\"email\":\"$EMAIL\",\"code\":\"$CODE\"}"

echo "# 2. Sign in: solve the captcha, then send it with the password"
CAPTCHA=$(solved_captcha)
echo "  solved: $CAPTCHA"
call POST /api/v1/login 200 "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\",\"captcha\":$CAPTCHA}"
TOKEN=$(json session_token)

echo "# 3. Confirm it's you (sudo mode): without a second factor, the password again"
call POST /api/v1/me/sudo 200 "{\"method\":\"password\",\"password\":\"$PASSWORD\"}" "$TOKEN"

echo "# 4. Enrol an authenticator: write down backup_key, then type it back with a current code"
call POST /api/v1/me/totp 201 "" "$TOKEN"
SETUP_ID=$(json setup_id)
KEY=$(json backup_key)
ENROL_CODE=$(oathtool --totp -b "$KEY")
call POST /api/v1/me/totp/confirm 200 \
    "{\"setup_id\":\"$SETUP_ID\",\"backup_key\":\"$KEY\",\"code\":\"$ENROL_CODE\"}" "$TOKEN"
call POST /api/v1/logout 204 "" "$TOKEN"

echo "# 5. Sign in again: the password step now asks for the second factor"
CAPTCHA=$(solved_captcha)
call POST /api/v1/login 200 "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\",\"captcha\":$CAPTCHA}"
LOGIN_ID=$(json login_id)

echo "# 6. Each code counts once: the enrolment code is refused; wait for the next one"
call POST "/api/v1/login/$LOGIN_ID/totp" 401 "{\"code\":\"$ENROL_CODE\"}"
WAIT=$((30 - $(date +%s) % 30 + 1))
echo "  waiting ${WAIT}s for the authenticator's next code"
sleep "$WAIT"
call POST "/api/v1/login/$LOGIN_ID/totp" 200 "{\"code\":\"$(oathtool --totp -b "$KEY")\"}"
TOKEN=$(json session_token)
call GET /api/v1/me 200 "" "$TOKEN"

echo "walkthrough done: $EMAIL signed in with a password and an authenticator code"
