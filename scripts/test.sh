#!/usr/bin/env bash
# README command 2: runs every test, in order, and ends with one line "N passed, N failed".
# Each stage's output is shown and kept in target/test-logs/. A failed stage does not stop the
# later independent ones, but the exit code is non-zero if anything failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# Property tests draw their cases from a fixed seed here, so a red run is the same red run on
# every machine and every rerun. Explore new cases with another seed and more of them:
#   PROPTEST_RNG_SEED=$RANDOM PROPTEST_CASES=10000 cargo test --release -p faultline-core --test properties
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261125}"

LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"
passed=0
failed=0
failures=()

# Adds the counts of one stage's log: cargo/libtest and wasm-bindgen-test "test result" lines,
# node's test runner "# pass/# fail" lines. A stage that ran no counted test is one check.
count() { # stage-name exit-code log
  local name=$1 rc=$2 log=$3 p f
  p=$(grep -aE '^test result: ' "$log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
  f=$(grep -aE '^test result: ' "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
  p=$(( p + $(grep -aE '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}') ))
  f=$(( f + $(grep -aE '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}') ))
  if (( p + f == 0 )); then
    if (( rc == 0 )); then p=1; else f=1; fi
  elif (( rc != 0 && f == 0 )); then
    f=1 # the runner failed outside any test (a build error, a crash)
  fi
  passed=$(( passed + p ))
  failed=$(( failed + f ))
  (( f > 0 )) && failures+=("$name")
  return 0
}

stage() { # name command...
  local name=$1; shift
  local log="$LOGS/$name.log" start=$SECONDS rc
  printf '\n=== %s\n' "$name"
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count "$name" "$rc" "$log"
  printf '=== %s: %s in %ss\n' "$name" "$([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)")" $(( SECONDS - start ))
  return "$rc"
}

guard_core() {
  local tree
  tree=$(cargo tree -p faultline-core -e normal --target wasm32-unknown-unknown --locked --prefix none) || return 1
  local bad
  bad=$(printf '%s\n' "$tree" | awk '{print $1}' | grep -xE 'wasm-bindgen|web-sys|js-sys|yew|gloo.*|getrandom' | sort -u)
  if [[ -n "$bad" ]]; then
    echo "faultline-core must not depend on web crates or getrandom, but its tree has: $bad"
    return 1
  fi
  echo "faultline-core's normal dependencies for wasm32 have no web crate and no getrandom"
}

size_report() {
  local wasm js w decoder first
  # The page's own files (hashed names); the sweep's worker (faultline-worker*, not hashed) is
  # not in the first download and gets a line of its own.
  wasm=$(ls dist/faultline-web-*_bg.wasm 2>/dev/null | head -1)
  js=$(ls dist/faultline-web-*.js 2>/dev/null | head -1)
  [[ -n "$wasm" && -n "$js" ]] || { echo "dist/ has no page wasm or js: did the build run?"; return 1; }
  [[ -f dist/faultline-worker_bg.wasm ]] || { echo "dist/ has no sweep worker: did the build run?"; return 1; }
  decoder=$(ls dist/xz-decompress-*.min.js 2>/dev/null | head -1)
  [[ -f "$wasm.xz" && -f dist/faultline-worker_bg.wasm.xz && -n "$decoder" ]] || { echo "the page's wasm was not packed as .xz: is xz-decompress installed (bash scripts/setup.sh)?"; return 1; }
  first=$(cat dist/index.html.gz dist/style-*.css.gz "$js.gz" "$decoder.gz" "$wasm.xz" | wc -c)
  {
    printf 'wasm: %s bytes, %s bytes gzipped (%s)\n' "$(wc -c <"$wasm")" "$(gzip -9c "$wasm" | wc -c)" "$(basename "$wasm")"
    printf 'js:   %s bytes, %s bytes gzipped (%s)\n' "$(wc -c <"$js")" "$(gzip -9c "$js" | wc -c)" "$(basename "$js")"
    # What a host that serves the build's precompressed copies sends (zopfli's gzip, brotli 11).
    [[ -f "$wasm.gz" && -f "$wasm.br" ]] && printf 'wasm as served precompressed: %s bytes .gz, %s bytes .br\n' "$(wc -c <"$wasm.gz")" "$(wc -c <"$wasm.br")"
    # What the page fetches: the wasm packed as .xz (scripts/pack-wasm.mjs) and its decoder, and
    # the whole first download as a host that sends gzip only sends it.
    printf 'wasm as the page fetches it: %s bytes .xz, decoder %s bytes .gz\n' "$(wc -c <"$wasm.xz")" "$(wc -c <"$decoder.gz")"
    printf 'first download from a gzip host: %s bytes (index.html, css and js .gz, decoder .gz, wasm .xz)\n' "$first"
    # Not in the first download: fetched when a lesson is first opened.
    [[ -f dist/lessons.json ]] && printf 'lessons.json (when a lesson opens): %s bytes, %s bytes gzipped\n' "$(wc -c <dist/lessons.json)" "$(gzip -9c dist/lessons.json | wc -c)"
    # Not in the first download either: fetched when a sweep starts.
    w=$(cat dist/faultline-worker_bg.wasm dist/faultline-worker.js dist/faultline-worker_loader.js | wc -c)
    printf 'sweep worker (when a sweep starts): %s bytes, %s bytes gzipped (wasm, js and loader)\n' "$w" \
      "$(( $(gzip -9c dist/faultline-worker_bg.wasm | wc -c) + $(gzip -9c dist/faultline-worker.js | wc -c) + $(gzip -9c dist/faultline-worker_loader.js | wc -c) ))"
    printf 'sweep worker as the page fetches it: %s bytes (wasm .xz, js and loader .gz)\n' \
      "$(cat dist/faultline-worker_bg.wasm.xz dist/faultline-worker.js.gz dist/faultline-worker_loader.js.gz | wc -c)"
    true
  } | tee target/size-report.txt
  # A budget, so that growth is a decision rather than a drift: a cold path compiled a second
  # time inside the engine at opt-level 2 (see ARCHITECTURE.md, the invariant on serde code), a
  # standard sort or B-tree `collect` (a copy of the sort each; see order.rs) or a new dependency
  # shows here. Raise it, with the reason, in the commit that needs it.
  local budget=765000 gz
  gz=$(gzip -9c "$wasm" | wc -c)
  if (( gz > budget )); then
    echo "the page's wasm is $gz bytes gzipped, over its budget of $budget bytes"
    return 1
  fi
  echo "the page's wasm is within its budget ($gz of $budget bytes gzipped)"
  # The first download as a gzip-only host sends it, with the wasm packed: the issue's figure
  # for a school network (600 KB), kept so that growth shows here too.
  local first_budget=600000
  if (( first > first_budget )); then
    echo "the first download from a gzip host is $first bytes, over its budget of $first_budget bytes"
    return 1
  fi
  echo "the first download is within its budget ($first of $first_budget bytes from a gzip host)"
}

wasm_tests() {
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p faultline-core --target wasm32-unknown-unknown --locked --no-fail-fast
}

e2e() {
  node --test --test-reporter=tap "$ROOT/tests/e2e/"*.test.mjs
}

start=$SECONDS
stage setup bash "$ROOT/scripts/setup.sh" --test || { echo "set-up failed: nothing else can run"; echo "$passed passed, $((failed)) failed"; exit 1; }
stage fetch cargo fetch --locked
stage fmt cargo fmt --all --check
stage clippy-native cargo clippy --workspace --all-targets --locked -- -D warnings
stage clippy-wasm cargo clippy --workspace --exclude faultline-cli --target wasm32-unknown-unknown --locked -- -D warnings
stage guard-core guard_core
stage cargo-test cargo test --workspace --locked --no-fail-fast
stage wasm-test wasm_tests
if stage build trunk build --release --offline; then
  stage size size_report
  stage e2e e2e
else
  echo "no site was built: the end-to-end tests cannot run"
  failed=$(( failed + 1 ))
  failures+=("e2e (no build)")
fi

printf '\ntotal wall time %ss\n' $(( SECONDS - start ))
(( ${#failures[@]} )) && printf 'failed stages: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
(( failed == 0 ))
