/**
 * Helpers every Lua script starts with, so one script runs the same on Redis (Lua 5.1) and on the
 * embedded Redis (ioredis-mock's fengari, Lua 5.3):
 * - `unpack` is `table.unpack` in 5.3;
 * - a missing value (HGET/HMGET/GET) is `false` in Redis but a userdata in fengari: `str(v)` is
 *   the string, or nil;
 * - ioredis-mock only recognises a returned table as an array when it was built by a table
 *   constructor, so `reply(t)` rebuilds a dynamically filled table that way there (a no-op on Redis).
 */
export const LUA_HELPERS = `
local unpack = unpack or table.unpack
local function str(v) if type(v) == 'string' then return v end return nil end
local function reply(t) if table.unpack then return { table.unpack(t) } end return t end
`;

/**
 * `read(key)`: the hash's `fields` in order, missing ones as ''; `answer(tag, key)`: { tag, fields... }.
 * For scripts that return a record to a store that parses it positionally.
 */
export function luaRecordReader(fields: readonly string[]): string {
  return `
local function read(key)
  local values = redis.call('HMGET', key, ${fields.map((f) => `'${f}'`).join(", ")})
  local out = {}
  for i = 1, ${fields.length} do out[i] = str(values[i]) or '' end
  return out
end
local function answer(tag, key)
  local out = read(key)
  table.insert(out, 1, tag)
  return reply(out)
end
`;
}

/** A Lua string literal of any text (every byte escaped), for a value built into a script. */
export const luaString = (text: string) => `"${[...Buffer.from(text, "utf8")].map((b) => `\\${b}`).join("")}"`;
