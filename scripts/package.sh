#!/usr/bin/env bash
# Builds the npm package of the SDK into pkg/ (or $1): wasm32 release build, wasm-bindgen
# --target web, wasm-opt -Oz (npm binaryen 132), a Node entry, package.json and README.
# Run it through `./dev package`, which supplies the wasm toolchain's environment (wasm_env).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/pkg}"
: "${CARGO_UNSTABLE_BUILD_STD:?run this through ./dev package (it sets the wasm toolchain environment)}"
: "${CARGO_TARGET_DIR:?run this through ./dev package}"
log() { printf '== package: %s (%s)\n' "$*" "$(date +%T)"; }
cd "$ROOT"

# Built for size beyond the release profile: std itself rebuilt with `optimize_for_size` (smaller
# sort, number parsing and formatting code), and `-Cpanic=immediate-abort` (nightly, allowed by
# RUSTC_BOOTSTRAP on the Debian rustc): a panic traps at once, so the panic messages, their
# source locations and the formatting they need are left out. Errors the API reports are
# `Result`s and stay typed; only the text of a bug's panic is lost. `-Zfmt-debug=none` turns every
# `{:?}` into nothing (−3 KB gzipped): the SDK's messages format with `Display` only, and `Debug`
# is for developers, who read it in native builds and tests. Features: no `xml` (JSON only; every
# CloudStack command answers in JSON, and the XML reader costs ~10 KB gzipped), and `small-alloc`
# (Talc instead of dlmalloc, −2 KB gzipped). A target dir of its own, so these flags do not
# rebuild the dashboard's std (and it not ours) on every alternate build.
#
# The package: the JavaScript driver (sdk/js/driver/) and engine (sdk/js/engine/) over the
# sans-IO wasm core that encodes, signs and reads the protocols (feature `js-core`); see
# docs/package-size.md for why. Other builds, for tests:
# - JOBWIRE_RUST_API=1: the same API as the async Rust client compiled to wasm (feature `js`,
#   js/api.rs): 104 KB gzipped, over the package's size floor; the Node tests run on both.
# - JOBWIRE_ORACLE=1: only the wasm core with the Rust engine's exports (feature `js-engine`)
#   and its glue, unminified: what sdk/js/engine/tests/twin.test.mjs holds the JS engine to.
RUST_API="${JOBWIRE_RUST_API:-}"
ORACLE="${JOBWIRE_ORACLE:-}"
FEATURES=js-core,small-alloc
[ -n "$RUST_API" ] && FEATURES=js,small-alloc
[ -n "$ORACLE" ] && FEATURES=js-engine,small-alloc
log "cargo build -p jobwire (wasm32, release, features $FEATURES, std optimize_for_size, panic immediate-abort, fmt-debug none)"
PKG_TARGET_DIR="$CARGO_TARGET_DIR-pkg"
# The cache is shared by every clone on the machine, and so is the artifact's path: cargo can
# take another clone's jobwire.wasm (built from other sources, or with the other build's
# features) for fresh. Rebuilding the crate itself costs seconds; std stays cached.
CARGO_TARGET_DIR="$PKG_TARGET_DIR" cargo clean -q -p jobwire --release --target wasm32-unknown-unknown
CARGO_TARGET_DIR="$PKG_TARGET_DIR" CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size \
  RUSTFLAGS="${RUSTFLAGS:-} -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none" \
  cargo build -p jobwire --release --target wasm32-unknown-unknown --no-default-features --features "$FEATURES"
wasm="$PKG_TARGET_DIR/wasm32-unknown-unknown/release/jobwire.wasm"

# Version, description and licence come from the crate.
meta="$(cargo metadata --no-deps --format-version 1 --offline | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const p = m.packages.find((p) => p.name === "jobwire");
  process.stdout.write(JSON.stringify({ version: p.version, description: p.description, license: p.license }));')"

log "wasm-bindgen --target web → $OUT"
rm -rf "$OUT"
mkdir -p "$OUT"
wasm-bindgen --target web --out-dir "$OUT" --out-name jobwire "$wasm"
[ -n "$ORACLE" ] && exit 0

# The error classes are a JS snippet the glue imports; the package's entry exports them too, so
# callers can `import { JobFailedError } from 'jobwire'` and test with `instanceof`.
errors=( "$OUT"/snippets/*/js/errors.js )
[ "${#errors[@]}" = 1 ] && [ -f "${errors[0]}" ] || { echo "package: expected one errors.js snippet, found: ${errors[*]}" >&2; exit 1; }
if [ -z "$RUST_API" ]; then
  # The driver bundled with the core's glue into jobwire.js: `jobwire-core` is the glue,
  # `jobwire-errors` the glue's own copy of the error classes (one module, so `instanceof` holds).
  log "esbuild --bundle (the JS driver over the wasm core)"
  mv "$OUT/jobwire.js" "$OUT/core.js"
  esbuild "$ROOT/sdk/js/driver/entry.js" --bundle --format=esm --target=es2022 --log-level=warning \
    --alias:jobwire-core="$OUT/core.js" --alias:jobwire-errors="${errors[0]}" --outfile="$OUT/jobwire.js"
  # The public types are the driver's (hand-written), then the core's init() declarations.
  { cat "$ROOT/sdk/js/types.d.ts" "$ROOT/sdk/js/driver/api.d.ts"; sed -n '/^export type InitInput/,$p' "$OUT/jobwire.d.ts"; } >"$OUT/api.d.ts"
  mv "$OUT/api.d.ts" "$OUT/jobwire.d.ts"
  rm -rf "$OUT/core.js" "$OUT/snippets" "$OUT/jobwire_bg.wasm.d.ts"
else
  # The public types besides the classes wasm-bindgen declares (one file for both builds).
  { sed -n '1,2p' "$OUT/jobwire.d.ts"; cat "$ROOT/sdk/js/types.d.ts"; sed -n '3,$p' "$OUT/jobwire.d.ts"; } >"$OUT/api.d.ts"
  mv "$OUT/api.d.ts" "$OUT/jobwire.d.ts"
  printf "export { JobwireError, JobFailedError, ApiError, LoginError, TransportError, ProtocolError } from './%s';\n" \
    "${errors[0]#"$OUT/"}" >> "$OUT/jobwire.js"
fi

# The glue minified, as a bundler would ship it (37 → 15 KB, 7.4 → 4.9 KB gzipped), so pages
# that import the package as is download no more. Exported names stay; the error classes carry
# their `name` on the prototype, so renamed locals change nothing callers see.
log "esbuild --minify (jobwire.js, snippets: error classes, watch stream)"
shopt -s nullglob
for js in "$OUT/jobwire.js" "$OUT"/snippets/*/js/*.js; do
  esbuild "$js" --minify --format=esm --target=es2022 --log-level=warning --allow-overwrite --outfile="$js"
done

# Only binaryen 132 (npm) is known to keep wasm-bindgen's externref tables intact.
wasm-opt --version | grep -q 'version 132' || { echo "package: need wasm-opt 132 (npm binaryen) first on PATH" >&2; exit 1; }
log "wasm-opt -Oz --converge"
wasm-opt -Oz --converge --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-multivalue --enable-mutable-globals \
  "$OUT/jobwire_bg.wasm" -o "$OUT/jobwire_bg.opt.wasm"
mv "$OUT/jobwire_bg.opt.wasm" "$OUT/jobwire_bg.wasm"

# Node's fetch cannot load file: URLs, so the web glue's default init() fails there. This entry
# (export condition "node") compiles the module from disk at import time instead.
cat > "$OUT/node.js" <<'JS'
// jobwire for Node.js (export condition "node"). Node's fetch() cannot read file: URLs, so the
// web build's `init()` would fail here: this entry compiles the .wasm from disk at import time.
// `await init()` is then a no-op, so the same code runs in browsers, Workers and Node.
import { readFileSync } from 'node:fs';
import { initSync } from './jobwire.js';

initSync({ module: readFileSync(new URL('./jobwire_bg.wasm', import.meta.url)) });

export * from './jobwire.js';
export { default } from './jobwire.js';
JS

# The default entry for browsers, Workers and bundlers: the same, initialised at import (top-level
# await) from `jobwire_bg.wasm` next to the glue, so `import { JobClient } from 'jobwire'` is all
# an app writes. `jobwire/manual` is the bare glue, for hosts that must hand `init()` the module.
cat > "$OUT/index.js" <<'JS'
// jobwire for browsers, Workers and bundlers: fetches and instantiates jobwire_bg.wasm (next to
// this file) when imported, so the exports are usable at once. `await init()` is then a no-op.
// Where the .wasm cannot be fetched from here, import 'jobwire/manual' and call init() yourself.
import init from './jobwire.js';

await init();

export * from './jobwire.js';
export { default } from './jobwire.js';
JS

cat > "$OUT/README.md" <<'MD'
# jobwire

Turns the asynchronous-job APIs of cloud platforms (Apache CloudStack, BMC Cloud Lifecycle
Management) into plain promises: the protocols in Rust compiled to WebAssembly, the rest in
JavaScript. ES module only; TypeScript declarations included.

```js
import { JobClient } from 'jobwire';   // ready when imported: the .wasm loads at import

const client = new JobClient({ protocol: 'cloudstack', endpoint: 'https://cloud.example/client/api', apiKey, secretKey });
// or { protocol: 'cloudstack', endpoint, username, password, domain }   (session login)
// or { protocol: 'clm', endpoint, username, password }                   (token login)
const job = await client.submit('deployVirtualMachine', { zoneid, serviceofferingid, templateid });
job.id; job.resourceId;                          // known at once
const status = await job.poll();                 // { state: 'pending', progress, ... }
const result = await job.wait({ signal, timeoutMs: 600_000, onProgress: (s) => console.log(s.progress, s.etaMs) });
result.virtualmachine.id;                        // === job.resourceId
const volume = await client.run('createVolume', { zoneid, diskofferingid, name }, { signal });
const token = JSON.stringify(job);               // { command, jobId, resourceId, submittedAt }: resume later
await client.resume(JSON.parse(token)).wait();
for await (const update of client.watch([job, JSON.parse(token)], { signal })) { /* every change, until all finish */ }
```

`wait()` and `run()` resolve with the job's result (CloudStack's `jobresult`, CLM's task
results); `onProgress` receives every status (`state`, `progress` that never goes down,
`elapsedMs`, `etaMs`, `raw`, …), the final one included.

Waiting is cheap: two `wait()`s (or `poll()`s) of one job at once send one request for both;
without long-polls (`longPollSecs: 0`, or a server that ignores `Prefer: wait`) the client polls
once just after the finish it estimates from the job's progress (`jobprocstatus`), else where
earlier jobs of the command finished, and waits of different jobs share one `listAsyncJobs`
listing whenever one of them polls (a finish is seen at whichever poll comes first); `initialDelayMs: { deployVirtualMachine: 30000 }` fixes the
first poll per command. A `watch()` lists no sooner than its jobs' progress lets one finish, and
asks for up to 2,000 jobs in one request (`pagesize=-1`; pages of 500 beyond, or where a server refuses it).
`wait({ onDelay })` and `watch(jobs, { onDelay })` report every delay and its reason; both take
a `signal`. No request waits forever: one unanswered `requestTimeoutMs` (default 30 s) after the time
the server was asked to hold it fails as a network error and is retried like one.

Failures reject with instances of the exported error classes (all `JobwireError`s):
`JobFailedError` (`jobId`, `code`, `cserrorcode`, `errortext`, `raw`: the final status as sent),
`ApiError` and `LoginError` (`code`, `cserrorcode`, `errortext`), `TransportError` (`status`),
`ProtocolError`. Responses are read as JSON (`response: 'json'`, the default): the package leaves
CloudStack's XML out for size (the Rust crate reads both). A wait the caller stopped rejects with the standard `DOMException`s:
`AbortError` (or the signal's own reason) and `TimeoutError` (`timeoutMs`, `deadlineMs`), with
`jobId`; the job may still run, and the request the wait had in flight is aborted (a held
long-poll does not keep its connection). Bad constructor options throw a `TypeError`, and so
does `job()` given anything but a non-empty string; `submit`, `call` and `run` reject with one
for a command that is not a string. What the caller's own getters or proxies throw while
options and params are read comes back unchanged. A `timeoutMs` beyond `setTimeout`'s 24.8 days
(or `Infinity`) is waited out in steps.

```js
import { JobFailedError } from 'jobwire';
try { await job.wait({ timeoutMs: 60_000 }); }
catch (err) {
  if (err instanceof JobFailedError) console.log(err.code, err.errortext, err.raw);
  else if (err.name === 'TimeoutError') { /* still running: wait again later */ }
  else throw err;
}
```

## Where it runs

- **Browsers, module Workers and bundlers** (Vite ≥ 7, webpack 5, esbuild with an ES2022
  target): `import { JobClient } from 'jobwire'` (`index.js`) fetches `jobwire_bg.wasm` next to
  the glue (`new URL(..., import.meta.url)`) with a top-level `await`; nothing else to call.
  A plain page can import `.../jobwire/index.js` directly.
- **Hosts that hand over the module themselves** (Cloudflare Workers, a custom URL, a target
  without top-level await): `import init, { JobClient } from 'jobwire/manual'`, then
  `await init({ module_or_path: urlOrModule })` or `initSync({ module: wasmModule })`
  (e.g. `import wasm from 'jobwire/jobwire_bg.wasm'` where `.wasm` imports are modules).
- **Node.js ≥ 20 (ESM)**: `import { JobClient } from 'jobwire'` resolves to `node.js` (export
  condition `node`), which reads the `.wasm` with `fs` and initialises synchronously. Node's
  global `fetch` carries the requests. There is no CommonJS build.

`init()` stays exported everywhere; after an initialising import it is a no-op.

The API server must allow the page's origin (CORS) when used from a browser.

TypeScript: `jobwire.d.ts` uses `Symbol.dispose` (TypeScript ≥ 5.2), so include
`esnext.disposable` (or `esnext`) in `lib`, plus `dom` for the `init()` input types.

Licence: Apache-2.0.
MD

META="$meta" node -e '
  const meta = JSON.parse(process.env.META);
  const pkg = {
    name: "jobwire",
    version: meta.version,
    description: meta.description,
    license: meta.license,
    type: "module",
    main: "./index.js",
    module: "./index.js",
    types: "./jobwire.d.ts",
    exports: {
      ".": { types: "./jobwire.d.ts", node: "./node.js", default: "./index.js" },
      "./manual": { types: "./jobwire.d.ts", default: "./jobwire.js" },
      "./jobwire_bg.wasm": "./jobwire_bg.wasm",
      "./package.json": "./package.json",
    },
    files: require("fs").readdirSync(process.argv[1]).filter((f) => f !== "package.json").sort(),
    // node.js and index.js initialise the module when imported: a bundler must not drop them.
    sideEffects: ["./node.js", "./index.js"],
    engines: { node: ">=20" },
    keywords: ["cloudstack", "async-job", "wasm", "promise"],
  };
  require("fs").writeFileSync(process.argv[1] + "/package.json", JSON.stringify(pkg, null, 2) + "\n");
' "$OUT"

# Smoke test: the optimised module instantiates (a bad wasm-opt breaks the externref table here).
PKG="$OUT" node --input-type=module -e "
  const { pathToFileURL } = await import('node:url');
  const m = await import(pathToFileURL(process.env.PKG + '/node.js'));
  const client = new m.JobClient({ endpoint: 'http://127.0.0.1:9/client/api' });
  client.free?.();
  // A CLM client reads its endpoint in wasm (clmBase), whichever build this is.
  new m.JobClient({ protocol: 'clm', endpoint: 'http://127.0.0.1:9', username: 'u', password: 'p' }).free?.();
" || { echo "package: the optimised module does not load in Node" >&2; exit 1; }

log "done: $OUT"
( cd "$OUT" && for f in jobwire_bg.wasm jobwire.js index.js node.js jobwire.d.ts; do
    [ -f "$f" ] || continue
    printf '  %-16s %8d B  gzip -9 %7d B\n' "$f" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
  done )
