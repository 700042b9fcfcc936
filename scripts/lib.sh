# Shared helpers for Faultline's scripts. Sourced, not run.
# Where tools outside cargo live: outside the repo, so a fresh clone on the same machine (as CI
# makes) reuses them and a second run spends seconds on set-up.
FAULTLINE_TOOLS="${FAULTLINE_TOOLS:-$HOME/.cache/faultline}"
export FAULTLINE_TOOLS
export PATH="$FAULTLINE_TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Chromium must not phone home: this network refuses it, and the tests must not wait on it.
export FAULTLINE_CHROMIUM="${FAULTLINE_CHROMIUM:-/usr/bin/chromium}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The wasm-bindgen version Cargo.lock pins: the CLI must match it exactly.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}
