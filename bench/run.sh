#!/usr/bin/env bash
# The M/M/1 benchmark four ways, on this machine, now: Faultline native, Faultline in wasm under
# Node and in headless Chromium (bench/wasm_chromium.mjs: the engine learners run it in; needs
# bash scripts/setup.sh --test), and the same model in SimPy. The three run in turn, round after round, so that each round
# compares them under the same load on the machine (a shared machine's speed drifts by a fifth
# from one minute to the next). Each figure is the best of its rounds (other load only ever slows
# a run down); the ratios are given both from the best figures and per round.
# Usage: bash bench/run.sh [CUSTOMERS] [ROUNDS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"
N="${1:-1000000}"
ROUNDS="${2:-3}"
(( ROUNDS >= 1 && ROUNDS <= 20 )) || die "ROUNDS is 1 to 20"
SIMPY_N=$(( N < 300000 ? N : 300000 ))   # SimPy is slow; its rate per customer does not depend on N

cargo build --release --locked -p faultline-cli --quiet
python3 -c 'import simpy' 2>/dev/null || pip install --quiet simpy
wasm_run() {
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --profile wasm --locked -p faultline-core --target wasm32-unknown-unknown --test bench_wasm -- --include-ignored --nocapture 2>/dev/null |
    grep -o '{"wasm_customers.*}'
}
wasm_run >/dev/null # builds the test once, outside the rounds
rate() { python3 -c 'import json,sys; print(int(json.load(sys.stdin)[sys.argv[1]]))' "$1"; }

rows=()
for r in $(seq 1 "$ROUNDS"); do
  native=$(./target/release/faultline bench mm1 --customers "$N" --model station --json)
  services=$(./target/release/faultline bench mm1 --customers "$N" --model services --json)
  wasm=$(wasm_run)
  chrome=$(node bench/wasm_chromium.mjs)
  simpy=$(python3 bench/mm1_simpy.py "$SIMPY_N" 0.8 1)
  row="$(rate customers_per_s <<<"$native") $(rate customers_per_s <<<"$services") $(rate wasm_customers_per_s <<<"$wasm") $(rate customers_per_s <<<"$simpy") $(rate wasm_customers_per_s <<<"$chrome")"
  echo "round $r: native station, native services, wasm station (Node), SimPy, wasm station (Chromium): $row"
  rows+=("$row")
done
echo "native (station, the engine like for like with SimPy), last round: $native"
echo "wasm (node $(node --version)), last round: $wasm"
echo "wasm (Chromium), last round: $chrome"
echo "simpy, last round: $simpy"

printf '%s\n' "${rows[@]}" | python3 -c '
import statistics, sys
rows = [list(map(int, l.split())) for l in sys.stdin if l.strip()]
native, services, wasm, simpy, chrome = (max(c) for c in zip(*rows))
print(f"customers/s (station), best of {len(rows)} rounds: native {native:,}, wasm {wasm:,} (Node), {chrome:,} (Chromium), SimPy {simpy:,}")
print(f"native / SimPy = {native / simpy:.1f}x; wasm / native = {wasm / native:.2f} (Node), {chrome / native:.2f} (Chromium)")
print("per round: native / SimPy " + ", ".join(f"{r[0] / r[3]:.1f}x" for r in rows)
      + "; wasm / native " + ", ".join(f"{r[2] / r[0]:.2f}" for r in rows) + " (Node), "
      + ", ".join(f"{r[4] / r[0]:.2f}" for r in rows) + " (Chromium)")
print(f"median of the rounds: native / SimPy {statistics.median(r[0] / r[3] for r in rows):.1f}x, "
      f"wasm / native {statistics.median(r[2] / r[0] for r in rows):.2f} (Node), "
      f"{statistics.median(r[4] / r[0] for r in rows):.2f} (Chromium)")
print(f"through the client and service models: native {services:,} = {services / simpy:.1f}x SimPy")
'
