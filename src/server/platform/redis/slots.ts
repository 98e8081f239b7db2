import calculateSlot from "cluster-key-slot";

// Which keys a command names, for Redis Cluster: a script's (EVAL/EVALSHA: its KEYS) or a
// multi-key command's. The cluster runner routes by them, and the tests check with them that every
// script keeps to one hash slot (what a cluster would otherwise refuse with CROSSSLOT).

const MULTI_KEY = new Set(["DEL", "UNLINK", "EXISTS", "TOUCH", "MGET"]);

/** The keys a command names (upper-case command names; single-key commands: their first argument). */
export function keysOf(command: readonly string[]): string[] {
  const name = command[0]?.toUpperCase() ?? "";
  if (name === "EVAL" || name === "EVALSHA") {
    const count = Number(command[2]);
    return Number.isInteger(count) && count > 0 ? command.slice(3, 3 + count) : [];
  }
  if (MULTI_KEY.has(name)) return command.slice(1);
  if (name === "SCRIPT" || name === "PING" || name === "INFO" || name === "SCAN" || name === "FLUSHDB" || name === "CLUSTER" || name === "KEYS") return [];
  return command.length > 1 ? [command[1]!] : [];
}

/** The hash slot of a key (CRC16 of its hash tag, or of the whole key), as Redis Cluster computes it. */
export const slotOf = (key: string): number => calculateSlot(key);

/** The one slot all these keys hash to, or null when they hash to several (CROSSSLOT on a cluster). */
export function commonSlot(keys: readonly string[]): number | null {
  const slots = new Set(keys.map(slotOf));
  return slots.size <= 1 ? (slots.values().next().value ?? 0) : null;
}
