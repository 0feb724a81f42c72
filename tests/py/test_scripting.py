"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, byte for byte as Redis 7.0
answers them: conversions both ways (RESP2 and RESP3), errors and their
`script: <sha>, on @user_script:<line>.` suffix, the sandbox, the script
cache, shebang flags, effects propagation (AOF and replicas), and real
clients (redis-py's Lock and register_script).  Every test passes with
``REDUST_SERVER=/usr/bin/redis-server``.
"""

import hashlib
import os
import threading
import time

import pytest

from helpers import RawConn, encode_command, pair, wait_in_sync, wait_until


def sha(body):
    return hashlib.sha1(body.encode()).hexdigest()


def raw(server, *args, hello3=False):
    """The exact bytes of the reply to one command."""
    conn = RawConn(server.port)
    try:
        if hello3:
            conn.send(encode_command("HELLO", "3"))
            # Skip HELLO's map reply.
            conn.sock.settimeout(5)
            data = b""
            while b"modules" not in data or not data.endswith(b"\r\n"):
                data += conn.sock.recv(4096)
                if data.rstrip().endswith(b"*0"):
                    break
        conn.send(encode_command(*args))
        conn.sock.settimeout(5)
        out = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = conn.sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if complete(out):
                break
        return out
    finally:
        conn.sock.close()


def complete(data):
    """Whether `data` holds one whole RESP reply."""
    def parse(i):
        if i >= len(data):
            return None
        end = data.find(b"\r\n", i)
        if end < 0:
            return None
        kind, line = data[i:i + 1], data[i + 1:end]
        if kind in b"+-:_,#(":
            return end + 2
        if kind in b"$=!":
            n = int(line)
            if n < 0:
                return end + 2
            stop = end + 2 + n + 2
            return stop if len(data) >= stop else None
        if kind in b"*~>%|":
            n = int(line)
            if kind in b"%|":
                n *= 2
            j = end + 2
            for _ in range(max(n, 0)):
                j = parse(j)
                if j is None:
                    return None
            return j
        return None
    return parse(0) == len(data)


def eval_raw(server, body, *keys_and_args, numkeys=0, hello3=False):
    return raw(server, "EVAL", body, str(numkeys), *keys_and_args, hello3=hello3)


def suffix(body, line=1):
    return " script: %s, on @user_script:%d." % (sha(body), line)


@pytest.mark.parametrize(
    "body,expected",
    [
        ("return 1", b":1\r\n"),
        ("return 3.99", b":3\r\n"),
        ("return -3.99", b":-3\r\n"),
        ("return 1e20", b":-9223372036854775808\r\n"),
        ("return 'x'", b"$1\r\nx\r\n"),
        ("return true", b":1\r\n"),
        ("return false", b"$-1\r\n"),
        ("return nil", b"$-1\r\n"),
        ("return", b"$-1\r\n"),
        ("return {1,2,{3,'x'},nil,5}", b"*3\r\n:1\r\n:2\r\n*2\r\n:3\r\n$1\r\nx\r\n"),
        ("return {1,false,3}", b"*3\r\n:1\r\n$-1\r\n:3\r\n"),
        ("return {a=1}", b"*0\r\n"),
        ("return {ok='fine'}", b"+fine\r\n"),
        ("return {err='MY err'}", b"-MY err\r\n"),
        ("return {err=1}", b"*0\r\n"),
        ("return {double=1.5}", b"$3\r\n1.5\r\n"),
        ("return {double=0.1}", b"$19\r\n0.10000000000000001\r\n"),
        ("return 'x','y'", b"$1\r\nx\r\n"),
        ("return redis.call('ping')", b"+PONG\r\n"),
        ("return redis.call('get','nokey')", b"$-1\r\n"),
        ("return type(redis.call('get','nokey'))", b"$7\r\nboolean\r\n"),
        ("return redis.status_reply('fine')", b"+fine\r\n"),
        ("return redis.error_reply('hi')", b"-ERR hi\r\n"),
        ("return redis.error_reply('MYERR hi')", b"-MYERR hi\r\n"),
        ("return redis.error_reply()", b"-ERR wrong number or type of arguments\r\n"),
        ("return redis.sha1hex('')", b"$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"),
        ("return redis.REDIS_VERSION_NUM", b":458767\r\n"),
        ("return redis.replicate_commands()", b":1\r\n"),
        ("return ''", b"$0\r\n\r\n"),
        ("", b"$-1\r\n"),
    ],
)
def test_lua_values_become_resp2_replies(server, body, expected):
    assert eval_raw(server, body) == expected


@pytest.mark.parametrize(
    "body,expected",
    [
        ("return {double=1.5}", b",1.5\r\n"),
        ("return true", b":1\r\n"),
        ("return false", b"_\r\n"),
        ("redis.setresp(3) return true", b"#t\r\n"),
        ("redis.setresp(3) return false", b"#f\r\n"),
        ("return {map={a=1}}", b"%1\r\n$1\r\na\r\n:1\r\n"),
        ("return {set={a=true}}", b"~1\r\n$1\r\na\r\n"),
        ("return {big_number='123'}", b"(123\r\n"),
        ("redis.setresp(3) return redis.call('get','nokey') == nil", b"#t\r\n"),
        ("redis.setresp(3) redis.call('hset','h','f','v') return redis.call('hgetall','h').map.f", b"$1\r\nv\r\n"),
    ],
)
def test_lua_values_become_resp3_replies(server, body, expected):
    assert eval_raw(server, body, hello3=True) == expected


def test_keys_and_argv(c):
    body = "return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}"
    assert c.call("EVAL", body, "2", "k1", "k2", "a1") == [b"k1", b"k2", b"a1", 2, 1]
    assert c.call("EVAL", "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])",
                  "1", "k", "v\x00b") == b"v\x00b"
    # Numbers reach commands as %.17g.
    assert c.call("EVAL", "redis.call('set','n',0.1) return redis.call('get','n')", "0") == b"0.10000000000000001"


@pytest.mark.parametrize(
    "body,text,line",
    [
        ("return redis.call('incr','s')", "ERR value is not an integer or out of range", 1),
        ("local x = 1\nerror('boom')", "ERR user_script:2: boom", 2),
        ("error({err='MY boom'})", "MY boom", 1),
        ("error(redis.error_reply('MYCODE my msg'))", "MYCODE my msg", 1),
        ("return redis.call('nosuchcommand')", "ERR Unknown Redis command called from script", 1),
        ("return redis.call('get')", "ERR Wrong number of args calling Redis command from script", 1),
        ("return redis.call('multi')", "ERR This Redis command is not allowed from script", 1),
        ("return redis.call({})", "ERR Lua redis lib command arguments must be strings or integers", 1),
        ("return redis.call()", "ERR Please specify at least one argument for this redis lib call", 1),
        ("local a=nil; a()", "ERR user_script:1: attempt to call local 'a' (a nil value)", 1),
        ("x = 5", "ERR user_script:1: Attempt to modify a readonly table", 1),
        ("return undefined_thing", "ERR user_script:1: Script attempted to access nonexistent global variable 'undefined_thing'", 1),
        ("redis.call = nil", "ERR user_script:1: Attempt to modify a readonly table", 1),
        ("return print", "ERR user_script:1: Script attempted to access nonexistent global variable 'print'", 1),
        ("return os.time()", "ERR user_script:1: Script attempted to access nonexistent global variable 'os'", 1),
        ("return redis.setresp(4)", "ERR RESP version must be 2 or 3.", 1),
        ("redis.log(99, 'x')", "ERR Invalid debug level.", 1),
        ("redis.log(1)", "ERR redis.log() requires two arguments or more.", 1),
    ],
)
def test_errors_name_the_script_and_line(server, body, text, line):
    if "incr" in body:
        server.client().call("SET", "s", "abc")
    assert eval_raw(server, body) == ("-" + text + suffix(body, line) + "\r\n").encode()


def test_pcall_returns_errors_and_scripts_see_their_text(c):
    c.call("SET", "s", "abc")
    assert eval_raw_c(c, "return redis.pcall('incr','s')") == b"-ERR value is not an integer or out of range\r\n"
    assert c.call("EVAL", "local ok, e = pcall(redis.call, 'incr', 's') return {tostring(ok), e}", "0") == [
        b"false",
        b"ERR value is not an integer or out of range",
    ]
    assert c.call("EVAL", "local e = redis.pcall('incr','s') return e.err", "0") == b"ERR value is not an integer or out of range"


def eval_raw_c(c, body):
    conn = RawConn(c.port)
    try:
        conn.send(encode_command("EVAL", body, "0"))
        conn.sock.settimeout(5)
        out = b""
        while not complete(out):
            out += conn.sock.recv(65536)
        return out
    finally:
        conn.sock.close()


def test_compile_errors_and_shebangs(server):
    out = eval_raw(server, "return 1 +")
    assert out.startswith(b"-ERR Error compiling script (new function): user_script:1:"), out
    for body, err in [
        ("#!lua", "ERR Invalid script shebang"),
        ("#!python\nreturn 1", "ERR Unexpected engine in script shebang: #!python"),
        ("#!lua name=foo\nreturn 1", "ERR Unknown lua shebang option: name=foo"),
        ("#!lua flags=bad\nreturn 1", "ERR Unexpected flag in script shebang: bad"),
    ]:
        assert eval_raw(server, body) == ("-" + err + "\r\n").encode()
    assert eval_raw(server, "#!lua flags=no-writes\nreturn 1") == b":1\r\n"
    body = "#!lua flags=no-writes\nreturn redis.call('set','a','b')"
    assert eval_raw(server, body) == (
        "-ERR Write commands are not allowed from read-only scripts." + suffix(body, 2) + "\r\n"
    ).encode()
    # A shebang keeps line numbers.
    body = "#!lua\nlocal x = 1\nerror('two')"
    assert eval_raw(server, body) == ("-ERR user_script:3: two" + suffix(body, 3) + "\r\n").encode()


def test_eval_ro(c, server):
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k") == b"v"
    body = "return redis.call('set','a','b')"
    assert raw(server, "EVAL_RO", body, "0") == (
        "-ERR Write commands are not allowed from read-only scripts." + suffix(body) + "\r\n"
    ).encode()
    body = "#!lua\nreturn 1"
    assert raw(server, "EVAL_RO", body, "0") == b"-ERR Can not execute a script with write flag using *_ro command.\r\n"
    s = c.call("SCRIPT", "LOAD", "return redis.call('get', KEYS[1])")
    assert c.call("EVALSHA_RO", s, "1", "k") == b"v"


def test_numkeys_and_noscript(server, c):
    assert raw(server, "EVAL", "return 1", "2", "a") == b"-ERR Number of keys can't be greater than number of args\r\n"
    assert raw(server, "EVAL", "return 1", "-1") == b"-ERR Number of keys can't be negative\r\n"
    assert raw(server, "EVAL", "return 1", "x") == b"-ERR value is not an integer or out of range\r\n"
    assert raw(server, "EVALSHA", "abc", "notanumber") == b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
    assert raw(server, "EVALSHA", "a" * 40, "0") == b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
    assert raw(server, "EVAL", "return 1") == b"-ERR wrong number of arguments for 'eval' command\r\n"


def test_script_cache(c, server):
    body = "return 'cached'"
    s = c.call("SCRIPT", "LOAD", body)
    assert s == sha(body).encode()
    assert c.call("EVALSHA", s, "0") == b"cached"
    assert c.call("EVALSHA", s.upper(), "0") == b"cached"
    assert c.call("SCRIPT", "EXISTS", s, s.upper(), "nope") == [1, 1, 0]
    # EVAL caches what it compiles, even when the run fails.
    assert c.call("SCRIPT", "EXISTS", sha("error('x')")) == [0]
    eval_raw(server, "error('x')")
    assert c.call("SCRIPT", "EXISTS", sha("error('x')")) == [1]
    assert c.call("SCRIPT", "FLUSH") == "OK"
    assert c.call("SCRIPT", "EXISTS", s) == [0]
    assert c.call("SCRIPT", "FLUSH", "ASYNC") == "OK"
    assert raw(server, "SCRIPT", "FLUSH", "bad") == b"-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n"
    assert raw(server, "SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
    assert raw(server, "SCRIPT", "NOPE") == b"-ERR unknown subcommand 'NOPE'. Try SCRIPT HELP.\r\n"
    help_lines = c.call("SCRIPT", "HELP")
    assert help_lines[0].startswith("SCRIPT <subcommand>") and len(help_lines) == 17
    info = c.call("INFO", "memory")
    assert b"number_of_cached_scripts:0" in info


def test_sandbox_keeps_what_redis_keeps(c):
    assert c.call("EVAL", "return ('abc'):upper()", "0") == b"ABC"
    assert c.call("EVAL", "local t = {} t.x = 1 return t.x", "0") == 1
    assert c.call("EVAL", "return loadstring('return 5')()", "0") == 5
    assert c.call("EVAL", "return _VERSION", "0") == b"Lua 5.1"
    assert c.call("EVAL", "return type(coroutine.create)", "0") == b"function"
    assert c.call("EVAL", "return tostring(redis.foo)", "0") == b"nil"
    assert c.call("EVAL", "return table.concat({'a','b'}, '-')", "0") == b"a-b"
    assert c.call("EVAL", "KEYS[1] = 'z' return KEYS[1]", "1", "k") == b"z"


def test_math_random_is_redis_sequence(server_factory):
    s = server_factory()
    c = s.client()
    assert c.call("EVAL", "return tostring(math.random())", "0") == b"0.39646477363839"
    assert c.call("EVAL", "return tostring(math.random())", "0") == b"0.84048536971234"
    assert c.call("EVAL", "math.randomseed(1) return tostring(math.random())", "0") == b"0.041630344484761"


def aof_incr(server):
    d = os.path.join(server.dir, "appendonlydir")
    name = [f for f in os.listdir(d) if f.endswith(".incr.aof")][0]
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def test_effects_go_to_the_aof_as_commands(server_factory):
    s = server_factory(args=["--appendonly", "yes"])
    c = s.client()
    c.call("EVAL", "redis.call('set','a','1') redis.call('set','b','2')", "0")
    c.call("EVAL", "redis.call('set','c','3')", "0")
    c.call("EVAL", "return redis.call('get','a')", "0")
    c.call("EVAL", "redis.call('set','d','4') redis.set_repl(redis.REPL_NONE) redis.call('set','e','5')", "0")
    wait_until(lambda: b"$1\r\nd\r\n" in aof_incr(s))
    data = aof_incr(s)
    assert b"EVAL" not in data.upper()
    two = encode_command("MULTI") + encode_command("set", "a", "1") + encode_command("set", "b", "2") + encode_command("EXEC")
    assert two in data
    one = encode_command("set", "c", "3")
    assert one in data
    assert encode_command("MULTI") + one not in data
    assert b"$1\r\ne\r\n" not in data


def test_effects_reach_replicas(server_factory):
    master, replica, m, r = pair(server_factory)
    m.call("EVAL", "for i = 1, 10 do redis.call('incr', KEYS[1]) end redis.call('set', KEYS[2], 'x')", "2", "n", "s")
    m.call("EVAL", "redis.call('expire', KEYS[1], 100)", "1", "s")
    wait_in_sync(m, [r])
    assert r.call("GET", "n") == b"10"
    assert r.call("GET", "s") == b"x"
    assert 0 < r.call("TTL", "s") <= 100
    assert m.call("DEBUG", "DIGEST") == r.call("DEBUG", "DIGEST")


def test_redis_py_lock_and_register_script(server):
    import redis as redis_py

    r = server.redis_py()
    lock = r.lock("resource", timeout=5, blocking_timeout=1)
    assert lock.acquire()
    assert lock.owned()
    assert lock.extend(5)
    other = r.lock("resource", timeout=5, blocking_timeout=0.2)
    assert not other.acquire()
    lock.release()
    assert other.acquire()
    other.release()
    with pytest.raises(redis_py.exceptions.LockError):
        lock.release()

    # Contention between threads: each increments under the lock.
    r.set("counter", 0)

    def worker():
        client = server.redis_py()
        for _ in range(20):
            with client.lock("counter-lock", timeout=5, blocking_timeout=10):
                v = int(client.get("counter"))
                client.set("counter", v + 1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(r.get("counter")) == 80

    add = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert add(keys=["total"], args=[5]) == 5
    r.script_flush()
    assert add(keys=["total"], args=[5]) == 10


BIT_VALUES = [
        ("return bit.tohex(255)", b"$8\r\n000000ff\r\n"),
        ("return bit.tohex(-1, -4)", b"$4\r\nFFFF\r\n"),
        ("return bit.tohex(1, 100)", b"$8\r\n00000001\r\n"),
        ("return bit.band(0xff, 0x0f)", b":15\r\n"),
        ("return bit.band(1)", b":1\r\n"),
        ("return bit.bor(1, 2, 4)", b":7\r\n"),
        ("return bit.bxor(5, 1)", b":4\r\n"),
        ("return bit.tobit(2^32+5)", b":5\r\n"),
        ("return bit.tobit(1.5)", b":2\r\n"),
        ("return bit.tobit(2.5)", b":2\r\n"),
        ("return bit.lshift(1, 40)", b":256\r\n"),
        ("return bit.rshift(-1, 28)", b":15\r\n"),
        ("return bit.arshift(-16, 2)", b":-4\r\n"),
        ("return bit.rol(1, 33)", b":2\r\n"),
        ("return bit.ror(1, 1)", b":-2147483648\r\n"),
        ("return bit.bswap(0x12345678)", b":2018915346\r\n"),
        ("return bit.bnot(0)", b":-1\r\n"),
        ("return bit.band('12', 4)", b":4\r\n"),
    ]


BIT_ERRORS = [
        ("return bit.band()", "ERR user_script:1: bad argument #1 to 'band' (number expected, got no value)"),
        ("return bit.band('x')", "ERR user_script:1: bad argument #1 to 'band' (number expected, got string)"),
        ("return bit.bor(1, {})", "ERR user_script:1: bad argument #2 to 'bor' (number expected, got table)"),
        ("bit.band = nil", "ERR user_script:1: Attempt to modify a readonly table"),
    ]


CJSON_VALUES = [
        ("return cjson.encode({1,2,3})", b"$7\r\n[1,2,3]\r\n"),
        ("return cjson.encode({a=1})", b"$7\r\n{\"a\":1}\r\n"),
        ("return cjson.encode({})", b"$2\r\n{}\r\n"),
        ("return cjson.encode('a/b\"c\\n')", b'$11\r\n"a\\/b\\"c\\n"\r\n'),
        ("return cjson.encode(0.1)", b"$3\r\n0.1\r\n"),
        ("return cjson.encode(1e20)", b"$5\r\n1e+20\r\n"),
        ("return cjson.encode(12345678901234567)", b"$19\r\n1.2345678901235e+16\r\n"),
        ("return cjson.encode({1,nil,3})", b"$10\r\n[1,null,3]\r\n"),
        ("return cjson.encode(cjson.null)", b"$4\r\nnull\r\n"),
        ("return cjson.encode({true,false})", b"$12\r\n[true,false]\r\n"),
        ("return cjson.decode('[1,2,{\"a\":\"b\"}]')[3].a", b"$1\r\nb\r\n"),
        ("return cjson.decode('\"\\\\u00e9\"')", "$2\r\n\u00e9\r\n".encode()),
        ("return type(cjson.decode('null'))", b"$8\r\nuserdata\r\n"),
        ("return cjson.decode('null') == cjson.null", b":1\r\n"),
        ("return cjson.decode('{\"a\":[1,2,3]}').a[2]", b":2\r\n"),
        ("return cjson.encode(cjson.decode('{\"k\":[1,{\"x\":null}]}'))", b'$20\r\n{"k":[1,{"x":null}]}\r\n'),
    ]


CJSON_ERRORS = [
        ("return cjson.encode({[1]=1,[20]=2})", "ERR user_script:1: Cannot serialise table: excessively sparse array"),
        ("return cjson.encode(1/0)", "ERR user_script:1: Cannot serialise number: must not be NaN or Inf"),
        ("return cjson.encode(function() end)", "ERR user_script:1: Cannot serialise function: type not supported"),
        ("return cjson.encode({[{}]=1})", "ERR user_script:1: Cannot serialise table: table key must be a number or string"),
        ("return cjson.decode('{bad')", "ERR user_script:1: Expected object key string but found invalid token at character 2"),
        ("return cjson.decode('[1,2')", "ERR user_script:1: Expected comma or array end but found T_END at character 5"),
        ("return cjson.decode('[1] x')", "ERR user_script:1: Expected the end but found invalid token at character 5"),
        ("return cjson.decode()", "ERR user_script:1: bad argument #1 to 'decode' (expected 1 argument)"),
        ("cjson.encode = nil", "ERR user_script:1: Attempt to modify a readonly table"),
    ]


@pytest.mark.parametrize(
    "body,expected",
    [
        ("return cmsgpack.pack(1, 'a', true, nil, {1,2}, {a=1})", b"$12\r\n\x01\xa1a\xc3\xc0\x92\x01\x02\x81\xa1a\x01\r\n"),
        ("return cmsgpack.pack(string.rep('x', 40))", b"$42\r\n\xd9(" + b"x" * 40 + b"\r\n"),
        ("return cmsgpack.pack(1.5, 0.1, -1, -33, 300, 70000, 2^40, -2^40)",
         b"$43\r\n\xca?\xc0\x00\x00\xcb?\xb9\x99\x99\x99\x99\x99\x9a\xff\xd0\xdf\xcd\x01,\xce\x00\x01\x11p"
         b"\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xd3\xff\xff\xff\x00\x00\x00\x00\x00\r\n"),
        ("return cmsgpack.pack({1,nil,3})", b"$5\r\n\x82\x01\x01\x03\x03\r\n"),
        ("return cmsgpack.pack(string.rep('y', 300))", b"$303\r\n\xda\x01," + b"y" * 300 + b"\r\n"),
        ("return {cmsgpack.unpack(cmsgpack.pack(1,'x',{1,2,{k='v'}}))}",
         b"*3\r\n:1\r\n$1\r\nx\r\n*3\r\n:1\r\n:2\r\n*0\r\n"),
        ("return cmsgpack.unpack('')", b"$-1\r\n"),
        ("return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3))}", b"*2\r\n:1\r\n:1\r\n"),
        ("return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 2)}", b"*2\r\n:-1\r\n:3\r\n"),
        ("return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}", b"*3\r\n:2\r\n:1\r\n:2\r\n"),
        ("return cmsgpack.unpack(cmsgpack.pack({a={b={c='deep'}}})).a.b.c", b"$4\r\ndeep\r\n"),
    ],
)
def test_cmsgpack(server, body, expected):
    assert eval_raw(server, body) == expected


def test_cmsgpack_errors(server):
    body = "return cmsgpack.pack()"
    assert eval_raw(server, body) == (
        "-ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)" + suffix(body) + "\r\n"
    ).encode()
    body = "return cmsgpack.unpack(string.char(0x92, 1))"
    out = eval_raw(server, body)
    assert out.startswith(b"-ERR user_script:1: Missing bytes in input."), out


def test_self_referencing_tables_end_in_errors_not_crashes(c):
    body = "local a = {} a[1] = a return cjson.encode(a)"
    with pytest.raises(Exception) as e:
        c.call("EVAL", body, "0")
    assert "Cannot serialise, excessive nesting (1001)" in str(e.value)
    # Returned as a reply: nested arrays down to an error where the stack ends.
    conn = RawConn(c.port)
    conn.send(encode_command("EVAL", "local a = {} a[1] = a return a", "0"))
    reply = b""
    conn.sock.settimeout(10)
    while not reply.endswith(b"-ERR reached lua stack limit\r\n"):
        chunk = conn.sock.recv(65536)
        assert chunk, reply[-200:]
        reply += chunk
    conn.sock.close()
    assert reply.startswith(b"*1\r\n*1\r\n*1\r\n") and reply.endswith(b"-ERR reached lua stack limit\r\n")
    assert c.call("EVAL", "local a = {} a[1] = a return #cmsgpack.pack(a)", "0") == 17
    assert c.call("PING") == "PONG"


STRUCT_VALUES = [
        ("return struct.pack('>I2', 258)", b"$2\r\n\x01\x02\r\n"),
        ("return struct.pack('<i', -2)", b"$4\r\n\xfe\xff\xff\xff\r\n"),
        ("return struct.pack('bBhHlLT', -1, 255, -2, 65535, -3, 4, 5)",
         b"$30\r\n\xff\xff\xfe\xff\xff\xff\xfd\xff\xff\xff\xff\xff\xff\xff\x04\x00\x00\x00\x00\x00\x00\x00"
         b"\x05\x00\x00\x00\x00\x00\x00\x00\r\n"),
        ("return struct.pack('s', 'ab')", b"$3\r\nab\x00\r\n"),
        ("return struct.pack('c0', 'xyz')", b"$3\r\nxyz\r\n"),
        ("return struct.pack('>d', 1.5)", b"$8\r\n?\xf8\x00\x00\x00\x00\x00\x00\r\n"),
        ("return struct.pack('f', 0.5)", b"$4\r\n\x00\x00\x00?\r\n"),
        ("return {struct.unpack('>I2', string.char(1,2))}", b"*2\r\n:258\r\n:3\r\n"),
        ("return {struct.unpack('<i', struct.pack('<i', -2))}", b"*2\r\n:-2\r\n:5\r\n"),
        ("return {struct.unpack('s', 'ab\\0cd')}", b"*2\r\n$2\r\nab\r\n:4\r\n"),
        ("return {struct.unpack('Bc0', string.char(3)..'abcdef')}", b"*2\r\n$3\r\nabc\r\n:5\r\n"),
        ("return {struct.unpack('>I2', string.char(0,1,2,3), 3)}", b"*2\r\n:515\r\n:5\r\n"),
        ("return struct.size('>I2 i d')", b":14\r\n"),
        ("return struct.pack('!4 b i', 1, 2)", b"$8\r\n\x01\x00\x00\x00\x02\x00\x00\x00\r\n"),
        ("return struct.pack('x b', 7)", b"$2\r\n\x00\x07\r\n"),
    ]


STRUCT_ERRORS = [
        ("return struct.pack('c5', 'ab')", "ERR user_script:1: bad argument #3 to 'pack' (string too short)"),
        ("return struct.size('s')", "ERR user_script:1: bad argument #1 to 'size' (option 's' has no fixed size)"),
        ("return struct.pack('q', 1)", "ERR user_script:1: bad argument #1 to 'pack' (invalid format option 'q')"),
        ("return struct.unpack('I4', 'ab')", "ERR user_script:1: bad argument #2 to 'unpack' (data string too short)"),
    ]


@pytest.mark.parametrize("body,expected", BIT_VALUES + CJSON_VALUES + STRUCT_VALUES)
def test_library_values(server, body, expected):
    """bit, cjson and struct (cmsgpack above) as Redis's libraries compute them."""
    assert eval_raw(server, body) == expected


@pytest.mark.parametrize("body,text", BIT_ERRORS + CJSON_ERRORS + STRUCT_ERRORS)
def test_library_errors(server, body, text):
    assert eval_raw(server, body) == ("-" + text + suffix(body) + "\r\n").encode()


def test_command_and_error_stats_count_each_error_once(c):
    """EVAL's failed calls count every error it replies; errorstats count each
    error once: where a command failed or was refused, else where EVAL replied."""
    assert c.call("CONFIG", "RESETSTAT") == "OK"
    c.call("SET", "s", "abc")
    for body in [
        "return redis.call('incr','s')",
        "return redis.pcall('incr','s')",
        "error('x')",
        "return redis.call('nosuch')",
        "return {err='MY e'}",
        "return 1",
        "return redis.call('multi')",
        "return redis.call('get')",
    ]:
        try:
            c.call("EVAL", body, "0")
        except Exception:
            pass
    try:
        c.call("EVALSHA", "a" * 40, "0")
    except Exception:
        pass
    stats = {}
    for line in c.call("INFO", "commandstats").decode().splitlines() + c.call("INFO", "errorstats").decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            stats[k] = {kv.split("=")[0]: kv.split("=")[1] for kv in v.split(",")}
    assert stats["cmdstat_eval"]["calls"] == "8" and stats["cmdstat_eval"]["failed_calls"] == "7"
    assert stats["cmdstat_evalsha"]["failed_calls"] == "1"
    assert stats["cmdstat_incr"]["failed_calls"] == "2"
    assert stats["cmdstat_multi"]["rejected_calls"] == "1"
    assert stats["cmdstat_get"]["rejected_calls"] == "1"
    assert stats["errorstat_ERR"]["count"] == "6"
    assert stats["errorstat_MY"]["count"] == "1"
    assert stats["errorstat_NOSCRIPT"]["count"] == "1"


def test_slowlog_and_monitor_see_a_scripts_commands(server):
    c = server.client()
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    c.call("SLOWLOG", "RESET")
    body = "redis.call('set','a','1') return redis.call('get','a')"
    mon = server.client()
    assert mon.call("MONITOR") == "OK"
    c.call("EVAL", body, "0")
    lines = [mon.read_reply() for _ in range(3)]
    assert '"EVAL"' in lines[0] and '[0 lua] "set" "a" "1"' in lines[1] and '[0 lua] "get" "a"' in lines[2], lines
    entries = c.call("SLOWLOG", "GET", "10")
    by_args = {tuple(e[3]): e for e in entries}
    # The script's commands come first (they end first), with the peer `?:0`.
    assert by_args[(b"set", b"a", b"1")][4] == b"?:0"
    assert by_args[(b"get", b"a")][4] == b"?:0"
    eval_entry = by_args[(b"EVAL", body.encode(), b"0")]
    assert eval_entry[4] != b"?:0"
    assert eval_entry[0] > by_args[(b"get", b"a")][0] > by_args[(b"set", b"a", b"1")][0]


def test_flagged_scripts_are_refused_before_they_run(server_factory):
    master, replica, m, r = pair(server_factory)
    writes = "#!lua\nreturn redis.call('set','x','1')"
    reads = "#!lua flags=no-writes\nreturn redis.call('get','x')"
    assert raw(replica, "EVAL", writes, "0") == b"-READONLY You can't write against a read only replica.\r\n"
    assert raw(replica, "EVAL", reads, "0") == b"$-1\r\n"
    # Without a shebang the script runs and its write fails.
    compat = "return redis.call('set','x','1')"
    assert raw(replica, "EVAL", compat, "0") == (
        "-READONLY You can't write against a read only replica." + suffix(compat) + "\r\n"
    ).encode()
    # min-replicas-to-write on a master that has too few.
    m.call("CONFIG", "SET", "min-replicas-to-write", "5")
    assert raw(master, "EVAL", writes, "0") == b"-NOREPLICAS Not enough good replicas to write.\r\n"
    assert raw(master, "EVAL", reads, "0") == b"$-1\r\n"
    m.call("CONFIG", "SET", "min-replicas-to-write", "0")


def test_stale_replicas_refuse_scripts(server_factory, server):
    # A replica of a master that is not there, not serving stale data.
    dead = server.port
    server.kill()
    from helpers import start
    r = start(server_factory, "--replicaof", "127.0.0.1", str(dead), "--replica-serve-stale-data", "no")
    assert raw(r, "EVAL", "return 1", "0") == (
        b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
    )
    # A shebang script is not `stale` unless it says `allow-stale`: the
    # command check refuses it with its usual text.
    assert raw(r, "EVAL", "#!lua flags=no-writes\nreturn 1", "0") == (
        b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
    )
    assert raw(r, "EVAL", "#!lua flags=no-writes,allow-stale\nreturn 1", "0") == b":1\r\n"


def test_acl_check_cmd(c):
    # The default user may run everything.
    assert c.call("EVAL", "return redis.acl_check_cmd('set', 'k', 'v')", "0") == 1
    assert c.call("EVAL", "return redis.acl_check_cmd('config', 'get', 'x')", "0") == 1
    with pytest.raises(Exception) as e:
        c.call("EVAL", "return redis.acl_check_cmd('nosuch')", "0")
    assert str(e.value).startswith("ERR Invalid command passed to redis.acl_check_cmd() script: ")
    with pytest.raises(Exception) as e:
        c.call("EVAL", "return redis.acl_check_cmd()", "0")
    assert str(e.value).startswith("ERR Please specify at least one argument for this redis lib call script: ")
    with pytest.raises(Exception) as e:
        c.call("EVAL", "return redis.acl_check_cmd('config', 'nosuch')", "0")
    assert str(e.value).startswith("ERR Invalid command passed to redis.acl_check_cmd() script: ")


def test_deeply_nested_return_values(server):
    # Redis writes a returned value down to the level where its Lua stack
    # runs out (a value at level 7995 becomes an error, inside the arrays;
    # redust's runs out a few levels sooner, see the closing note). Well
    # above that, the value comes back whole.
    for depth, whole in [(7000, True), (9000, False)]:
        body = "local t = {} local c = t for i = 1, %d do local n = {} c[1] = n c = n end c[1] = 'x' return t" % depth
        conn = RawConn(server.port)
        try:
            conn.send(encode_command("EVAL", body, "0"))
            conn.sock.settimeout(5)
            out = b""
            while not (out.endswith(b"$1\r\nx\r\n") or out.endswith(b"-ERR reached lua stack limit\r\n")):
                chunk = conn.sock.recv(65536)
                assert chunk, out[-100:]
                out += chunk
        finally:
            conn.sock.close()
        if whole:
            assert out == b"*1\r\n" * (depth + 1) + b"$1\r\nx\r\n"
        else:
            assert out.endswith(b"*1\r\n-ERR reached lua stack limit\r\n")
            assert out.count(b"*1\r\n") > 7900


def test_many_cached_scripts_and_big_values(c):
    # A node caches as many scripts as it is given (far past Lua 5.1's
    # ~8000 stack slots), and big tables convert whole.
    n = 10000
    pipe = b"".join(encode_command("SCRIPT", "LOAD", "return %d" % i) for i in range(n))
    c.send_raw(pipe)
    for _ in range(n):
        c.read_reply()
    assert c.call("EVALSHA", sha("return 0"), "0") == 0
    assert c.call("EVALSHA", sha("return %d" % (n - 1)), "0") == n - 1
    assert c.call("EVAL", "return 'still fine'", "0") == b"still fine"
    big = "local t = {} for i = 1, 20000 do t[i] = 'x' .. i end "
    values = c.call("EVAL", big + "return t", "0")
    assert len(values) == 20000 and values[-1] == b"x20000"
    assert len(c.call("EVAL", big + "return cjson.encode(t)", "0")) == 168895
    assert c.call("EVAL", big + "return #cmsgpack.pack(t)", "0") == 128897
    m = c.call("EVAL", "local t = {} for i = 1, 20000 do t['k' .. i] = i end return cjson.encode(t)", "0")
    assert len(m) == 277789


def test_refusals_by_script_flags_count_as_rejected_calls(c):
    # A shebang's or a function's flags are the command's in Redis's
    # processCommand: refused there, EVAL and FCALL are rejected, not called.
    c.call("FUNCTION", "LOAD", "#!lua name=rej\nredis.register_function('w', function() return 1 end)")
    c.call("CONFIG", "RESETSTAT")
    c.call("CONFIG", "SET", "maxmemory", "1")
    try:
        for cmd in (["EVAL", "#!lua\nreturn 1", "0"], ["FCALL", "w", "0"]):
            with pytest.raises(Exception) as e:
                c.call(*cmd)
            assert str(e.value).startswith("OOM ")
        # Without a shebang, the script runs.
        assert c.call("EVAL", "return 1", "0") == 1
    finally:
        c.call("CONFIG", "SET", "maxmemory", "0")
    stats = c.call("INFO", "commandstats").decode()
    assert "cmdstat_eval:calls=1," in stats and "rejected_calls=1,failed_calls=0" in stats.split("cmdstat_eval:")[1].split("\n")[0]
    fcall = stats.split("cmdstat_fcall:")[1].split("\n")[0]
    assert fcall.startswith("calls=0,") and "rejected_calls=1,failed_calls=0" in fcall


@pytest.mark.parametrize("fn", ["call", "pcall"])
def test_a_command_with_thousands_of_arguments(c, fn):
    # redis.call('del', unpack(keys)): as many arguments as Lua's stack takes.
    c.call("MSET", "k1", "a", "k7990", "b")
    body = "local t = {'del'} for i = 1, 7990 do t[#t + 1] = 'k' .. i end return redis.%s(unpack(t))" % fn
    assert c.call("EVAL", body, "0") == 2
    bad = "local t = {'del'} for i = 1, 500 do t[#t + 1] = {} end return redis.%s(unpack(t))" % fn
    if fn == "call":
        with pytest.raises(Exception) as e:
            c.call("EVAL", bad, "0")
        assert str(e.value).startswith("ERR Lua redis lib command arguments must be strings or integers script: ")
    else:
        with pytest.raises(Exception) as e:
            c.call("EVAL", bad, "0")
        assert str(e.value) == "ERR Lua redis lib command arguments must be strings or integers"
