import superjson, { type SuperJSONResult } from "superjson";

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
  if (depth > MAX_DEPTH) throw UNSUPPORTED;
  const prefix = depth === 0 ? "" : `${path}.`;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw UNSUPPORTED; // holes
      out[i] = walk(value[i], prefix + i, annotations, depth + 1);
    }
    return out;
  }
  if (value instanceof Date) {
    const time = value.getTime();
    if (Number.isNaN(time)) throw UNSUPPORTED;
    annotations[path] = DATE;
    return value.toISOString();
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === "__proto__" || key === "constructor" || key === "prototype") throw UNSUPPORTED;
    out[key] = walk((value as Record<string, unknown>)[key], prefix + escapeKey(key), annotations, depth + 1);
  }
  return out;
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

/** tRPC's transformer: superjson in, superjson's format out through `serialize`. */
export const transformer = {
  input: superjson,
  output: { serialize, deserialize: (payload: SuperJSONResult) => superjson.deserialize(payload) },
};
