import fc from "fast-check";
import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { isoString, serialize, transformer } from "./transformer";

// What superjson's own client does with an answer: it must get the same value from ours.
const decode = (payload: ReturnType<typeof serialize>) => superjson.deserialize(JSON.parse(JSON.stringify(payload)));
const wire = (payload: unknown) => JSON.stringify(payload);
/**
 * The same bytes for the data, the same annotations for the meta. Only the order of the meta's
 * keys may differ (superjson lists array indexes first, a quirk of JS property order); the
 * decoder applies each path on its own, so the order carries nothing.
 */
function expectSameAnswer(ours: ReturnType<typeof serialize>, theirs: ReturnType<typeof serialize>) {
  expect(wire(ours.json)).toBe(wire(theirs.json));
  expect(JSON.parse(wire(ours.meta ?? null))).toEqual(JSON.parse(wire(theirs.meta ?? null)));
  expect(Object.keys(ours)).toEqual(Object.keys(theirs));
}

const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("a.b", "a\\b", "\\.", ".", "", "0", "10", "createdAt"));
const date = fc.date({ min: new Date(0), max: new Date(4_102_444_800_000), noInvalidDate: true });
const leaf = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  date,
);
/** Trees of what our procedures answer: plain objects, arrays, Dates and JSON leaves, no sharing. */
const plainTree = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, fc.array(tie("node"), { maxLength: 4 }), fc.dictionary(key, tie("node"), { maxKeys: 4 })),
})).node;

describe("the answers' transformer", () => {
  it("sends what superjson sends for plain trees of objects, arrays and Dates", () => {
    fc.assert(
      fc.property(plainTree, (value) => {
        expectSameAnswer(serialize(value), superjson.serialize(value));
        expect(decode(serialize(value))).toEqual(decode(superjson.serialize(value)));
      }),
      { numRuns: 3000 },
    );
  });

  it("hands anything else to superjson, so even exotic values decode the same", () => {
    const exotic = fc.oneof(
      fc.bigInt(),
      fc.constantFrom(NaN, Infinity, -Infinity, -0, new Date(Number.NaN), /x/g, new URL("https://example.com/"), new Error("boom")),
      fc.array(fc.integer()).map((a) => new Set(a)),
      fc.array(fc.tuple(fc.string(), date)).map((e) => new Map(e)),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, leaf, exotic, fc.array(tie("node"), { maxLength: 3 }), fc.dictionary(key, tie("node"), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(tree, (value) => {
        expect(decode(serialize(value))).toEqual(decode(superjson.serialize(value)));
        expectSameAnswer(serialize(value), superjson.serialize(value));
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes shared objects as equal copies (superjson would restore the identity)", () => {
    const device = { id: "d1", lastSeenAt: new Date("2026-11-23T10:00:00Z") };
    const answer = [
      { id: "s1", device },
      { id: "s2", device },
    ];
    const ours = decode(serialize(answer)) as typeof answer;
    expect(ours).toEqual(decode(superjson.serialize(answer)));
    expect(ours[0]!.device.lastSeenAt).toBeInstanceOf(Date);
    expect(serialize(answer).meta).toEqual({ values: { "0.device.lastSeenAt": ["Date"], "1.device.lastSeenAt": ["Date"] }, v: 1 });
  });

  it("matches superjson at the root, for holes, null prototypes and deep values", () => {
    const sparse: unknown[] = [1];
    sparse[2] = new Date(5);
    const deep = Array.from({ length: 100 }).reduce<unknown>((inner) => ({ inner }), { at: new Date(7) });
    for (const value of [new Date(1), undefined, null, "text", 0, [], {}, sparse, Object.assign(Object.create(null) as object, { at: new Date(3) }), deep]) {
      expectSameAnswer(serialize(value), superjson.serialize(value));
    }
  });

  it("refuses prototype-polluting keys as superjson does", () => {
    const value = JSON.parse('{"a":{"__proto__":{"x":1}}}') as unknown;
    expect(() => serialize(value)).toThrow(/prototype pollution/);
    expect(() => serialize({ constructor: 1 })).toThrow(/prototype pollution/);
  });

  it("sends a value of plain JSON as it is, copies one with a Date, and never changes its input", () => {
    const device = { id: "d1", name: "Phone", browser: null };
    const rows = [{ id: "s1", at: new Date(1), device }];
    const { json } = serialize(rows) as { json: [{ at: string; device: unknown }] };
    expect(json).not.toBe(rows);
    expect(json[0].device).toBe(device);
    expect(json[0].at).toBe("1970-01-01T00:00:00.001Z");
    expect(rows[0]!.at).toBeInstanceOf(Date);
    const plain = { a: [1, "x", { b: null }] };
    expect(serialize(plain).json).toBe(plain);
  });

  it("formats repeated times from its bounded cache exactly as the first time", () => {
    const times = Array.from({ length: 10_000 }, (_, i) => 1_764_686_000_000 + i * 7_919);
    for (const round of [1, 2]) {
      const { json } = serialize(times.map((t) => new Date(t))) as { json: string[] };
      expect(json, `round ${round}`).toEqual(times.map((t) => new Date(t).toISOString()));
    }
  });

  it("formats dates exactly as Date#toISOString", () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_198_755_200_000, max: 8_640_000_000_000_000 }), (time) => {
        expect(isoString(time)).toBe(new Date(time).toISOString());
      }),
      { numRuns: 20_000 },
    );
    // Day, month, year and leap-day boundaries, and the ends of the fast range.
    for (const time of [
      0,
      1,
      86_399_999,
      86_400_000,
      Date.UTC(2000, 1, 29),
      Date.UTC(2100, 1, 28, 23, 59, 59, 999),
      Date.UTC(2100, 2, 1),
      Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      253_402_300_799_999,
      253_402_300_800_000,
      -1,
    ]) {
      expect(isoString(time)).toBe(new Date(time).toISOString());
    }
  });

  it("decodes inputs' dates and undefined fields with superjson, and refuses every other annotation before decoding", () => {
    expect(transformer.input.deserialize(superjson.serialize({ at: new Date(9), gone: undefined }))).toEqual({ at: new Date(9), gone: undefined });
    expect(transformer.input.deserialize({ json: { plain: [1, "two"] } })).toEqual({ plain: [1, "two"] });
    for (const exotic of [
      { n: 10n },
      { m: new Map([[1, 2]]) },
      { s: new Set([1]) },
      { r: /x/ },
      { twice: [{ a: 1 }, { a: 1 }].map((x, _, all) => all[0] ?? x) },
    ]) {
      expect(() => transformer.input.deserialize(superjson.serialize(exotic))).toThrow("The request's input is malformed.");
    }
    expect(transformer.output.deserialize(serialize({ at: new Date(9) }))).toEqual({ at: new Date(9) });
  });
});
