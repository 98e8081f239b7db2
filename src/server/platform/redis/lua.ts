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

/**
 * Creates a short-lived record. KEYS: the record, the owning user's index ('' for none).
 * ARGV: ttl ms, then field/value pairs. The index holds record ids and lives as long as the newest.
 */
export const CREATE_RECORD = `${LUA_HELPERS}
local args = {}
for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(args))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
if KEYS[2] ~= '' then
  redis.call('SADD', KEYS[2], string.match(KEYS[1], '[^:]+$'))
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[1]))
end
return 1
`;
