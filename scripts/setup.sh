#!/usr/bin/env bash
# Installs what Faultline needs, idempotently: each tool is checked first and skipped when the
# right version is present. `--test` adds what the tests need (Chromium, Playwright, axe-core).
# Works as root without a terminal (CI). Reaches only crates.io, npm and Debian's archive.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132
PLAYWRIGHT_VERSION=1.64.1
AXE_VERSION=4.14.1
ZOPFLI_VERSION=1.0.15
XZ_DECOMPRESS_VERSION=0.2.3

command -v cargo >/dev/null || die "cargo is missing: install Rust 1.95 first (see README)"

# wasm32 target
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "ok wasm32-unknown-unknown (present)"
else
  say "installing the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# Trunk (0.22 needs a newer rustc than this machine has)
if [[ "$(trunk --version 2>/dev/null || true)" == "trunk $TRUNK_VERSION" ]]; then
  say "ok trunk $TRUNK_VERSION (present)"
else
  say "installing trunk $TRUNK_VERSION (takes about 9 minutes on 2 cores)"
  cargo install trunk --version "$TRUNK_VERSION" --locked --quiet
fi

# wasm-bindgen CLI at exactly the version of the crate in Cargo.lock
WBG_VERSION="$(locked_version wasm-bindgen)"
[[ -n "$WBG_VERSION" ]] || die "Cargo.lock does not pin wasm-bindgen"
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" == "wasm-bindgen $WBG_VERSION" ]]; then
  say "ok wasm-bindgen $WBG_VERSION (present)"
else
  say "installing wasm-bindgen-cli $WBG_VERSION (takes about 3 minutes)"
  # Not --locked: a locked dependency of 0.2.130 is missing from the registry.
  cargo install wasm-bindgen-cli --version "$WBG_VERSION" --quiet
fi

# npm packages go to one folder outside the repo.
mkdir -p "$FAULTLINE_TOOLS"
npm_have() { # name version
  [[ -f "$FAULTLINE_TOOLS/node_modules/$1/package.json" ]] &&
    node -e "process.exit(require('$FAULTLINE_TOOLS/node_modules/$1/package.json').version === '$2' ? 0 : 1)"
}
npm_need=()
if npm_have binaryen "$BINARYEN_VERSION.0.0"; then
  say "ok wasm-opt (binaryen $BINARYEN_VERSION, present)"
else
  npm_need+=("binaryen@$BINARYEN_VERSION.0.0")
fi
# A release build's .gz files (scripts/compress.mjs): zopfli writes gzip that any browser reads,
# about 4 % smaller than zlib's level 9.
if npm_have @gfx/zopfli "$ZOPFLI_VERSION"; then
  say "ok zopfli (@gfx/zopfli $ZOPFLI_VERSION, present)"
else
  npm_need+=("@gfx/zopfli@$ZOPFLI_VERSION")
fi
# The page's wasm ships as .xz (scripts/pack-wasm.mjs): the browser decodes it with this small
# streaming decoder (xz-embedded in wasm), copied beside the page at build time.
if npm_have xz-decompress "$XZ_DECOMPRESS_VERSION"; then
  say "ok xz-decompress $XZ_DECOMPRESS_VERSION (present)"
else
  npm_need+=("xz-decompress@$XZ_DECOMPRESS_VERSION")
fi
if (( want_test )); then
  if npm_have playwright-core "$PLAYWRIGHT_VERSION"; then
    say "ok playwright-core $PLAYWRIGHT_VERSION (present)"
  else
    npm_need+=("playwright-core@$PLAYWRIGHT_VERSION")
  fi
  # The accessibility test (tests/e2e/a11y.test.mjs) injects axe-core's axe.min.js into pages.
  if npm_have axe-core "$AXE_VERSION"; then
    say "ok axe-core $AXE_VERSION (present)"
  else
    npm_need+=("axe-core@$AXE_VERSION")
  fi
fi
if (( ${#npm_need[@]} )); then
  say "installing ${npm_need[*]} into $FAULTLINE_TOOLS"
  # Keep already-installed packages: name them too, so npm does not prune them.
  keep=()
  npm_have binaryen "$BINARYEN_VERSION.0.0" && keep+=("binaryen@$BINARYEN_VERSION.0.0")
  npm_have @gfx/zopfli "$ZOPFLI_VERSION" && keep+=("@gfx/zopfli@$ZOPFLI_VERSION")
  npm_have xz-decompress "$XZ_DECOMPRESS_VERSION" && keep+=("xz-decompress@$XZ_DECOMPRESS_VERSION")
  (( want_test )) && npm_have playwright-core "$PLAYWRIGHT_VERSION" && keep+=("playwright-core@$PLAYWRIGHT_VERSION")
  (( want_test )) && npm_have axe-core "$AXE_VERSION" && keep+=("axe-core@$AXE_VERSION")
  [[ -f "$FAULTLINE_TOOLS/package.json" ]] || echo '{"name":"faultline-tools","private":true}' > "$FAULTLINE_TOOLS/package.json"
  (cd "$FAULTLINE_TOOLS" && npm install --no-audit --no-fund --loglevel=error --save-exact "${keep[@]}" "${npm_need[@]}" >/dev/null)
fi
wasm-opt --version >/dev/null || die "wasm-opt does not run"

# Installs a Debian package. apt needs root: CI runs as root; a developer's account goes
# through sudo, and without it the message says what to run instead.
apt_install() { # package, what to do without root
  local as_root=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || die "installing $1 needs root: $2"
    as_root=(sudo)
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

# xz packs the page's wasm at build time (scripts/pack-wasm.mjs). Debian's xz-utils is on most
# machines already.
if command -v xz >/dev/null; then
  say "ok xz ($(xz --version | head -1), present)"
else
  say "installing Debian's xz-utils"
  apt_install xz-utils "run 'apt-get install xz-utils' as root"
  command -v xz >/dev/null || die "xz-utils was installed but xz is not on PATH"
fi

if (( want_test )); then
  if [[ -x "$FAULTLINE_CHROMIUM" ]]; then
    say "ok chromium ($("$FAULTLINE_CHROMIUM" --version 2>/dev/null | head -1), present)"
  else
    say "installing Debian's chromium (takes about half a minute)"
    apt_install chromium "run 'apt-get install chromium' as root, or set FAULTLINE_CHROMIUM to a Chromium you have"
    [[ -x "$FAULTLINE_CHROMIUM" ]] || die "chromium was installed but $FAULTLINE_CHROMIUM is not there: set FAULTLINE_CHROMIUM"
  fi
fi
