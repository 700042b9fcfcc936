#!/usr/bin/env bash
# README command 1: build the playground and serve it on http://127.0.0.1:8080.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
cargo fetch --locked --quiet
say "serving on http://127.0.0.1:8080 (Ctrl-C to stop)"
exec trunk serve --release --offline --address 127.0.0.1 --port 8080
