#!/usr/bin/env bash
# Idempotent tool setup for Jobwire: installs only what is missing, never downloads binaries
# from outside the package registries (Debian apt, crates.io, npm).
set -euo pipefail
TOOLS_DIR="${JOBWIRE_TOOLS_DIR:-$HOME/.local/share/wasm-tools}"
export PATH="$HOME/.cargo/bin:$PATH"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
log() { printf '== setup: %s (%s)\n' "$*" "$(date +%T)"; }

# 1. Debian: rustc/cargo 1.96 with std sources (wasm build-std), rust-lld, chromium + driver.
PKGS="rustc-web cargo-web rust-web-src lld-22 chromium chromium-driver"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "apt-get install$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q $missing
else
  log "apt packages present"
fi
test -d /usr/lib/rustlib/src/rust/library/std || { echo "rust-web-src: std source missing" >&2; exit 1; }

# 2. wasm-bindgen CLI must equal the pinned crate version (=0.2.130). No --locked: its lockfile
#    names a crate version missing from the registry.
if ! wasm-bindgen --version 2>/dev/null | grep -qx 'wasm-bindgen 0.2.130'; then
  log "cargo install wasm-bindgen-cli 0.2.130"
  cargo install wasm-bindgen-cli --version 0.2.130 --force
else
  log "wasm-bindgen-cli 0.2.130 present"
fi

# 3. Trunk 0.21.14 (0.22 needs rustc >= 1.96.1).
if ! trunk --version 2>/dev/null | grep -qx 'trunk 0.21.14'; then
  log "cargo install trunk 0.21.14"
  cargo install trunk --version 0.21.14 --locked --force
else
  log "trunk 0.21.14 present"
fi

# 4. wasm-opt from npm binaryen 132 (Debian's 108 miscompiles externref tables: blank page).
if ! "$TOOLS_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q 'version 132'; then
  log "npm install binaryen@132.0.0 into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  [ -f "$TOOLS_DIR/package.json" ] || echo '{"name":"wasm-tools","version":"1.0.0","private":true}' > "$TOOLS_DIR/package.json"
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund binaryen@132.0.0
else
  log "binaryen 132 present"
fi

# 5. The project's npm dev packages (playwright-core) from the committed lock file.
if [ -f "$ROOT/tests/e2e/package-lock.json" ]; then
  if [ ! -d "$ROOT/tests/e2e/node_modules/playwright-core" ] || \
     ! cmp -s "$ROOT/tests/e2e/package-lock.json" "$ROOT/tests/e2e/node_modules/.package-lock.json.copy"; then
    log "npm ci in tests/e2e"
    (cd "$ROOT/tests/e2e" && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.package-lock.json.copy)
  else
    log "tests/e2e node_modules present"
  fi
fi
# 6. The Node package tests' npm packages (typescript, and a link to pkg/, built later).
if [ -f "$ROOT/tests/node/package-lock.json" ]; then
  if [ ! -e "$ROOT/tests/node/node_modules/typescript" ] || \
     ! cmp -s "$ROOT/tests/node/package-lock.json" "$ROOT/tests/node/node_modules/.package-lock.json.copy"; then
    log "npm ci in tests/node"
    (cd "$ROOT/tests/node" && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.package-lock.json.copy)
  else
    log "tests/node node_modules present"
  fi
fi
log "done"
