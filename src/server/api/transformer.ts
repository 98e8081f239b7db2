import { TRPCError } from "@trpc/server";
import superjson, { type SuperJSONResult } from "superjson";
import { BoundedCache } from "~/server/platform/bounded-cache";
import { AuthError } from "~/server/platform/errors";

/**
 * The answers' transformer: superjson's wire format, written faster.
 *
 * superjson.serialize is general (Maps, Sets, BigInts, classes, shared references) and pays for it
 * on every value: for a 50-session `sessions.list` it took ~0.55 ms, more than the whole bare route
 * handler, plus ~0.15 ms more in JSON.stringify calling Date#toJSON 200 times. Our answers are
 * plain objects, arrays, strings, numbers, booleans, null, undefined and Dates, so this walks those
 * in one pass (Dates become their ISO string, as superjson does) and builds the same
 * `{ json, meta: { values, v: 1 } }`. Anything else anywhere in the value, and the property names
 * superjson refuses, hand the whole value to superjson itself, so the output is always what
 * superjson would send.
 *
 * One difference, on purpose: superjson also records objects that appear twice
 * (`meta.referentialEqualities`) so the client can restore shared identity. Ours sends equal
 * copies; a client's decoded value is deep-equal either way (tested with superjson's decoder).
 * Inputs (small) are still decoded by superjson.
 */

type Annotations = Record<string, [string]>;

/** Thrown inside the walk when the value needs superjson's general path. */
const UNSUPPORTED = Symbol("unsupported");

const MAX_DEPTH = 64;
// Shared by every annotation: only ever stringified, never changed.
const DATE: [string] = ["Date"];
const UNDEFINED: [string] = ["undefined"];

// superjson's pathstringifier.escapeKey: a literal "." or "\" inside a key is escaped.
const escapeKey = (key: string) => (key.includes(".") || key.includes("\\") ? key.replace(/\\/g, "\\\\").replace(/\./g, "\\.") : key);

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
const YEAR_10000 = 253_402_300_800_000;

/**
 * Date#toISOString for years 0000-9999, 3x faster (a list answer formats 200 of them). The civil
 * date is Howard Hinnant's days-to-civil algorithm; outside that range, and for negative times,
 * the built-in is used.
 */
export function isoString(time: number): string {
  if (!(time >= 0 && time < YEAR_10000)) return new Date(time).toISOString();
  const days = Math.floor(time / 86_400_000);
  let rest = time - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const d2 = TWO_DIGITS;
  return `${d2[Math.floor(year / 100)]}${d2[year % 100]}-${d2[month]}-${d2[day]}T${d2[hours]}:${d2[minutes]}:${d2[seconds]}.${THREE_DIGITS[rest - seconds * 1000]}Z`;
}

// A list answer formats the same times again and again (a session's creation and absolute expiry
// never change, its last use rarely): each formatted once, ISO_STRINGS_KEPT at most.
const ISO_STRINGS_KEPT = 4096;
const isoStrings = new BoundedCache<number, string>(ISO_STRINGS_KEPT);

const isPlainLeaf = (v: unknown) =>
  typeof v === "string" || typeof v === "boolean" || v === null || (typeof v === "number" && Number.isFinite(v) && !Object.is(v, -0));

// Plain leaves are copied inline by the loops below, so a path string is only built for what
// needs one: annotated values and the objects and arrays on the way to them.
function walk(value: unknown, path: string, annotations: Annotations, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // NaN, ±Infinity and -0 carry a "number" annotation in superjson.
      if (!Number.isFinite(value) || Object.is(value, -0)) throw UNSUPPORTED;
      return value;
    case "undefined":
      // superjson keeps the key: null on the wire, annotated back to undefined.
      annotations[path] = UNDEFINED;
      return null;
    case "object":
      break;
    default:
      throw UNSUPPORTED; // bigint, symbol, function
  }
  if (value === null) return null;
  if (value instanceof Date) {
    const time = value.getTime();
    if (Number.isNaN(time)) throw UNSUPPORTED;
    annotations[path] = DATE;
    return isoStrings.getOrSet(time, isoString);
  }
  if (depth > MAX_DEPTH) throw UNSUPPORTED;
  const prefix = depth === 0 ? "" : `${path}.`;
  // An array or object is copied only from its first value that changes (a Date, an undefined, or
  // a child that was copied): one holding plain JSON alone goes out as it is (JSON.stringify reads
  // the same own enumerable values from it as from a copy), e.g. each session's device.
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw UNSUPPORTED; // holes
      const item: unknown = value[i];
      const json = isPlainLeaf(item) ? item : walk(item, prefix + i, annotations, depth + 1);
      if (out) out[i] = json;
      else if (json !== item) {
        out = value.slice(0, i);
        out.length = value.length;
        out[i] = json;
      }
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let out: Record<string, unknown> | undefined;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    if (key === "__proto__" || key === "constructor" || key === "prototype") throw UNSUPPORTED;
    const item = record[key];
    const json = isPlainLeaf(item) ? item : walk(item, prefix + escapeKey(key), annotations, depth + 1);
    if (out) out[key] = json;
    else if (json !== item) {
      out = {};
      for (let j = 0; j < k; j++) out[keys[j]!] = record[keys[j]!];
      out[key] = json;
    }
  }
  return out ?? value;
}

export function serialize(value: unknown): SuperJSONResult {
  // A bare Date or undefined is annotated at the root (not a path): rare, left to superjson.
  if (value instanceof Date || value === undefined) return superjson.serialize(value);
  const annotations: Annotations = {};
  let json: unknown;
  try {
    json = walk(value, "", annotations, 0);
  } catch (error) {
    if (error === UNSUPPORTED) return superjson.serialize(value);
    throw error;
  }
  if (Object.keys(annotations).length === 0) return { json: json as SuperJSONResult["json"] };
  return { json: json as SuperJSONResult["json"], meta: { values: annotations, v: 1 } as SuperJSONResult["meta"] };
}

// What a client's input may carry beyond JSON: our procedures take strings, numbers, booleans,
// optional fields (undefined) and, at most, dates. Anything else superjson can decode (classes,
// BigInts, Maps, custom types, shared references) is refused before decoding: a crafted `meta`
// otherwise makes superjson recurse until the stack overflows, or echoes internal text such as
// "Cannot convert a@b.co to a BigInt".
const INPUT_ANNOTATIONS = new Set(["undefined", "Date"]);
const MAX_INPUT_ANNOTATIONS = 256;
const MAX_PATH_LENGTH = 512;

const MALFORMED_INPUT = "The request's input is malformed.";
const malformedInput = () =>
  new TRPCError({ code: "BAD_REQUEST", message: MALFORMED_INPUT, cause: new AuthError("BAD_REQUEST", MALFORMED_INPUT, { reason: "malformed_input" }) });

const isAnnotation = (value: unknown) => Array.isArray(value) && value.length === 1 && typeof value[0] === "string" && INPUT_ANNOTATIONS.has(value[0]);

function checkInputMeta(meta: unknown) {
  if (meta === undefined) return;
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw malformedInput();
  for (const [key, value] of Object.entries(meta)) {
    if (key === "v") {
      if (typeof value !== "number") throw malformedInput();
    } else if (key === "values") {
      if (isAnnotation(value)) continue;
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw malformedInput();
      const entries = Object.entries(value);
      if (entries.length > MAX_INPUT_ANNOTATIONS) throw malformedInput();
      for (const [path, annotation] of entries) if (path.length > MAX_PATH_LENGTH || !isAnnotation(annotation)) throw malformedInput();
    } else {
      throw malformedInput();
    }
  }
}

/** Decodes a client's input: plain JSON as is, superjson's annotations only of the kinds above. */
function deserializeInput(payload: unknown): unknown {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw malformedInput();
  const { json, meta } = payload as { json?: unknown; meta?: unknown };
  checkInputMeta(meta);
  if (meta === undefined) return json;
  try {
    return superjson.deserialize({ json, meta } as SuperJSONResult);
  } catch {
    throw malformedInput();
  }
}

/** tRPC's transformer: superjson in (checked), superjson's format out through `serialize`. */
export const transformer = {
  input: { serialize: (value: unknown) => superjson.serialize(value), deserialize: deserializeInput },
  output: { serialize, deserialize: (payload: SuperJSONResult) => superjson.deserialize(payload) },
};
