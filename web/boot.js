// Starts the dashboard from a file instead of Trunk's inline module script, so the page's
// Content-Security-Policy can forbid inline script. Trunk.toml's pattern_script puts the hashed
// names of the wasm-bindgen module and the wasm file on this script's tag.
const tag = document.querySelector('script[data-wasm]');
const { default: init } = await import(tag.dataset.js);
await init({ module_or_path: tag.dataset.wasm });
