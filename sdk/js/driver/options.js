// Reading what callers pass: client options, wait options, resume tokens. Anything unusable is
// a TypeError naming the value; what a caller's getter or proxy throws passes unchanged.

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const U32_MAX = 2 ** 32 - 1;

const isObject = (value) => (typeof value === 'object' && value !== null) || typeof value === 'function';

/** An optional field: `undefined` and `null` are "not given". */
function given(object, key) {
  const value = object[key];
  return value === null ? undefined : value;
}

function text(object, key, what) {
  const value = given(object, key);
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`${what}: ${key} must be a string`);
  return value;
}

function integer(object, key, max, what) {
  const value = given(object, key);
  if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max)) {
    throw new TypeError(`${what}: ${key} must be an integer from 0 to ${max}`);
  }
  return value;
}

function instance(object, key, Class, kind) {
  const value = given(object, key);
  if (value !== undefined && !(value instanceof Class)) throw new TypeError(`${key} must be ${kind}`);
  return value;
}

/** A string argument of a method. */
export function stringArg(value, name) {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
  return value;
}

/**
 * A command's arguments (`{ name: value }` or a `Map`) read once, as `[name, value, …]` in name
 * order: numbers, booleans and BigInts as text; `null`, `undefined`, NaN and the infinities left
 * out (as JSON shows them); a TypeError for anything else. The Rust build reads them alike
 * (`js/convert.rs`, `params_from_js`).
 */
export function commandParams(params) {
  if (params === undefined || params === null) return [];
  const object = params instanceof Map ? Object.fromEntries(params) : params;
  if (typeof object !== 'object' || Array.isArray(object)) throw new TypeError('params must be an object of strings, numbers or booleans');
  const pairs = [];
  for (const [name, value] of Object.entries(object)) {
    const type = typeof value;
    if (type === 'string' || type === 'boolean' || type === 'bigint' || (type === 'number' && Number.isFinite(value))) pairs.push([name, String(value)]);
    else if (!(value === undefined || value === null || type === 'number')) throw new TypeError(`param "${name}" must be a string, number or boolean`);
  }
  return pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flat();
}

/** `new JobClient(options)`'s options, checked, with the defaults filled in. */
export function readOptions(options) {
  const what = 'invalid JobClient options';
  if (!isObject(options)) throw new TypeError(`${what}: expected an object`);
  const endpoint = text(options, 'endpoint', what);
  if (endpoint === undefined) throw new TypeError(`${what}: missing endpoint`);
  const read = {
    endpoint,
    apiKey: text(options, 'apiKey', what),
    secretKey: text(options, 'secretKey', what),
    username: text(options, 'username', what),
    password: text(options, 'password', what),
    domain: text(options, 'domain', what),
    response: text(options, 'response', what),
    longPollSecs: integer(options, 'longPollSecs', U32_MAX, what) ?? 20,
    maxRetries: integer(options, 'maxRetries', U32_MAX, what) ?? 10,
    deadlineMs: integer(options, 'deadlineMs', MAX_SAFE, what) ?? 1_800_000,
    requestTimeoutMs: integer(options, 'requestTimeoutMs', MAX_SAFE, what) ?? 30_000,
    protocol: text(options, 'protocol', what),
    initialDelays: initialDelays(options, what),
  };
  if (read.protocol !== undefined && read.protocol !== 'cloudstack' && read.protocol !== 'clm') {
    throw new TypeError(`protocol must be "cloudstack" or "clm", got "${read.protocol}"`);
  }
  if (read.protocol === 'clm') {
    if (read.username === undefined || read.password === undefined) throw new TypeError('protocol "clm" needs username and password');
    if (read.apiKey !== undefined || read.secretKey !== undefined) throw new TypeError('protocol "clm" has no API keys; give username and password');
    return read;
  }
  if (read.response !== undefined && read.response !== 'json') {
    throw new TypeError(`response must be "json" (this build reads JSON only), got "${read.response}"`);
  }
  const credentials = [read.apiKey, read.secretKey, read.username, read.password].map((v) => (v === undefined ? 0 : 1)).join('');
  if (!['1100', '0011', '0000'].includes(credentials)) {
    throw new TypeError('give either apiKey with secretKey, or username with password');
  }
  if (!/^https?:\/\//.test(endpoint)) throw new TypeError(`invalid argument: endpoint must be an http(s) URL, got "${endpoint}"`);
  return read;
}

/** `initialDelayMs: { command: ms }` as `[command, ms, …]`. */
function initialDelays(options, what) {
  const delays = given(options, 'initialDelayMs');
  if (delays === undefined) return [];
  if (!isObject(delays)) throw new TypeError(`${what}: initialDelayMs must be an object of command: ms`);
  return Object.entries(delays).flatMap(([command, ms]) => {
    if (!(typeof ms === 'number' && ms >= 0 && ms <= MAX_SAFE)) {
      throw new TypeError(`${what}: initialDelayMs.${command} must be a non-negative number of ms`);
    }
    return [command, ms];
  });
}

/** What `wait` takes: a progress callback, or `{ signal, timeoutMs, onProgress, onDelay }`. */
export function waitOptions(options) {
  if (typeof options === 'function') return { onProgress: options };
  if (options === undefined || options === null) return {};
  if (!isObject(options)) throw new TypeError('wait options must be an object or a function');
  const signal = instance(options, 'signal', AbortSignal, 'an AbortSignal');
  const timeoutMs = given(options, 'timeoutMs');
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
    throw new TypeError('timeoutMs must be a non-negative number');
  }
  return { signal, timeoutMs, onProgress: instance(options, 'onProgress', Function, 'a function'), onDelay: instance(options, 'onDelay', Function, 'a function') };
}

/** A job from a resume token `{ jobId, resourceId, command, submittedAt }`. */
export function readToken(token) {
  const what = 'invalid resume token';
  if (!isObject(token)) throw new TypeError(`${what}: expected an object`);
  const jobId = text(token, 'jobId', what);
  if (jobId === undefined) throw new TypeError(`${what}: missing jobId`);
  const job = { jobId, resourceId: text(token, 'resourceId', what), command: text(token, 'command', what) ?? '', submittedAt: integer(token, 'submittedAt', MAX_SAFE, what) };
  if (!jobId) throw new TypeError(`${what}: empty jobId`);
  return job;
}

/** A job from a `Job` (its `id`, `command`, `submittedAt`) or a resume token (`jobId`). */
function watchedJob(value) {
  if (!isObject(value)) throw new TypeError('each job must be a Job or a resume token with a jobId');
  const id = [value.jobId, value.id].find((v) => typeof v === 'string');
  if (!id) throw new TypeError('each job must be a Job or a resume token with a jobId');
  const string = (v) => (typeof v === 'string' ? v : undefined);
  return { jobId: id, resourceId: string(value.resourceId), command: string(value.command) ?? '', submittedAt: integer(value, 'submittedAt', MAX_SAFE, 'invalid job') };
}

/** `watch(jobs, options)`'s arguments: the jobs, `{ onDelay, signal }`. */
export function watchArgs(jobs, options) {
  if (!Array.isArray(jobs)) throw new TypeError('watch takes an array of jobs');
  const list = Array.from(jobs, watchedJob);
  if (options === undefined || options === null) return [list, {}];
  if (!isObject(options)) throw new TypeError('watch options must be an object');
  return [list, { onDelay: instance(options, 'onDelay', Function, 'a function'), signal: instance(options, 'signal', AbortSignal, 'an AbortSignal') }];
}
