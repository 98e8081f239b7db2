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
