#!/usr/bin/env bash
# Idempotent tool setup for Jobwire: installs only what is missing, never downloads binaries
# from outside the package registries (Debian apt, crates.io, npm).
set -euo pipefail
TOOLS_DIR="${JOBWIRE_TOOLS_DIR:-$HOME/.local/share/wasm-tools}"
export PATH="$HOME/.cargo/bin:$PATH"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
log() { printf '== setup: %s (%s)\n' "$*" "$(date +%T)"; }

# 1. Debian: rustc/cargo 1.96 with std sources (wasm build-std), its clippy (lints the wasm-only
#    code, which rustup's clippy cannot build for), rust-lld, chromium + driver.
PKGS="rustc-web cargo-web rust-web-src rust-web-clippy lld-22 chromium chromium-driver"
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

# 4. npm tools into $TOOLS_DIR: `tool_install SPEC` installs the npm package SPEC there.
tool_install() {
  log "npm install $1 into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  [ -f "$TOOLS_DIR/package.json" ] || echo '{"name":"wasm-tools","version":"1.0.0","private":true}' > "$TOOLS_DIR/package.json"
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund "$1"
}

# 4a. wasm-opt from npm binaryen 132 (Debian's 108 miscompiles externref tables: blank page).
if ! "$TOOLS_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q 'version 132'; then
  tool_install binaryen@132.0.0
else
  log "binaryen 132 present"
fi

# 4b. esbuild, which minifies the package's JavaScript glue (as bundlers ship it).
ESBUILD_VERSION=0.28.2
if [ "$("$TOOLS_DIR/node_modules/.bin/esbuild" --version 2>/dev/null)" != "$ESBUILD_VERSION" ]; then
  tool_install "esbuild@$ESBUILD_VERSION"
else
  log "esbuild $ESBUILD_VERSION present"
fi

# 5–6. The test suites' npm packages from their committed lock files: playwright-core for the
#      dashboard tests, typescript (and a link to pkg/, built later) for the Node package tests.
npm_deps() {
  local dir="$ROOT/tests/$1" marker="$2"
  [ -f "$dir/package-lock.json" ] || return 0
  if [ ! -e "$dir/node_modules/$marker" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.copy"; then
    log "npm ci in tests/$1"
    (cd "$dir" && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.package-lock.json.copy)
  else
    log "tests/$1 node_modules present"
  fi
}
npm_deps e2e playwright-core
npm_deps node typescript

# 7. Third-party CloudStack clients (exoscale's cs) in a venv, for the conformance tests.
VENV="${JOBWIRE_CACHE_DIR:-$HOME/.cache/jobwire}/venv-thirdparty"
REQUIREMENTS="$ROOT/tests/thirdparty/requirements.txt"
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQUIREMENTS" "$VENV/requirements.txt.copy"; then
  log "python venv with tests/thirdparty/requirements.txt"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/requirements.txt.copy"
else
  log "third-party client venv present"
fi
# 8. cargo-fuzz for the fuzz smoke in ./dev test (and ./dev fuzz, ./dev bench): ~3 min, once.
if ! cargo fuzz --version 2>/dev/null | grep -qx 'cargo-fuzz 0.13.2'; then
  log "cargo install cargo-fuzz 0.13.2"
  cargo install cargo-fuzz --version 0.13.2 --locked --force
else
  log "cargo-fuzz 0.13.2 present"
fi
log "done"
