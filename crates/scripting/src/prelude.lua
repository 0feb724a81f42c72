-- redust's Lua-side part of Redis's scripting library. Runs once when a
-- scripting VM is created, with the full base library still in place. It
-- receives the Rust-side table `host` (raw command calls, logging, the
-- rand48 generator) and returns the pieces the Rust side keeps: the error
-- handler and the table of real globals; in a FUNCTION VM
-- (`functions_mode`) also the libraries' environment, its load switch and
-- the function caller.
local host, functions_mode = ...
local getinfo = debug.getinfo
local type, tostring, select, error, rawget, rawset, setmetatable, pairs =
  type, tostring, select, error, rawget, rawset, setmetatable, pairs
local raw_pcall = pcall

-- Where an error came from: the innermost frame of the user's script (or of
-- code it loaded), skipping C functions and this prelude's own wrappers.
local function error_handler(e)
  if type(e) ~= 'table' then
    if e == nil then
      e = {err = 'ERR nil'}
    else
      e = {err = 'ERR ' .. tostring(e)}
    end
  end
  for level = 2, 200 do
    local info = getinfo(level, 'Sl')
    if not info then break end
    if info.what ~= 'C' and info.source ~= '@redust_prelude' then
      rawset(e, 'source', info.source)
      rawset(e, 'line', info.currentline)
      break
    end
  end
  return e
end

-- redis.call, log, setresp, set_repl and sha1hex are `host.*_c`: C
-- trampolines that raise the error table the Rust side returns, so that
-- the script's frame stays on the stack even in `return redis.call(...)`
-- and the error names its line. redis.pcall returns a command's error.
-- The host's functions are looked up at each call: they are replaced for
-- every run.
local function pcall_cmd(...)
  local _, value
  if select('#', ...) > 100 then
    -- As the trampolines do: many arguments go as one table.
    _, value = host.call_packed({...})
  else
    _, value = host.call(...)
  end
  return value
end

local function error_reply(...)
  if select('#', ...) ~= 1 or type((...)) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return host.normalize_error((...))
end

local function status_reply(...)
  if select('#', ...) ~= 1 or type((...)) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = (...)}
end

redis = {
  call = host.call_c,
  pcall = pcall_cmd,
  error_reply = error_reply,
  status_reply = status_reply,
  sha1hex = host.sha1hex_c,
  log = host.log_c,
  setresp = host.setresp_c,
  set_repl = host.set_repl_c,
  acl_check_cmd = host.acl_check_cmd_c,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = host.version, REDIS_VERSION_NUM = host.version_num,
}
if functions_mode then
  -- EVAL-only: a function has no debugger and always replicates effects.
  redis.replicate_commands, redis.breakpoint, redis.debug = nil, nil, nil
end

-- Lua BitOp, on the host's trampolines.
bit = {}
for _, name in pairs({'tobit', 'tohex', 'bnot', 'band', 'bor', 'bxor', 'lshift', 'rshift',
                      'arshift', 'rol', 'ror', 'bswap'}) do
  bit[name] = host['bit_' .. name .. '_c']
end

-- Lua CJSON's encode, decode and null.
cjson = {encode = host.cjson_encode_c, decode = host.cjson_decode_c, null = host.cjson_null}

-- lua-cmsgpack's pack and unpacks.
cmsgpack = {
  pack = host.cmsgpack_pack_c,
  unpack = host.cmsgpack_unpack_c,
  unpack_one = host.cmsgpack_unpack_one_c,
  unpack_limit = host.cmsgpack_unpack_limit_c,
}

-- The struct library.
struct = {pack = host.struct_pack_c, unpack = host.struct_unpack_c, size = host.struct_size_c}

-- A script's pcall sees a Redis error as its message, not as a table.
local function pcall_result(ok, ...)
  if not ok then
    local e = ...
    if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then
      return false, rawget(e, 'err')
    end
    return false, e
  end
  return true, ...
end
pcall = function(f, ...) return pcall_result(raw_pcall(f, ...)) end

-- Redis's math.random: rand48, one sequence per server, with Lua 5.1's
-- argument rules.
local floor, tonumber = math.floor, tonumber
math.random = function(...)
  local n = select('#', ...)
  local r = host.rand()
  if n == 0 then return r end
  if n == 1 then
    local m = floor(tonumber((...)) or 0)
    if m < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return floor(r * m) + 1
  end
  if n == 2 then
    local lo, hi = ...
    lo, hi = floor(tonumber(lo) or 0), floor(tonumber(hi) or 0)
    if lo > hi then error("bad argument #2 to 'random' (interval is empty)", 2) end
    return floor(r * (hi - lo + 1)) + lo
  end
  error('wrong number of arguments', 2)
end
math.randomseed = function(seed) host.randomseed(floor(tonumber(seed) or 0)) end

-- What Redis 7.0 leaves out of a script's reach.
loadfile, dofile, print, module, require, getfenv, setfenv, newproxy =
  nil, nil, nil, nil, nil, nil, nil, nil
package, io, os, debug = nil, nil, nil, nil

-- Read-only: every library table, and the globals. Their contents move into
-- backing tables; what scripts see are empty proxies whose reads go to the
-- backing table and whose writes fail. Reading a global that does not exist
-- fails too.
local function readonly_write()
  error('Attempt to modify a readonly table', 2)
end
local function move_out(t)
  local backing = {}
  for k, v in pairs(t) do backing[k] = v end
  for k in pairs(backing) do rawset(t, k, nil) end
  return backing
end
for _, name in pairs({'string', 'table', 'math', 'coroutine', 'redis', 'bit', 'cjson', 'cmsgpack', 'struct'}) do
  local t = _G[name]
  setmetatable(t, {__index = move_out(t), __newindex = readonly_write, __metatable = false})
end
-- A read-only proxy whose reads go to `lookup(name)`; a missing name fails.
local function strict_with(proxy, lookup)
  setmetatable(proxy, {
    __index = function(_, name)
      local v = lookup(name)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
      end
      return v
    end,
    __newindex = readonly_write,
    __metatable = false,
  })
end
-- A read-only proxy for `backing`. Every global a script reads goes
-- through it, so it reads the backing table itself (no call per read).
local function strict(proxy, backing)
  setmetatable(proxy, {
    __index = function(_, name)
      local v = rawget(backing, name)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
      end
      return v
    end,
    __newindex = readonly_write,
    __metatable = false,
  })
end
local G = _G
local globals = move_out(G)
strict(G, globals)
if not functions_mode then
  return error_handler, globals
end

-- A library's code runs in `env`. While it loads, the only global it sees
-- is a `redis` with register_function, log and the constants; once loaded,
-- its functions see the globals a script sees (minus KEYS and ARGV).
local load_api = {
  register_function = host.register_function_c,
  log = host.log_c,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = host.version, REDIS_VERSION_NUM = host.version_num,
}
strict(load_api, move_out(load_api))
local loading = false
local env = {}
strict_with(env, function(name)
  if loading then
    if name == 'redis' then return load_api end
    return nil
  end
  return rawget(globals, name)
end)
local function set_loading(on) loading = on end
local xpcall = xpcall
-- Calls a registered function as Redis does, f(keys, args), protected
-- (through upvalues: Lua 5.1's xpcall passes no arguments, and a closure
-- per call would cost an allocation).
local call_f, call_keys, call_args
local function invoke() return call_f(call_keys, call_args) end
local function fcall(f, keys, args)
  call_f, call_keys, call_args = f, keys, args
  return xpcall(invoke, error_handler)
end
return error_handler, globals, env, set_loading, fcall
