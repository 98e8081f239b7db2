import { describe, expect, it } from "vitest";
import { HASH_TAG_LENGTH, isUsersId, sessionKey, sessionSideKey, tagOf, taggedId, userKey, userSlotKey, userTag } from "~/server/platform/redis/keys";
import { commonSlot, keysOf, slotOf } from "~/server/platform/redis/slots";
import { refuseCrossSlot } from "~/test/slot-check";

describe("Redis key layout (hash tags)", () => {
  it("a user's keys and the ids minted for the user share one slot; another user's do not", () => {
    const tag = userTag("user-1");
    expect(tag).toMatch(new RegExp(`^[A-Za-z0-9_-]{${HASH_TAG_LENGTH}}$`));
    const sid = taggedId(tag);
    expect(sid).toHaveLength(34);
    expect(tagOf(sid)).toBe(tag);
    expect(isUsersId(sid, "user-1")).toBe(true);
    expect(isUsersId(sid, "user-2")).toBe(false);
    const keys = [
      sessionKey("p:", sid),
      sessionSideKey("p:", sid, "reauth"),
      userKey("p:", "user-1", "sessions"),
      userKey("p:", "user-1", "epoch"),
      userSlotKey("p:", "user-1", "twofactor:step:user-1"),
    ];
    expect(commonSlot(keys)).toBe(slotOf(`{${tag}}`));
    expect(commonSlot([...keys, userKey("p:", "user-2", "sessions")])).toBeNull();
  });

  it("ids minted before their user is known get a random tag; ids from before the tags name no user", () => {
    expect(tagOf(taggedId())).not.toBe(tagOf(taggedId()));
    // A 22-character id from before: its first 12 characters are not any user's tag.
    expect(isUsersId("AAAAAAAAAAAAAAAAAAAAAA", "user-1")).toBe(false);
    // Garbage (braces, short) still makes a well-formed key of its own.
    expect(sessionKey("p:", "}{x")).toBe("p:{------------}session:}{x");
  });

  it("the keys of a command are its script KEYS, or every key of a multi-key command", () => {
    expect(keysOf(["EVALSHA", "abc", "2", "k1", "k2", "arg"])).toEqual(["k1", "k2"]);
    expect(keysOf(["EVAL", "return 1", "0"])).toEqual([]);
    expect(keysOf(["DEL", "a", "b"])).toEqual(["a", "b"]);
    expect(keysOf(["HGET", "h", "f"])).toEqual(["h"]);
  });

  it("the suite's check refuses a script whose keys span slots, as a cluster does", async () => {
    const ran: string[][] = [];
    const runner = refuseCrossSlot({ run: async (c) => ran.push(c), runAtomically: async () => [], close: async () => undefined });
    await expect(runner.run(["EVAL", "return 1", "2", "{a}x", "{b}y"])).rejects.toThrow(/CROSSSLOT/);
    await runner.run(["EVAL", "return 1", "2", "{a}x", "{a}y"]);
    expect(ran).toHaveLength(1);
  });
});
