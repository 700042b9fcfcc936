#!/usr/bin/env bash
# Where the page's wasm bytes go, by crate: builds the release wasm, runs wasm-bindgen and
# wasm-opt as Trunk does but keeping function names, and groups twiggy's sizes by the crate that
# owns each function (a trait impl counts for the type's crate). Data segments are the lessons,
# the templates and every string. Installs twiggy with cargo the first time.
#   bash bench/size.sh [rows]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"
rows="${1:-25}"
command -v twiggy >/dev/null || cargo install twiggy --version 0.8.0 --locked --quiet
command -v wasm-opt >/dev/null || die "wasm-opt is missing: run bash scripts/setup.sh first"
cargo build --profile wasm -p faultline-web --target wasm32-unknown-unknown --locked --quiet
out="$ROOT/target/size"
mkdir -p "$out"
wasm-bindgen --target web --keep-debug --out-dir "$out" target/wasm32-unknown-unknown/wasm/faultline-web.wasm
# The same passes as the shipped build (Trunk's data-wasm-opt="z"), with names kept (-g).
wasm-opt -Oz -g --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals "$out/faultline-web_bg.wasm" -o "$out/named.wasm"
twiggy top -n 1000000 --format csv "$out/named.wasm" > "$out/top.csv"
python3 - "$out/top.csv" "$rows" <<'PY'
import collections, csv, re, sys
by, n = collections.Counter(), collections.Counter()
for r in csv.DictReader(open(sys.argv[1])):
    name, size = r["Name"], int(r["ShallowSize"])
    if "function names" in name or name.startswith("custom section"):
        continue  # kept here for the names only; the shipped wasm has neither
    if name.startswith("data segment"):
        key = "(data: lessons, templates, strings)"
    else:
        m = re.match(r"^<&?(?:mut )?([A-Za-z_][A-Za-z0-9_]*)::.* as ", name) or \
            re.match(r"^<?&?(?:mut )?\[?([A-Za-z_][A-Za-z0-9_]*)(?:::|<)", name)
        key = m.group(1) if m else "(unnamed: closures, glue)"
    by[key] += size
    n[key] += 1
total = sum(by.values())
print(f"{'bytes':>9} {'share':>6} {'items':>6}  crate")
for k, v in by.most_common(int(sys.argv[2])):
    print(f"{v:>9} {100 * v / total:5.1f}% {n[k]:>6}  {k}")
print(f"{total:>9} 100.0%         in all (before gzip; the shipped wasm is this without names)")
PY
