#!/usr/bin/env bash
# Every table of docs/benchmarks.md, in order: builds the release binary and
# runs `twostep bench` once per table, writing each table's rows as JSON and
# as text to OUT (default bench-results/). Needs PostgreSQL on 127.0.0.1:5432
# (TWOSTEP_BENCH_PG_URL to change) and an otherwise idle machine; takes about
# 25 minutes on 2 cores. SECONDS_PER_RUN (default 10) sets each run's length.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench-results}
S=${SECONDS_PER_RUN:-10}
mkdir -p "$OUT"
cargo build --release -p twostep-cli
BIN=${CARGO_TARGET_DIR:-target}/release/twostep

run() {
    local name=$1
    shift
    echo "== $name: twostep bench $*" | tee "$OUT/$name.txt"
    "$BIN" bench --seconds "$S" --json "$OUT/$name.json" "$@" 2>&1 | tee -a "$OUT/$name.txt"
}

# 1, 2. Closed-loop, every scenario (totp-valid at 1, 8, 32 and 128 clients).
run closed-sqlite --backend sqlite
run closed-postgres --backend postgres
# 3, 4. Open-loop at the target rate, and the sweep for the sustainable rate.
run open-sqlite --backend sqlite --scenario totp-valid --rate 8000
run sweep-sqlite --backend sqlite --scenario totp-valid --rate-sweep 500:5000:500
run open-postgres --backend postgres --scenario totp-valid --rate 3000
# 5. Scale-out: one instance, then two on one database, closed-loop and the sweep.
run scale-out-postgres --backend postgres --scenario scale-out --concurrency 32
run sweep-postgres --backend postgres --scenario scale-out --rate-sweep 500:4000:500
# 6. What durability, group commit and the audit chain cost, each on and off.
run costs-sqlite --backend sqlite --scenario costs --concurrency 32
run costs-postgres --backend postgres --scenario costs --concurrency 32
# 7. Another user's password step while one account floods the server.
run neighbour-sqlite --backend sqlite --scenario neighbour
