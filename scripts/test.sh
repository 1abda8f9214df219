#!/usr/bin/env bash
# Runs every test of twostep, after the formatting, lint and dependency
# checks. Installs what the tests need and is missing (oathtool, the
# reference TOTP implementation; curl for the walk-through; postfix and
# openssl for the e-mail-over-TLS tests; chromium and chromium-driver for the
# pages; cargo-deny; schemathesis, through scripts/api-properties.sh, into
# target/schemathesis-venv; Authlib into target/oidc-venv) and makes sure PostgreSQL
# answers on 127.0.0.1:5432, since the PostgreSQL backend is tested for real.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

install_debian() {
  if [ "$(id -u)" != 0 ]; then
    echo "missing: $* — install with: sudo apt-get install $*" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

have oathtool || install_debian oathtool
# The README's walk-through (scripts/walkthrough.sh) is run by a test, with curl.
have curl || install_debian curl
# E-mail over TLS is tested against a real MTA: each test starts a Postfix
# instance of its own (own config, queue and log, loopback only) with a
# certificate from a CA it makes with openssl. "No configuration" keeps the
# package from setting up or starting a system mail server.
have openssl || install_debian openssl
if [ ! -x /usr/sbin/postfix ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  fi
  install_debian postfix
fi
# The pages are tested in headless Chromium driven by chromedriver, with
# axe-core from the npm registry (the browser tests install the pinned
# version into target/axe on first use).
have chromedriver && [ -x /usr/lib/chromium/chromium ] || install_debian chromium chromium-driver
have npm || install_debian npm

if have pg_isready && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  if have pg_ctlcluster; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

# The OpenID Connect tests run a relying party on Python's Authlib
# (scripts/oidc-authlib-rp.py) from target/oidc-venv, installed from PyPI.
OIDC_VENV=target/oidc-venv
if ! "$OIDC_VENV/bin/python" -c "import authlib, requests" 2>/dev/null; then
  python3 -m venv "$OIDC_VENV"
  "$OIDC_VENV/bin/pip" install -q "authlib==1.6.5" "requests==2.32.5"
fi

status=0
# The code's own checks: formatting (rustfmt.toml), clippy with warnings as
# errors, and cargo-deny's licence, ban and source rules (deny.toml; its
# advisory check needs the internet, so it is not run here).
cargo fmt --all --check || status=$?
cargo clippy --workspace --all-targets --quiet -- -D warnings || status=$?
if ! cargo deny --version >/dev/null 2>&1; then
  cargo install --locked --quiet cargo-deny
fi
cargo deny --log-level error check licenses bans sources || status=$?

# Property tests of the API from its OpenAPI document (schemathesis, bounded).
# They run first so that the test runner's summary is the last thing printed.
./scripts/api-properties.sh || status=$?

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast || status=$?
else
  cargo test --workspace --no-fail-fast || status=$?
fi
exit "$status"
