// The package's module: the API, and the wasm core's initialisers (`init()` once, before use;
// the package's `index.js` and `node.js` entries call it on import).
export * from './index.js';
export { default, initSync } from 'jobwire-core';
