"""Redis 7.0 Functions: FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/
KILL/HELP, FCALL and FCALL_RO, byte for byte as Redis 7.0 answers them: the
library metadata and load-time errors, the load-time and run-time sandboxes,
the `script: <function>, on @user_function:<line>.` error suffix, function
flags (no-writes, allow-oom, allow-stale), FUNCTION LIST / STATS reply shapes
(RESP2 and RESP3), DUMP/RESTORE policies, persistence (DEBUG RELOAD, RDB,
AOF), replication, busy functions and FUNCTION KILL, INFO counters and
redis-py's function helpers.

Every test passes against Redis 7.0 (``REDUST_SERVER=/usr/bin/redis-server``)
and redust.

Libraries are kept in a hash table by Redis, so the order of libraries in
FUNCTION LIST (and of functions inside a library) is not part of the
contract: the tests sort them (see ``libraries``).
"""

import re

import pytest

import helpers
from helpers import (
    HOST,
    Client,
    RespError,
    call_or_error,
    start_in_thread,
    pair,
    parse_info,
    repl_info,
    start,
    start_replica,
    wait_in_sync,
    wait_link_up,
    wait_online,
    wait_until,
)

DEBUG = pytest.mark.server(args=["--enable-debug-command", "yes"])
BUSY_ARGS = ["--busy-reply-threshold", "100"]

BUSY = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE = (
    "UNKILLABLE Sorry the script already executed write commands against the dataset. "
    "You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
)
OOM = "OOM command not allowed when used memory > 'maxmemory'."
READONLY = "READONLY You can't write against a read only replica."
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
BAD_NAME = (
    "ERR Library names can only contain letters, numbers, or underscores(_) "
    "and must be at least one character long"
)
REG = "ERR Error registering functions: "


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def lib(name, *lines):
    """The code of a Lua library: the shebang, then one line per argument
    (so the first body line is line 2 in error messages)."""
    return "\n".join(["#!lua name=%s" % name, *lines])


def reg(fname, body="return 1"):
    """One positional redis.register_function line."""
    return "redis.register_function('%s', function(keys, args) %s end)" % (fname, body)


def reg_named(fname, body="return 1", flags=None, description=None):
    """One named-arguments redis.register_function line."""
    parts = ["function_name='%s'" % fname, "callback=function(keys, args) %s end" % body]
    if flags is not None:
        parts.append("flags={%s}" % ",".join("'%s'" % f for f in flags))
    if description is not None:
        parts.append("description='%s'" % description)
    return "redis.register_function{%s}" % ", ".join(parts)


def load(c, code, replace=False):
    return c.call("FUNCTION", "LOAD", *(["REPLACE"] if replace else []), code)


def load_err(c, code):
    return c.err("FUNCTION", "LOAD", code)


def suffix(fname, line):
    return " script: %s, on @user_function:%d." % (fname, line)


def libraries(reply):
    """A RESP2 FUNCTION LIST reply as {library_name: entry}, where entry is
    the library's flat list with its functions sorted by name."""
    out = {}
    for entry in reply:
        entry = list(entry)
        assert entry[0::2][:3] == [b"library_name", b"engine", b"functions"], entry
        entry[5] = sorted(entry[5], key=lambda f: f[1])
        out[entry[1]] = entry
    return out


def names(c, *args):
    return sorted(libraries(c.call("FUNCTION", "LIST", *args)))


def memory_counts(c):
    info = parse_info(c.call("INFO", "memory"))[1]
    return int(info["number_of_libraries"]), int(info["number_of_functions"])


def start_fcall(server, *args):
    return start_in_thread(server.port, *args)


def wait_busy(server, text=BUSY):
    helpers.wait_busy(server.port, text, "the function")


SPIN = lib(
    "busy",
    reg("spin", "while true do end"),
    reg_named("rospin", "while true do end", flags=["no-writes"]),
    reg("wspin", "redis.call('set', 'k', 'partial') while true do end"),
)


# ---------------------------------------------------------------------------
# FUNCTION LOAD
# ---------------------------------------------------------------------------


def test_load_returns_the_library_name_and_replace_replaces_it(c):
    assert load(c, lib("mylib", reg("myfunc", "return 'v1'"))) == b"mylib"
    assert c.call("FCALL", "myfunc", "0") == b"v1"
    assert load_err(c, lib("mylib", reg("myfunc", "return 'v2'"))) == "ERR Library 'mylib' already exists"
    assert load(c, lib("mylib", reg("myfunc", "return 'v2'")), replace=True) == b"mylib"
    assert c.call("FCALL", "myfunc", "0") == b"v2"
    # REPLACE is case-insensitive; the new code may define other functions.
    assert c.call("FUNCTION", "LOAD", "replace", lib("mylib", reg("other", "return 'o'"))) == b"mylib"
    assert c.err("FCALL", "myfunc", "0") == "ERR Function not found"
    assert c.call("FCALL", "other", "0") == b"o"


def test_load_argument_errors(c):
    code = lib("mylib", reg("f"))
    assert c.err("FUNCTION", "LOAD") == "ERR wrong number of arguments for 'function|load' command"
    assert c.err("FUNCTION", "LOAD", "FOO", code) == "ERR Unknown option given: FOO"
    # REPLACE alone: "REPLACE" is taken as the code.
    assert c.err("FUNCTION", "LOAD", "REPLACE") == "ERR Missing library metadata"


@pytest.mark.parametrize(
    "code,error",
    [
        ("return 1", "ERR Missing library metadata"),
        ("", "ERR Missing library metadata"),
        ("#!lua\nreturn 1", "ERR Library name was not given"),
        ("#!lua name=x", "ERR Invalid library metadata"),
        ("#!lua foo=bar\nreturn 1", "ERR Invalid metadata value given: foo=bar"),
        ("#!lua name=x name=y\nreturn 1", "ERR Invalid metadata value, name argument was given multiple times"),
        ("#!lua name=a-b\nreturn 1", BAD_NAME),
        ("#!lua name=\nreturn 1", BAD_NAME),
        ("#!lu name=x\nreturn 1", "ERR Engine 'lu' not found"),
        ("#!lua2 name=x\nreturn 1", "ERR Engine 'lua2' not found"),
        ("#!lua name=x\nreturn 1", "ERR No functions registered"),
        ("#!lua name=x\n", "ERR No functions registered"),
    ],
)
def test_load_metadata_errors(c, code, error):
    assert load_err(c, code) == error
    assert c.call("FUNCTION", "LIST") == []


def test_engine_name_is_case_insensitive_and_names_may_mix_letters_digits_underscores(c):
    assert load(c, "#!LUA name=A1_z\n" + reg("f")) == b"A1_z"
    assert c.call("FCALL", "f", "0") == 1


def test_library_exists_is_checked_before_the_code_is_compiled(c):
    load(c, lib("x", reg("f")))
    assert load_err(c, "#!lua name=x\n") == "ERR Library 'x' already exists"
    assert load_err(c, "#!lua name=x\nlocal x = (") == "ERR Library 'x' already exists"


def test_function_existing_in_another_library(c):
    load(c, lib("lib1", reg("myfunc")))
    assert load_err(c, lib("lib2", reg("myfunc"))) == "ERR Function myfunc already exists"
    assert names(c) == [b"lib1"]


def test_function_names_are_case_insensitive_library_names_are_not(c):
    load(c, lib("lib", reg("echo", "return 'lower'")))
    assert load_err(c, lib("LIB", reg("Echo"))) == "ERR Function Echo already exists"
    assert load(c, lib("LIB", reg("Echo2", "return 2"))) == b"LIB"
    assert c.call("FCALL", "ECHO", "0") == b"lower"
    assert c.call("FCALL", "echo2", "0") == 2
    assert names(c) == [b"LIB", b"lib"]
    assert c.err("FUNCTION", "DELETE", "Lib") == "ERR Library not found"


def test_replace_that_fails_keeps_the_old_library(c):
    load(c, lib("lib1", reg("f1", "return 'old'")))
    load(c, lib("lib2", reg("f2")))
    # The new code's function collides with another library.
    err = c.err("FUNCTION", "LOAD", "REPLACE", lib("lib1", reg("f2")))
    assert err == "ERR Function f2 already exists"
    # The new code does not compile.
    err = c.err("FUNCTION", "LOAD", "REPLACE", lib("lib1", "local x = ("))
    assert err.startswith("ERR Error compiling function: ")
    assert c.call("FCALL", "f1", "0") == b"old"
    assert names(c) == [b"lib1", b"lib2"]


def test_compile_error(c):
    err = load_err(c, lib("x", "local x = ("))
    assert err.startswith("ERR Error compiling function: user_function:2:"), err
    assert err == "ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'"


@pytest.mark.parametrize(
    "line,error",
    [
        (reg("a") + " " + reg("a"), "ERR Function already exists in the library"),
        ("redis.register_function('a')",
         "ERR calling redis.register_function with a single argument is only applicable "
         "to Lua table (representing named arguments)."),
        ("redis.register_function(1)",
         "ERR calling redis.register_function with a single argument is only applicable "
         "to Lua table (representing named arguments)."),
        ("redis.register_function('a', 'b')", "ERR second argument to redis.register_function must be a function"),
        ("redis.register_function()", "ERR wrong number of arguments to redis.register_function"),
        ("redis.register_function('a', function() end, 'c')",
         "ERR wrong number of arguments to redis.register_function"),
        ("redis.register_function('f bad', function() end)", BAD_NAME),
        ("redis.register_function('', function() end)", BAD_NAME),
        ("redis.register_function({'a'})", "ERR unknown argument given to redis.register_function"),
        ("redis.register_function{function_name='a', callback=function() end, foo=1}",
         "ERR unknown argument given to redis.register_function"),
        ("redis.register_function{function_name='a', callback=function() end, flags={'bad'}}",
         "ERR unknown flag given"),
        ("redis.register_function{function_name='a', callback=function() end, flags={1}}",
         "ERR unknown flag given"),
        ("redis.register_function{function_name='a', callback=function() end, flags='no-writes'}",
         "ERR flags argument to redis.register_function must be a table representing function flags"),
        ("redis.register_function{function_name='a'}", "ERR redis.register_function must get a callback argument"),
        ("redis.register_function{callback=function() end}",
         "ERR redis.register_function must get a function name argument"),
        ("redis.register_function{function_name='a', callback='x'}",
         "ERR callback argument given to redis.register_function must be a function"),
    ],
)
def test_register_function_errors(c, line, error):
    assert load_err(c, lib("x", line)) == REG + error
    assert c.call("FUNCTION", "LIST") == []


@pytest.mark.parametrize(
    "line,name",
    [
        ("redis.call('ping')", "call"),
        ("redis.pcall('ping')", "pcall"),
        ("local x = redis.pcall", "pcall"),
        ("redis.setresp(3)", "setresp"),
        ("redis.sha1hex('a')", "sha1hex"),
        ("redis.error_reply('a')", "error_reply"),
        ("redis.status_reply('a')", "status_reply"),
        ("redis.set_repl(1)", "set_repl"),
        ("local x = redis.REPL_ALL", "REPL_ALL"),
        ("local x = redis.foo", "foo"),
        ("error('x')", "error"),
        ("local x = pairs({})", "pairs"),
        ("local x = tostring(1)", "tostring"),
        ("local x = type(1)", "type"),
        ("local x = string.len('a')", "string"),
        ("local x = math.floor(1)", "math"),
        ("local x = cjson.encode({})", "cjson"),
        ("local x = KEYS", "KEYS"),
    ],
)
def test_load_time_sandbox_has_only_register_function_log_and_constants(c, line, name):
    err = load_err(c, lib("x", line, reg("f")))
    assert err == REG + "ERR user_function:2: Script attempted to access nonexistent global variable '%s'" % name
    assert c.call("FUNCTION", "LIST") == []


def test_load_time_globals_are_read_only(c):
    err = load_err(c, lib("x", "foo = 1", reg("f")))
    assert err == REG + "ERR user_function:2: Attempt to modify a readonly table"


def test_an_error_after_registering_loads_nothing(c):
    err = load_err(c, lib("x", reg("f") + " error('boom')"))
    assert err == REG + "ERR user_function:2: Script attempted to access nonexistent global variable 'error'"
    assert c.err("FCALL", "f", "0") == "ERR Function not found"


def test_load_time_log_and_version_constants(server, c):
    code = lib(
        "x",
        "redis.log(redis.LOG_WARNING, 'loading functions '..redis.REDIS_VERSION..' '..redis.REDIS_VERSION_NUM)",
        "redis.log(redis.LOG_DEBUG, 'd') redis.log(redis.LOG_VERBOSE, 'v') redis.log(redis.LOG_NOTICE, 'n')",
        reg("f"),
        "return 5",  # the library's own return value is ignored
    )
    assert load(c, code) == b"x"
    assert c.call("FCALL", "f", "0") == 1
    wait_until(lambda: "loading functions 7.0." in server.log(), msg="redis.log at load time not in the log")


def test_named_register_function_and_several_functions(c):
    code = lib(
        "x",
        reg_named("a", "return 'a'", flags=["no-writes", "allow-oom", "allow-stale", "no-cluster",
                                            "allow-cross-slot-keys"], description="desc"),
        reg_named("b", "return 'b'", flags=[]),
        reg("c", "return 'c'"),
    )
    assert load(c, code) == b"x"
    assert [c.call("FCALL", f, "0") for f in "abc"] == [b"a", b"b", b"c"]
    funcs = libraries(c.call("FUNCTION", "LIST"))[b"x"][5]
    assert funcs == [
        [b"name", b"a", b"description", b"desc", b"flags",
         ["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"]],
        [b"name", b"b", b"description", None, b"flags", []],
        [b"name", b"c", b"description", None, b"flags", []],
    ]


def test_function_load_in_multi_then_fcall_in_the_same_transaction(c):
    assert c.call("MULTI") == "OK"
    assert c.call("FUNCTION", "LOAD", lib("t", reg("tf", "return 'in-multi'"))) == "QUEUED"
    assert c.call("FCALL", "tf", "0") == "QUEUED"
    assert c.call("EXEC") == [b"t", b"in-multi"]


# ---------------------------------------------------------------------------
# FCALL / FCALL_RO
# ---------------------------------------------------------------------------

RUNTIME = lib(
    "rt",                                                                       # line 1
    reg("echo", "return {keys, args}"),                                         # 2
    reg("typ", "return {type(keys), #keys, #args}"),                            # 3
    reg("set", "return redis.call('set', keys[1], args[1])"),                   # 4
    reg_named("get", "return redis.call('get', keys[1])", flags=["no-writes"]),  # 5
    reg_named("rowrite", "return redis.call('set', keys[1], 'x')", flags=["no-writes"]),  # 6
    reg("unknown", "return redis.call('nosuchcmd')"),                           # 7
    reg("boom", "error('boom')"),                                               # 8
    reg("myerr", "return redis.error_reply('MY oops')"),                        # 9
    reg("errtable", "return {err='plain'}"),                                    # 10
    reg("kg", "return KEYS"),                                                   # 11
    reg("ag", "return ARGV"),                                                   # 12
    reg("reg", "redis.register_function('x', function() end)"),                 # 13
    reg("setg", "foo = 1"),                                                     # 14
    reg("vals", "return {1, 3.9, 'x', true, false, {ok='fine'}}"),              # 15
    reg("status", "return redis.status_reply('fine')"),                         # 16
    reg("dbl", "return {double=1.5}"),                                          # 17
    reg("nilret", "return nil"),                                                # 18
    reg("pc", "return redis.pcall('nosuchcmd')"),                               # 19
    reg("wrongtype", "redis.call('set', 'wt', 'v') return redis.call('lpush', 'wt', 'v')"),  # 20
    reg("libs", "return {string.len(args[1]), cjson.encode({a=1}), redis.sha1hex(''), redis.REDIS_VERSION_NUM}"),  # 21
    reg("evalcall", "return redis.call('eval', 'return 1', 0)"),                # 22
    reg("fcallcall", "return redis.call('fcall', 'echo', 0)"),                  # 23
    reg("funccall", "return redis.call('function', 'list')"),                   # 24
    reg("resp3", "redis.setresp(3) return redis.call('hgetall', 'nohash')"),    # 25
)


@pytest.fixture
def rt(c):
    assert load(c, RUNTIME) == b"rt"
    return c


def test_fcall_passes_keys_and_args_tables(rt):
    assert rt.call("FCALL", "echo", "2", "k1", "k2", "a1", "a2") == [[b"k1", b"k2"], [b"a1", b"a2"]]
    assert rt.call("FCALL", "echo", "0") == [[], []]
    assert rt.call("FCALL", "typ", "1", "a", "b", "c") == [b"table", 1, 2]


def test_fcall_function_name_is_case_insensitive(rt):
    assert rt.call("FCALL", "ECHO", "0") == [[], []]


def test_fcall_return_values_convert_like_eval(rt):
    assert rt.call("FCALL", "vals", "0") == [1, 3, b"x", 1, None, "fine"]
    assert rt.call("FCALL", "status", "0") == "fine"
    assert rt.call("FCALL", "dbl", "0") == b"1.5"
    assert rt.call("FCALL", "nilret", "0") is None
    assert rt.call("FCALL", "libs", "0", "hello") == [
        5, b'{"a":1}', b"da39a3ee5e6b4b0d3255bfef95601890afd80709", 458767]
    assert rt.call("FCALL", "resp3", "0") == []


def test_fcall_resp3_double(rt):
    rt.call("HELLO", "3")
    assert rt.call("FCALL", "dbl", "0") == 1.5


def test_fcall_reads_and_writes(rt):
    assert rt.call("FCALL", "set", "1", "k", "v") == "OK"
    assert rt.call("GET", "k") == b"v"
    assert rt.call("FCALL", "get", "1", "k") == b"v"
    assert rt.call("FCALL_RO", "get", "1", "k") == b"v"


def test_fcall_argument_errors(rt):
    assert rt.err("FCALL", "nofunc", "0") == "ERR Function not found"
    assert rt.err("FCALL_RO", "nofunc", "0") == "ERR Function not found"
    # The function is looked up before numkeys is parsed.
    assert rt.err("FCALL", "nofunc", "x") == "ERR Function not found"
    assert rt.err("FCALL", "nofunc", "5") == "ERR Function not found"
    for cmd in ("FCALL", "FCALL_RO"):
        assert rt.err(cmd, "echo", "x") == "ERR Bad number of keys provided"
        assert rt.err(cmd, "echo", "1.5") == "ERR Bad number of keys provided"
        assert rt.err(cmd, "echo", "99999999999999999999") == "ERR Bad number of keys provided"
        assert rt.err(cmd, "echo", "-1") == "ERR Number of keys can't be negative"
        assert rt.err(cmd, "echo", "1") == "ERR Number of keys can't be greater than number of args"
        assert rt.err(cmd, "echo", "3", "a", "b") == "ERR Number of keys can't be greater than number of args"
        assert rt.err(cmd, "echo") == "ERR wrong number of arguments for '%s' command" % cmd.lower()
        assert rt.err(cmd) == "ERR wrong number of arguments for '%s' command" % cmd.lower()


def test_fcall_error_replies_carry_the_function_suffix(rt):
    assert rt.err("FCALL", "unknown", "0") == "ERR Unknown Redis command called from script" + suffix("unknown", 7)
    assert rt.err("FCALL", "boom", "0") == "ERR user_function:8: boom" + suffix("boom", 8)
    assert rt.err("FCALL", "wrongtype", "0") == (
        "WRONGTYPE Operation against a key holding the wrong kind of value" + suffix("wrongtype", 20))
    for f, line in (("evalcall", 22), ("fcallcall", 23), ("funccall", 24)):
        assert rt.err("FCALL", f, "0") == "ERR This Redis command is not allowed from script" + suffix(f, line)


def test_fcall_returned_errors_have_no_suffix(rt):
    assert rt.err("FCALL", "myerr", "0") == "MY oops"
    assert rt.err("FCALL", "errtable", "0") == "plain"
    # redis.pcall returns the error table: it is returned as is.
    assert rt.err("FCALL", "pc", "0") == "ERR Unknown Redis command called from script"


def test_runtime_sandbox(rt):
    assert rt.err("FCALL", "kg", "0") == (
        "ERR user_function:11: Script attempted to access nonexistent global variable 'KEYS'" + suffix("kg", 11))
    assert rt.err("FCALL", "ag", "0") == (
        "ERR user_function:12: Script attempted to access nonexistent global variable 'ARGV'" + suffix("ag", 12))
    assert rt.err("FCALL", "reg", "0") == (
        "ERR user_function:13: attempt to call field 'register_function' (a nil value)" + suffix("reg", 13))
    assert rt.err("FCALL", "setg", "0") == (
        "ERR user_function:14: Attempt to modify a readonly table" + suffix("setg", 14))


def test_fcall_ro_refuses_a_function_without_no_writes(rt):
    err = "ERR Can not execute a script with write flag using *_ro command."
    assert rt.err("FCALL_RO", "set", "1", "k", "v") == err
    assert rt.err("FCALL_RO", "echo", "0") == err
    assert rt.call("EXISTS", "k") == 0


def test_a_no_writes_function_cannot_write(rt):
    err = "ERR Write commands are not allowed from read-only scripts." + suffix("rowrite", 6)
    assert rt.err("FCALL", "rowrite", "1", "k") == err
    assert rt.err("FCALL_RO", "rowrite", "1", "k") == err
    assert rt.call("EXISTS", "k") == 0


def test_oom_refuses_write_functions_but_runs_no_writes_and_allow_oom(c):
    load(c, lib(
        "oom",
        reg("w", "return redis.call('set', keys[1], 'v')"),
        reg("nw", "return 'nw'"),
        reg("del", "return redis.call('del', keys[1])"),
        reg_named("ro", "return redis.call('get', keys[1])", flags=["no-writes"]),
        reg_named("ao", "return redis.call('set', keys[1], 'v')", flags=["allow-oom"]),
    ))
    assert c.call("CONFIG", "SET", "maxmemory", "1") == "OK"
    # A function without no-writes is refused up front, whatever it does.
    assert c.err("FCALL", "w", "1", "k") == OOM
    assert c.err("FCALL", "nw", "0") == OOM
    assert c.err("FCALL", "del", "1", "k") == OOM
    assert c.call("FCALL", "ro", "1", "k") is None
    assert c.call("FCALL_RO", "ro", "1", "k") is None
    # allow-oom: even its writes run.
    assert c.call("FCALL", "ao", "1", "k") == "OK"
    # FUNCTION LOAD is denied, FUNCTION DELETE and FLUSH are not.
    assert c.err("FUNCTION", "LOAD", lib("y", reg("y"))) == OOM
    assert c.call("FUNCTION", "DELETE", "oom") == "OK"
    assert c.call("CONFIG", "SET", "maxmemory", "0") == "OK"
    assert c.call("GET", "k") == b"v"


# ---------------------------------------------------------------------------
# FUNCTION LIST
# ---------------------------------------------------------------------------

LIST_CODE = lib(
    "lib2",
    reg_named("b", flags=["allow-oom", "no-writes"], description="second"),
    reg("a"),
)


def test_function_list_empty(c):
    assert c.call("FUNCTION", "LIST") == []
    assert c.call("FUNCTION", "LIST", "WITHCODE") == []


def test_function_list_reply_structure(c):
    code1 = lib("LIB", reg("Echo2"))
    load(c, code1)
    load(c, LIST_CODE)
    libs = libraries(c.call("FUNCTION", "LIST"))
    assert libs == {
        b"LIB": [b"library_name", b"LIB", b"engine", b"LUA", b"functions",
                 [[b"name", b"Echo2", b"description", None, b"flags", []]]],
        b"lib2": [b"library_name", b"lib2", b"engine", b"LUA", b"functions",
                  [[b"name", b"a", b"description", None, b"flags", []],
                   # flags are simple strings, in the order Redis lists them
                   [b"name", b"b", b"description", b"second", b"flags", ["no-writes", "allow-oom"]]]],
    }
    with_code = libraries(c.call("FUNCTION", "LIST", "WITHCODE"))
    assert with_code[b"LIB"] == libs[b"LIB"] + [b"library_code", code1.encode()]
    assert with_code[b"lib2"] == libs[b"lib2"] + [b"library_code", LIST_CODE.encode()]


def test_function_list_resp3(c):
    code = lib("lib1", reg_named("f1", flags=["no-writes"], description="d"))
    load(c, code)
    c.call("HELLO", "3")
    assert c.call("FUNCTION", "LIST", "WITHCODE") == [{
        b"library_name": b"lib1",
        b"engine": b"LUA",
        b"functions": [{b"name": b"f1", b"description": b"d", b"flags": {"no-writes"}}],
        b"library_code": code.encode(),
    }]
    load(c, lib("lib2", reg("f2")))
    reply = c.call("FUNCTION", "LIST", "LIBRARYNAME", "lib2")
    assert reply == [{b"library_name": b"lib2", b"engine": b"LUA",
                      b"functions": [{b"name": b"f2", b"description": None, b"flags": set()}]}]


def test_function_list_libraryname_pattern_is_case_insensitive(c):
    load(c, lib("LIB", reg("f1")))
    load(c, lib("lib2", reg("f2")))
    load(c, lib("other", reg("f3")))
    assert names(c, "LIBRARYNAME", "lib*") == [b"LIB", b"lib2"]
    assert names(c, "libraryname", "L*") == [b"LIB", b"lib2"]
    assert names(c, "LIBRARYNAME", "*2", "WITHCODE") == [b"lib2"]
    assert names(c, "WITHCODE", "LIBRARYNAME", "o?her") == [b"other"]
    assert c.call("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "nomatch") == []
    entry = c.call("FUNCTION", "LIST", "LIBRARYNAME", "*2", "WITHCODE")[0]
    assert entry[6:] == [b"library_code", lib("lib2", reg("f2")).encode()]


def test_function_list_argument_errors(c):
    assert c.err("FUNCTION", "LIST", "LIBRARYNAME") == "ERR library name argument was not given"
    assert c.err("FUNCTION", "LIST", "WITHCODE", "WITHCODE") == "ERR Unknown argument WITHCODE"
    assert c.err("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b") == "ERR Unknown argument LIBRARYNAME"
    assert c.err("FUNCTION", "LIST", "FOO") == "ERR Unknown argument FOO"
    assert c.err("FUNCTION", "LIST", "LIBRARYNAME", "x", "extra") == "ERR Unknown argument extra"


# ---------------------------------------------------------------------------
# FUNCTION DELETE / FLUSH / STATS / KILL / HELP
# ---------------------------------------------------------------------------


def test_function_delete(c):
    load(c, lib("lib1", reg("f1")))
    load(c, lib("lib2", reg("f2")))
    assert c.call("FUNCTION", "DELETE", "lib1") == "OK"
    assert c.err("FCALL", "f1", "0") == "ERR Function not found"
    assert c.call("FCALL", "f2", "0") == 1
    assert c.err("FUNCTION", "DELETE", "lib1") == "ERR Library not found"
    assert c.err("FUNCTION", "DELETE", "nolib") == "ERR Library not found"
    assert c.err("FUNCTION", "DELETE") == "ERR wrong number of arguments for 'function|delete' command"
    assert c.err("FUNCTION", "DELETE", "a", "b") == "ERR wrong number of arguments for 'function|delete' command"
    # The deleted function's name is free again.
    assert load(c, lib("lib3", reg("f1", "return 3"))) == b"lib3"
    assert c.call("FCALL", "f1", "0") == 3


@pytest.mark.parametrize("mode", [[], ["ASYNC"], ["SYNC"], ["sync"], ["async"]])
def test_function_flush(c, mode):
    load(c, lib("lib1", reg("f1")))
    load(c, lib("lib2", reg("f2")))
    c.call("SET", "key", "v")
    assert c.call("FUNCTION", "FLUSH", *mode) == "OK"
    assert c.call("FUNCTION", "LIST") == []
    assert c.err("FCALL", "f1", "0") == "ERR Function not found"
    # Keys are untouched; the names can be loaded again.
    assert c.call("GET", "key") == b"v"
    assert load(c, lib("lib1", reg("f1"))) == b"lib1"


def test_function_flush_errors(c):
    assert c.err("FUNCTION", "FLUSH", "BAD") == "ERR FUNCTION FLUSH only supports SYNC|ASYNC option"
    assert c.err("FUNCTION", "FLUSH", "SYNC", "ASYNC") == (
        "ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.")
    # The subcommand is echoed as the client wrote it.
    assert c.err("FUNCTION", "flush", "sync", "async") == (
        "ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.")


def test_flushall_keeps_functions(c):
    load(c, lib("lib1", reg("f1")))
    c.call("SET", "key", "v")
    assert c.call("FLUSHALL") == "OK"
    assert c.call("FLUSHDB") == "OK"
    assert c.call("DBSIZE") == 0
    assert names(c) == [b"lib1"]
    assert c.call("FCALL", "f1", "0") == 1


def test_function_stats_with_nothing_running(c):
    assert c.call("FUNCTION", "STATS") == [
        b"running_script", None,
        b"engines", [b"LUA", [b"libraries_count", 0, b"functions_count", 0]],
    ]
    load(c, lib("lib1", reg("f1"), reg("f2")))
    load(c, lib("lib2", reg("f3")))
    assert c.call("FUNCTION", "STATS") == [
        b"running_script", None,
        b"engines", [b"LUA", [b"libraries_count", 2, b"functions_count", 3]],
    ]
    assert c.err("FUNCTION", "STATS", "x") == "ERR wrong number of arguments for 'function|stats' command"


def test_function_stats_resp3(c):
    load(c, lib("lib1", reg("f1"), reg("f2")))
    c.call("HELLO", "3")
    assert c.call("FUNCTION", "STATS") == {
        b"running_script": None,
        b"engines": {b"LUA": {b"libraries_count": 1, b"functions_count": 2}},
    }


def test_function_kill_with_nothing_running(c):
    assert c.err("FUNCTION", "KILL") == NOTBUSY
    assert c.err("FUNCTION", "KILL", "x") == "ERR wrong number of arguments for 'function|kill' command"


def test_function_help_and_unknown_subcommands(c):
    lines = c.call("FUNCTION", "HELP")
    assert isinstance(lines, list) and len(lines) > 10
    assert all(isinstance(line, str) for line in lines)
    assert lines[0] == "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "LOAD [REPLACE] <FUNCTION CODE>" in lines
    assert "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]" in lines
    assert c.call("FUNCTION", "help") == lines
    assert c.err("FUNCTION", "HELP", "x") == "ERR wrong number of arguments for 'function|help' command"
    assert c.err("FUNCTION") == "ERR wrong number of arguments for 'function' command"
    assert c.err("FUNCTION", "NOSUCH") == "ERR unknown subcommand 'NOSUCH'. Try FUNCTION HELP."


def test_info_counts_libraries_and_functions(c):
    assert memory_counts(c) == (0, 0)
    load(c, lib("lib1", reg("f1"), reg("f2")))
    assert memory_counts(c) == (1, 2)
    load(c, lib("lib2", reg("f3")))
    assert memory_counts(c) == (2, 3)
    # Also in the default INFO.
    flat = parse_info(c.call("INFO"))[1]
    assert (flat["number_of_libraries"], flat["number_of_functions"]) == ("2", "3")
    load(c, lib("lib1", reg("f1")), replace=True)
    assert memory_counts(c) == (2, 2)
    c.call("FUNCTION", "DELETE", "lib1")
    assert memory_counts(c) == (1, 1)
    c.call("FUNCTION", "FLUSH")
    assert memory_counts(c) == (0, 0)


# ---------------------------------------------------------------------------
# FUNCTION DUMP / RESTORE
# ---------------------------------------------------------------------------

LIB1 = lib("lib1", reg("f1", "return 'one'"))
LIB2 = lib("lib2", reg_named("f2", "return 'two'", flags=["no-writes"], description="the second"))


def test_dump_restore_round_trip_into_another_server(server, server_factory, c):
    load(c, LIB1)
    load(c, LIB2)
    payload = c.call("FUNCTION", "DUMP")
    assert isinstance(payload, bytes)
    other = server_factory()
    o = other.client()
    assert o.call("FUNCTION", "RESTORE", payload) == "OK"
    assert libraries(o.call("FUNCTION", "LIST", "WITHCODE")) == libraries(c.call("FUNCTION", "LIST", "WITHCODE"))
    assert o.call("FCALL", "f1", "0") == b"one"
    assert o.call("FCALL_RO", "f2", "0") == b"two"
    # A dump of the restored libraries restores the same libraries again.
    third = server_factory()
    t = third.client()
    assert t.call("FUNCTION", "RESTORE", o.call("FUNCTION", "DUMP")) == "OK"
    assert names(t) == [b"lib1", b"lib2"]


def test_dump_of_nothing_restores_nothing(c):
    payload = c.call("FUNCTION", "DUMP")
    assert isinstance(payload, bytes)
    load(c, LIB1)
    assert c.call("FUNCTION", "RESTORE", payload) == "OK"
    assert names(c) == [b"lib1"]
    assert c.call("FUNCTION", "RESTORE", payload, "FLUSH") == "OK"
    assert c.call("FUNCTION", "LIST") == []


def test_restore_policies(c):
    load(c, LIB1)
    load(c, LIB2)
    payload = c.call("FUNCTION", "DUMP")
    # APPEND (the default) aborts on a library name collision; note the
    # missing quotes compared with FUNCTION LOAD's error.
    assert c.err("FUNCTION", "RESTORE", payload) in ("ERR Library lib1 already exists",
                                                     "ERR Library lib2 already exists")
    assert c.err("FUNCTION", "RESTORE", payload, "APPEND") in ("ERR Library lib1 already exists",
                                                               "ERR Library lib2 already exists")
    assert c.call("FUNCTION", "RESTORE", payload, "REPLACE") == "OK"
    assert c.call("FUNCTION", "RESTORE", payload, "replace") == "OK"
    assert c.call("FUNCTION", "RESTORE", payload, "FLUSH") == "OK"
    assert names(c) == [b"lib1", b"lib2"]

    # APPEND with only lib2 present: lib2 collides, nothing is added.
    c.call("FUNCTION", "DELETE", "lib1")
    assert c.err("FUNCTION", "RESTORE", payload, "APPEND") == "ERR Library lib2 already exists"
    assert names(c) == [b"lib2"]

    # APPEND into unrelated libraries adds them.
    c.call("FUNCTION", "FLUSH")
    load(c, lib("lib3", reg("f3")))
    assert c.call("FUNCTION", "RESTORE", payload, "APPEND") == "OK"
    assert names(c) == [b"lib1", b"lib2", b"lib3"]

    # FLUSH drops what was there.
    assert c.call("FUNCTION", "RESTORE", payload, "FLUSH") == "OK"
    assert names(c) == [b"lib1", b"lib2"]
    assert c.err("FCALL", "f3", "0") == "ERR Function not found"


def test_restore_replace_swaps_whole_libraries(c):
    load(c, LIB1)
    load(c, LIB2)
    payload = c.call("FUNCTION", "DUMP")
    load(c, lib("lib2", reg("f2new", "return 22")), replace=True)
    assert c.call("FUNCTION", "RESTORE", payload, "REPLACE") == "OK"
    assert c.err("FCALL", "f2new", "0") == "ERR Function not found"
    assert c.call("FCALL", "f2", "0") == b"two"


def test_restore_function_collision_with_another_library(c):
    load(c, LIB1)
    payload = c.call("FUNCTION", "DUMP")
    c.call("FUNCTION", "FLUSH")
    load(c, lib("lib3", reg("f1", "return 3")))
    assert c.err("FUNCTION", "RESTORE", payload, "APPEND") == "ERR Function f1 already exists"
    assert c.err("FUNCTION", "RESTORE", payload, "REPLACE") == "ERR Function f1 already exists"
    assert names(c) == [b"lib3"]
    assert c.call("FCALL", "f1", "0") == 3


def test_restore_errors(c):
    load(c, LIB1)
    payload = c.call("FUNCTION", "DUMP")
    bad = "ERR DUMP payload version or checksum are wrong"
    assert c.err("FUNCTION", "RESTORE", "garbage") == bad
    assert c.err("FUNCTION", "RESTORE", "garbage", "FLUSH") == bad
    assert c.err("FUNCTION", "RESTORE", "") == bad
    assert c.err("FUNCTION", "RESTORE", payload[:-1] + bytes([payload[-1] ^ 1])) == bad
    assert c.err("FUNCTION", "RESTORE", b"\x0a\x00" + b"\x00" * 8) == bad
    assert c.err("FUNCTION", "RESTORE", payload, "BAD") == (
        "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    assert c.err("FUNCTION", "RESTORE", payload, "FLUSH", "x") == (
        "ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.")
    assert c.err("FUNCTION", "RESTORE") == "ERR wrong number of arguments for 'function|restore' command"
    assert c.err("FUNCTION", "DUMP", "x") == "ERR wrong number of arguments for 'function|dump' command"
    # A key's DUMP payload is well formed but holds no function.
    c.call("SET", "s", "v")
    assert c.err("FUNCTION", "RESTORE", c.call("DUMP", "s")) == "ERR given type is not a function"
    # Nothing changed.
    assert names(c) == [b"lib1"]
    assert c.call("FCALL", "f1", "0") == b"one"


# ---------------------------------------------------------------------------
# persistence
# ---------------------------------------------------------------------------


@DEBUG
def test_functions_survive_debug_reload(c):
    load(c, LIB1)
    load(c, LIB2)
    before = c.call("FUNCTION", "LIST", "WITHCODE")
    assert c.call("DEBUG", "RELOAD") == "OK"
    assert libraries(c.call("FUNCTION", "LIST", "WITHCODE")) == libraries(before)
    assert c.call("FCALL", "f1", "0") == b"one"
    assert c.call("FCALL_RO", "f2", "0") == b"two"
    assert memory_counts(c) == (2, 2)


def test_functions_survive_save_and_restart(server, c):
    load(c, LIB1)
    load(c, LIB2)
    c.call("SET", "key", "v")
    before = c.call("FUNCTION", "LIST", "WITHCODE")
    assert c.call("SAVE") == "OK"
    server.restart()
    c2 = server.client()
    assert libraries(c2.call("FUNCTION", "LIST", "WITHCODE")) == libraries(before)
    assert c2.call("FCALL", "f1", "0") == b"one"
    assert c2.call("GET", "key") == b"v"
    # An RDB saved with no functions loads none.
    assert c2.call("FUNCTION", "FLUSH") == "OK"
    assert c2.call("SAVE") == "OK"
    server.restart()
    assert server.client().call("FUNCTION", "LIST") == []


def test_functions_survive_an_aof_restart(server_factory):
    s = server_factory(args=["--appendonly", "yes"])
    c = s.client()
    load(c, LIB1)
    load(c, LIB2)
    load(c, lib("gone", reg("g")))
    load(c, lib("lib1", reg("f1", "return 'replaced'")), replace=True)
    assert c.call("FUNCTION", "DELETE", "gone") == "OK"
    assert c.call("FCALL", "f1", "1", "k") == b"replaced"
    s.restart()
    c = s.client()
    assert names(c) == [b"lib1", b"lib2"]
    assert c.call("FCALL", "f1", "0") == b"replaced"
    assert c.call("FCALL", "f2", "0") == b"two"
    # FUNCTION FLUSH is in the AOF too.
    assert c.call("FUNCTION", "FLUSH") == "OK"
    s.restart()
    assert s.client().call("FUNCTION", "LIST") == []


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_functions_survive_an_aof_rewrite_and_restart(server_factory, preamble):
    s = server_factory(args=["--appendonly", "yes", "--aof-use-rdb-preamble", preamble])
    c = s.client()
    load(c, LIB1)
    load(c, LIB2)
    before = c.call("FUNCTION", "LIST", "WITHCODE")
    c.call("BGREWRITEAOF")
    wait_until(lambda: parse_info(c.call("INFO", "persistence"))[1]["aof_rewrite_in_progress"] == "0"
               and parse_info(c.call("INFO", "persistence"))[1]["aof_rewrite_scheduled"] == "0",
               timeout=20, msg="AOF rewrite did not finish")
    assert parse_info(c.call("INFO", "persistence"))[1]["aof_last_bgrewrite_status"] == "ok"
    s.restart()
    c = s.client()
    assert libraries(c.call("FUNCTION", "LIST", "WITHCODE")) == libraries(before)
    assert c.call("FCALL", "f1", "0") == b"one"


# ---------------------------------------------------------------------------
# replication
# ---------------------------------------------------------------------------


def test_function_commands_reach_the_replica(server_factory):
    master, replica, m, r = pair(server_factory)
    load(m, LIB1)
    load(m, LIB2)
    wait_in_sync(m, [r])
    assert libraries(r.call("FUNCTION", "LIST", "WITHCODE")) == libraries(m.call("FUNCTION", "LIST", "WITHCODE"))
    assert r.call("FCALL_RO", "f2", "0") == b"two"
    load(m, lib("lib1", reg("f1", "return 'again'")), replace=True)
    assert m.call("FUNCTION", "DELETE", "lib2") == "OK"
    wait_in_sync(m, [r])
    assert names(r) == [b"lib1"]
    assert r.call("FUNCTION", "LIST", "WITHCODE")[0][-1] == lib("lib1", reg("f1", "return 'again'")).encode()
    payload = m.call("FUNCTION", "DUMP")
    assert m.call("FUNCTION", "FLUSH") == "OK"
    wait_in_sync(m, [r])
    assert r.call("FUNCTION", "LIST") == []
    assert m.call("FUNCTION", "RESTORE", payload) == "OK"
    wait_in_sync(m, [r])
    assert names(r) == [b"lib1"]
    # The replica refuses to change its functions itself.
    assert r.err("FUNCTION", "LOAD", LIB2) == READONLY
    assert r.err("FUNCTION", "DELETE", "lib1") == READONLY
    assert r.err("FUNCTION", "FLUSH") == READONLY
    assert r.err("FUNCTION", "RESTORE", payload) == READONLY


def test_fcall_effects_reach_the_replica(server_factory):
    master, replica, m, r = pair(server_factory)
    load(m, lib(
        "fx",
        reg("settime", "local t = redis.call('time') redis.call('set', keys[1], t[1] .. '.' .. t[2]) "
                       "redis.call('incr', keys[2]) return redis.call('get', keys[1])"),
        reg("push", "return redis.call('rpush', keys[1], unpack(args))"),
        reg_named("ro", "return redis.call('get', keys[1])", flags=["no-writes"]),
    ))
    value = m.call("FCALL", "settime", "2", "t", "n")
    m.call("FCALL", "settime", "2", "t2", "n")
    assert m.call("FCALL", "push", "1", "l", "a", "b", "c") == 3
    wait_in_sync(m, [r])
    assert r.call("GET", "t") == value
    assert r.call("GET", "n") == b"2"
    assert r.call("LRANGE", "l", "0", "-1") == [b"a", b"b", b"c"]
    assert r.call("DEBUG", "DIGEST") == m.call("DEBUG", "DIGEST")
    # On the replica: read-only functions run, write functions are refused.
    assert r.call("FCALL", "ro", "1", "t") == value
    assert r.call("FCALL_RO", "ro", "1", "t") == value
    assert r.err("FCALL", "push", "1", "l", "x") == READONLY


def test_a_replica_that_full_syncs_gets_the_functions(server_factory):
    master = start(server_factory)
    m = master.client()
    load(m, LIB1)
    load(m, LIB2)
    m.call("SET", "key", "v")
    # The replica had functions of its own: the sync replaces them.
    replica = start(server_factory)
    r = replica.client()
    load(r, lib("own", reg("own")))
    assert r.call("REPLICAOF", HOST, str(master.port)) == "OK"
    wait_link_up(r)
    wait_online(m, 1)
    wait_in_sync(m, [r])
    assert libraries(r.call("FUNCTION", "LIST", "WITHCODE")) == libraries(m.call("FUNCTION", "LIST", "WITHCODE"))
    assert r.call("FCALL_RO", "f2", "0") == b"two"
    assert r.call("GET", "key") == b"v"
    # A second replica started afterwards, too.
    replica2 = start_replica(server_factory, master)
    r2 = replica2.client()
    wait_link_up(r2)
    wait_in_sync(m, [r, r2])
    assert names(r2) == [b"lib1", b"lib2"]


def test_allow_stale_on_a_replica_whose_master_is_down(server_factory):
    master, replica, m, r = pair(server_factory)
    load(m, lib(
        "st",                                                                      # 1
        reg_named("stale", "return 'stale ok'", flags=["allow-stale", "no-writes"]),  # 2
        reg_named("staleget", "return redis.call('get', 'x')", flags=["allow-stale", "no-writes"]),  # 3
        reg_named("ro", "return redis.call('get', 'x')", flags=["no-writes"]),     # 4
        reg("w", "return 'w'"),                                                    # 5
    ))
    wait_in_sync(m, [r])
    master.kill()
    wait_until(lambda: repl_info(r)["master_link_status"] == "down", timeout=10)
    assert r.call("CONFIG", "SET", "replica-serve-stale-data", "no") == "OK"
    assert r.err("GET", "x") == MASTERDOWN
    assert r.call("FCALL", "stale", "0") == b"stale ok"
    assert r.call("FCALL_RO", "stale", "0") == b"stale ok"
    stale_err = "ERR Can not execute the command on a stale replica" + suffix("staleget", 3)
    assert r.err("FCALL", "staleget", "0") == stale_err
    assert r.err("FCALL", "ro", "0") == MASTERDOWN
    assert r.err("FCALL_RO", "ro", "0") == MASTERDOWN
    assert r.err("FCALL", "w", "0") == READONLY
    assert r.err("FCALL", "nosuch", "0") == "ERR Function not found"
    assert r.err("FUNCTION", "LIST") == MASTERDOWN
    assert r.err("FUNCTION", "STATS") == MASTERDOWN


# ---------------------------------------------------------------------------
# busy functions
# ---------------------------------------------------------------------------


@pytest.mark.server(args=BUSY_ARGS)
def test_busy_function_refuses_others_and_function_kill_stops_it(server, c):
    load(c, SPIN)
    t, result = start_fcall(server, "FCALL", "spin", "0", "x")
    wait_busy(server)
    other = Client(server.port)
    for cmd in (["GET", "x"], ["PING"], ["FCALL", "spin", "0"], ["EVAL", "return 1", "0"],
                ["FUNCTION", "LIST"], ["FUNCTION", "LOAD", lib("zz", reg("zz"))], ["FUNCTION", "DUMP"],
                ["FUNCTION", "FLUSH"], ["CLIENT", "ID"], ["SHUTDOWN"]):
        assert call_or_error(other, *cmd) == "-" + BUSY, cmd
    # SCRIPT KILL does not stop a function.
    assert call_or_error(other, "SCRIPT", "KILL") == "-" + BUSY
    stats = other.call("FUNCTION", "STATS")
    assert stats[0] == b"running_script"
    running = stats[1]
    assert running[0::2] == [b"name", b"command", b"duration_ms"]
    assert running[1] == b"spin"
    assert running[3] == [b"FCALL", b"spin", b"0", b"x"]
    assert isinstance(running[5], int) and running[5] >= 100
    assert stats[2:] == [b"engines", [b"LUA", [b"libraries_count", 1, b"functions_count", 3]]]
    assert other.call("FUNCTION", "KILL") == "OK"
    t.join(10)
    assert not t.is_alive()
    reply = result["reply"]
    assert isinstance(reply, RespError)
    assert reply.msg == "ERR Script killed by user with SCRIPT KILL..." + suffix("spin", 2)
    assert other.call("PING") == "PONG"
    assert other.err("FUNCTION", "KILL") == NOTBUSY
    assert other.call("FUNCTION", "STATS")[1] is None
    log = server.log()
    assert re.search(r"Slow script detected: still in execution after \d+ milliseconds\. "
                     r"You can try killing the script using the FUNCTION KILL command\. Script name is: spin\.", log)
    assert "Lua script killed by user with SCRIPT KILL." in log
    other.close()


@pytest.mark.server(args=BUSY_ARGS)
def test_function_stats_of_a_busy_fcall_ro_resp3(server, c):
    load(c, SPIN)
    t, result = start_fcall(server, "FCALL_RO", "rospin", "1", "kk", "a1", "a2")
    wait_busy(server)
    other = Client(server.port)
    other.call("HELLO", "3")
    stats = other.call("FUNCTION", "STATS")
    assert set(stats) == {b"running_script", b"engines"}
    running = stats[b"running_script"]
    assert set(running) == {b"name", b"command", b"duration_ms"}
    assert running[b"name"] == b"rospin"
    assert running[b"command"] == [b"FCALL_RO", b"rospin", b"1", b"kk", b"a1", b"a2"]
    assert isinstance(running[b"duration_ms"], int)
    assert stats[b"engines"] == {b"LUA": {b"libraries_count": 1, b"functions_count": 3}}
    assert other.call("FUNCTION", "KILL") == "OK"
    t.join(10)
    assert result["reply"].msg == "ERR Script killed by user with SCRIPT KILL..." + suffix("rospin", 3)
    other.close()


@pytest.mark.server(args=BUSY_ARGS)
def test_function_kill_and_stats_do_not_apply_to_a_busy_eval(server, c):
    t, result = start_fcall(server, "EVAL", "while true do end", "0")
    wait_busy(server, BUSY_EVAL)
    other = Client(server.port)
    assert call_or_error(other, "FUNCTION", "KILL") == "-" + BUSY_EVAL
    assert call_or_error(other, "FUNCTION", "STATS") == "-" + BUSY_EVAL
    assert other.call("SCRIPT", "KILL") == "OK"
    t.join(10)
    assert result["reply"].msg.startswith("ERR Script killed by user with SCRIPT KILL... script: ")
    other.close()


@pytest.mark.server(args=BUSY_ARGS + ["--appendonly", "yes"])
def test_a_function_that_wrote_cannot_be_killed(server, c):
    load(c, SPIN)
    t, result = start_fcall(server, "FCALL", "wspin", "0")
    wait_busy(server)
    other = Client(server.port)
    assert call_or_error(other, "FUNCTION", "KILL") == "-" + UNKILLABLE
    assert call_or_error(other, "SCRIPT", "KILL") == "-" + UNKILLABLE
    other.send("SHUTDOWN", "NOSAVE")
    wait_until(lambda: server.proc.poll() is not None, timeout=10, msg="the server did not exit")
    t.join(10)
    assert not isinstance(result["reply"], (bytes, str, int))
    # The library was in the AOF, the function's partial write was not.
    server.start()
    c2 = server.client()
    assert names(c2) == [b"busy"]
    assert c2.call("GET", "k") is None


# ---------------------------------------------------------------------------
# redis-py
# ---------------------------------------------------------------------------


def test_redis_py_function_helpers(r):
    code = lib(
        "mylib",
        reg("f", "return {keys[1], args[1]}"),
        reg_named("g", "return redis.call('get', keys[1])", flags=["no-writes"]),
        reg("s", "return redis.call('set', keys[1], args[1])"),
    )
    assert r.function_load(code) == "mylib"
    assert r.function_load(code, replace=True) == "mylib"
    assert r.fcall("f", 1, "k", "a") == ["k", "a"]
    assert r.fcall("s", 1, "k", "v") == "OK"
    assert r.fcall_ro("g", 1, "k") == "v"
    with pytest.raises(Exception) as exc:
        r.fcall_ro("s", 1, "k", "v")
    assert "Can not execute a script with write flag using *_ro command." in str(exc.value)
    listed = r.function_list()
    assert len(listed) == 1
    assert listed[0][:5] == ["library_name", "mylib", "engine", "LUA", "functions"]
    assert sorted(f[1] for f in listed[0][5]) == ["f", "g", "s"]
    assert r.function_list(library="my*", withcode=True)[0][-2:] == ["library_code", code]
    payload = r.function_dump()
    assert isinstance(payload, bytes)
    assert r.function_delete("mylib")
    assert r.function_list() == []
    assert r.function_restore(payload)
    assert r.fcall("f", 1, "k2", "b") == ["k2", "b"]
    assert r.function_flush()
    assert r.function_list() == []


def test_redis_py_function_stats(r):
    r.function_load(lib("x", reg("f")))
    assert r.function_stats() == ["running_script", None, "engines",
                                  ["LUA", ["libraries_count", 1, "functions_count", 1]]]
