#!/usr/bin/env bash
# ./dev bench, SDK part: how soon and with how few requests the SDK sees jobs finish (per job,
# 1,000 at once, 10,000 under throttling; `jobwire-bench`, the SDK's native build against the
# reference server in-process), and the npm package's size next to a JavaScript peer bundle.
# Expects the package built in pkg/ (./dev bench runs `./dev package`'s build first), and
# optionally the Rust-client build in $JOBWIRE_PKG_RUST_API, for comparison. Prints
# Markdown tables; the goals of issue 6 are marked met or not, nothing here fails the run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE_DIR="${JOBWIRE_CACHE_DIR:-$HOME/.cache/jobwire}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE_DIR/target}"
CARGO="${NATIVE_CARGO:-$HOME/.cargo/bin/cargo}"
PKG="${JOBWIRE_PKG:-$ROOT/pkg}"
PEER="$ROOT/tests/bench/peer"

# The peer packages: bundled for the size comparison, and core-lro's poller is a per-job row.
echo "== bench-sdk: npm ci in tests/bench/peer (esbuild, @azure/core-lro, fast-xml-parser, @azure/core-rest-pipeline)" >&2
(cd "$PEER" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

echo "== bench-sdk: cargo build --profile server (jobwire-bench)"
"$CARGO" build --profile server -q -p jobwire-e2e --bin jobwire-bench
JOBWIRE_PKG="$PKG" RUST_LOG=off "$CARGO_TARGET_DIR/server/jobwire-bench"

echo
echo "### Package size: the npm package vs a JavaScript peer bundle"
echo
[ -f "$PKG/jobwire_bg.wasm" ] || { echo "bench-sdk: no package in $PKG (run ./dev package)" >&2; exit 1; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
for entry in poller poller-pipeline; do
  "$PEER/node_modules/.bin/esbuild" "$PEER/$entry.mjs" --bundle --minify --format=esm --platform=browser \
    --log-level=error --outfile="$OUT/$entry.js"
done
gz() { gzip -9c "$1" | wc -c; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1000 }'; }
row() { printf '| %s | %s | %s |\n' "$1" "$(kb "$2")" "$(kb "$3")"; }
wasm_raw=$(wc -c <"$PKG/jobwire_bg.wasm"); wasm_gz=$(gz "$PKG/jobwire_bg.wasm")
# The JS a page loads besides the .wasm, gzipped as one: the entry (index.js) and jobwire.js (the
# driver, engine, wasm-bindgen glue, error classes and watch stream; or, in the Rust-client
# build, the glue and the snippets it imports).
js_of() { shopt -s nullglob; cat "$1/index.js" "$1/jobwire.js" "$1"/snippets/*/js/*.js; }
js_of "$PKG" >"$OUT/glue.js"
js_raw=$(wc -c <"$OUT/glue.js"); js_gz=$(gz "$OUT/glue.js")
total_gz=$((wasm_gz + js_gz))
peer_raw=$(wc -c <"$OUT/poller.js"); peer_gz=$(gz "$OUT/poller.js")
pipe_raw=$(wc -c <"$OUT/poller-pipeline.js"); pipe_gz=$(gz "$OUT/poller-pipeline.js")
echo "| bundle | raw | gzip -9 |"
echo "|---|---:|---:|"
row "jobwire: \`jobwire_bg.wasm\` (the protocols: encoding, signing, reading; wasm-opt -Oz --converge)" "$wasm_raw" "$wasm_gz"
row "jobwire: \`index.js\` + \`jobwire.js\` (driver, engine, wasm-bindgen glue, error classes, watch stream; esbuild --minify)" "$js_raw" "$js_gz"
row "**jobwire: .wasm + JS**" "$((wasm_raw + js_raw))" "$total_gz"
if [ -n "${JOBWIRE_PKG_RUST_API:-}" ]; then
  # The same API as the async Rust client compiled to wasm (JOBWIRE_RUST_API=1), for comparison.
  rust_wasm_raw=$(wc -c <"$JOBWIRE_PKG_RUST_API/jobwire_bg.wasm"); rust_wasm_gz=$(gz "$JOBWIRE_PKG_RUST_API/jobwire_bg.wasm")
  js_of "$JOBWIRE_PKG_RUST_API" >"$OUT/rust-api.js"
  rust_js_raw=$(wc -c <"$OUT/rust-api.js"); rust_js_gz=$(gz "$OUT/rust-api.js")
  row "for comparison, the Rust client compiled to wasm (JOBWIRE_RUST_API=1): .wasm + glue" "$((rust_wasm_raw + rust_js_raw))" "$((rust_wasm_gz + rust_js_gz))"
fi
row "peer: @azure/core-lro 3.3.1 + fast-xml-parser 5.12.1 (esbuild --minify)" "$peer_raw" "$peer_gz"
row "peer + @azure/core-rest-pipeline 1.25.1" "$pipe_raw" "$pipe_gz"
echo
echo "| goal | measured | met |"
echo "|---|---|---|"
met() { if [ "$1" -eq 1 ]; then echo yes; else echo "**no**"; fi; }
# KB as the peer figures are given (1,000 bytes): the stricter reading.
printf '| floor: ≤ 60 KB gzipped (60,000 B) | %s B | %s |\n' "$total_gz" "$(met $((total_gz <= 60000)))"
printf '| goal: smaller than the peer with its pipeline | %s vs %s | %s |\n' "$(kb "$total_gz")" "$(kb "$pipe_gz")" \
  "$(met $((total_gz < pipe_gz)))"
