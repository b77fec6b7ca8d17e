// CloudStack dates (`2026-11-28T12:00:00+0000`): read as Unix seconds exactly as the Rust
// protocol reads them (`protocol::date::parse_cloudstack_date`: the offset as `Z`, `+HH`, `+HHMM`
// or `+HH:MM`, every field in range; tests/twin.test.mjs holds the two equal), and written as
// `cloudstack::signing::format_date` writes them. In JavaScript because only the engine needs
// them here, and an export costs the wasm more.

const DATE = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:Z|([+-])(\d\d)(?::?(\d\d))?)$/;

/** `unixSecs` as CloudStack writes dates (UTC, `+0000`). */
export function formatCloudstackDate(unixSecs) {
  return `${new Date(unixSecs * 1000).toISOString().slice(0, 19)}+0000`;
}

/** Unix seconds, or `undefined` when `text` is no such date. */
export function cloudstackDate(text) {
  const match = DATE.exec(text.trim());
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second, sign, offsetHours = 0, offsetMinutes = 0] = match.slice(1).map((part) => (part === '+' || part === '-' ? part : part && Number(part)));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const valid = year >= 1 && month >= 1 && month <= 12 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60 && offsetHours <= 18 && offsetMinutes < 60;
  if (!valid) return undefined;
  const offset = (sign === '-' ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  return date.getTime() / 1000 + hour * 3600 + minute * 60 + second - offset;
}
