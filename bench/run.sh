#!/usr/bin/env bash
# The M/M/1 benchmark three ways, on this machine, now: Faultline native, Faultline in wasm under
# Node, and the same model in SimPy. Each figure is the best of three runs (other load on the
# machine only ever slows a run down). Usage: bash bench/run.sh [CUSTOMERS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"
N="${1:-1000000}"
SIMPY_N=$(( N < 300000 ? N : 300000 ))   # SimPy is slow; its rate per customer does not depend on N

cargo build --release --locked -p faultline-cli --quiet
best_of_3() { # model -> prints the fastest run's JSON
  local best=0 out r v
  for _ in 1 2 3; do
    r=$(./target/release/faultline bench mm1 --customers "$N" --model "$1" --json)
    v=$(printf '%s' "$r" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["customers_per_s"]))')
    (( v > best )) && best=$v && out=$r
  done
  printf '%s' "$out"
}
native_json=$(best_of_3 station)
echo "native (station, the engine like for like with SimPy): $native_json"
best_native=$(printf '%s' "$native_json" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["customers_per_s"]))')
services_json=$(best_of_3 services)
echo "native (services, client and service over a link): $services_json"
best_services=$(printf '%s' "$services_json" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["customers_per_s"]))')

wasm_line=$(CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --profile wasm --locked -p faultline-core --target wasm32-unknown-unknown --test bench_wasm -- --include-ignored --nocapture 2>/dev/null |
  grep -o '{"wasm_customers.*}')
echo "wasm (node $(node --version)): $wasm_line"
best_wasm=$(printf '%s' "$wasm_line" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["wasm_customers_per_s"]))')

python3 -c 'import simpy' 2>/dev/null || pip install --quiet simpy
best_simpy=0
for _ in 1 2 3; do
  r=$(python3 bench/mm1_simpy.py "$SIMPY_N" 0.8 1)
  v=$(printf '%s' "$r" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["customers_per_s"]))')
  (( v > best_simpy )) && best_simpy=$v && simpy_json=$r
done
echo "simpy: $simpy_json"

python3 - "$best_native" "$best_wasm" "$best_simpy" "$best_services" <<'PY'
import sys
native, wasm, simpy, services = map(int, sys.argv[1:])
print(f"customers/s (station): native {native:,}, wasm {wasm:,}, SimPy {simpy:,}")
print(f"native / SimPy = {native / simpy:.1f}x; wasm / native = {wasm / native:.2f}")
print(f"through the client and service models: native {services:,} = {services / simpy:.1f}x SimPy")
PY
