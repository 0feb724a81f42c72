//! The VM against a host that answers commands from a table: conversions,
//! errors and their suffix, the sandbox, the cache.

use bytes::Bytes;
use redust_resp::{Frame, Reply};
use redust_scripting::{sha1_hex, Host, Vm};

/// Answers PING, GET, INCR-on-a-string, and records what it was asked.
#[derive(Default)]
struct FakeHost {
    calls: Vec<Vec<Bytes>>,
    logs: Vec<(u8, String)>,
    ticks: usize,
    /// Stop the script at this tick (a SCRIPT KILL).
    kill_at: Option<usize>,
}

impl Host for FakeHost {
    fn call(&mut self, args: Vec<Bytes>, resp3: bool) -> Frame {
        self.calls.push(args.clone());
        match &args[0].to_ascii_lowercase()[..] {
            b"ping" => Frame::Simple(Bytes::from_static(b"PONG")),
            b"get" if &args[1][..] == b"missing" => {
                if resp3 {
                    Frame::Null
                } else {
                    Frame::NullBulk
                }
            }
            b"get" => Frame::Bulk(Bytes::from_static(b"v")),
            b"incr" => Frame::Error(Bytes::from_static(
                b"ERR value is not an integer or out of range",
            )),
            b"hgetall" => Frame::Map(vec![(
                Frame::Bulk(Bytes::from_static(b"f")),
                Frame::Bulk(Bytes::from_static(b"1")),
            )]),
            b"lrange" => Frame::Array(vec![
                Frame::Integer(1),
                Frame::Bulk(Bytes::from_static(b"x")),
            ]),
            _ => Frame::Error(Bytes::from_static(
                b"ERR Unknown Redis command called from script",
            )),
        }
    }

    fn log(&mut self, level: u8, message: &str) {
        self.logs.push((level, message.to_string()));
    }

    fn set_repl(&mut self, _flags: u8) {}

    fn acl_check(&mut self, args: &[Bytes]) -> Option<bool> {
        (&args[0][..] != b"nosuch").then_some(true)
    }

    fn tick(&mut self) -> Option<String> {
        self.ticks += 1;
        match self.kill_at {
            Some(n) if self.ticks >= n => {
                Some("ERR Script killed by user with SCRIPT KILL...".to_string())
            }
            _ => None,
        }
    }
}

fn eval(vm: &mut Vm, body: &str, keys: &[&str], argv: &[&str], resp3: bool) -> String {
    let mut host = FakeHost::default();
    eval_with(vm, &mut host, body, keys, argv, resp3)
}

fn eval_with(
    vm: &mut Vm,
    host: &mut FakeHost,
    body: &str,
    keys: &[&str],
    argv: &[&str],
    resp3: bool,
) -> String {
    let mut reply = Reply::new(resp3);
    match vm.load(body.as_bytes()) {
        Ok(sha) => {
            let keys: Vec<Bytes> = keys.iter().map(|k| Bytes::from(k.to_string())).collect();
            let argv: Vec<Bytes> = argv.iter().map(|k| Bytes::from(k.to_string())).collect();
            if let Err(e) = vm.run(&sha, &keys, &argv, host, &mut reply) {
                reply.error(&e.text);
            }
        }
        Err(e) => reply.error(&e),
    }
    String::from_utf8_lossy(&reply.buf).into_owned()
}

fn vm() -> Vm {
    Vm::new("7.0.15", 0x00070f).unwrap()
}

#[test]
fn values_convert_as_redis_converts_them() {
    let mut vm = vm();
    assert_eq!(eval(&mut vm, "return 1", &[], &[], false), ":1\r\n");
    assert_eq!(eval(&mut vm, "return 3.99", &[], &[], false), ":3\r\n");
    assert_eq!(eval(&mut vm, "return -3.99", &[], &[], false), ":-3\r\n");
    assert_eq!(
        eval(&mut vm, "return 1e20", &[], &[], false),
        ":-9223372036854775808\r\n"
    );
    assert_eq!(eval(&mut vm, "return 'x'", &[], &[], false), "$1\r\nx\r\n");
    assert_eq!(eval(&mut vm, "return true", &[], &[], false), ":1\r\n");
    assert_eq!(eval(&mut vm, "return false", &[], &[], false), "$-1\r\n");
    assert_eq!(eval(&mut vm, "return nil", &[], &[], false), "$-1\r\n");
    assert_eq!(
        eval(&mut vm, "return {1,2,{3,'x'},nil,5}", &[], &[], false),
        "*3\r\n:1\r\n:2\r\n*2\r\n:3\r\n$1\r\nx\r\n"
    );
    assert_eq!(eval(&mut vm, "return {a=1}", &[], &[], false), "*0\r\n");
    assert_eq!(
        eval(&mut vm, "return {ok='fine'}", &[], &[], false),
        "+fine\r\n"
    );
    assert_eq!(
        eval(&mut vm, "return {err='MY err'}", &[], &[], false),
        "-MY err\r\n"
    );
    assert_eq!(
        eval(&mut vm, "return {double=1.5}", &[], &[], true),
        ",1.5\r\n"
    );
    assert_eq!(
        eval(&mut vm, "return {double=0.1}", &[], &[], false),
        "$19\r\n0.10000000000000001\r\n"
    );
    assert_eq!(
        eval(&mut vm, "return KEYS[1]..ARGV[1]", &["k"], &["a"], false),
        "$2\r\nka\r\n"
    );
    // RESP3 booleans only when the script chose RESP3.
    assert_eq!(
        eval(&mut vm, "redis.setresp(3) return true", &[], &[], true),
        "#t\r\n"
    );
    assert_eq!(
        eval(&mut vm, "redis.setresp(3) return false", &[], &[], false),
        ":0\r\n"
    );
}

#[test]
fn replies_convert_into_lua() {
    let mut vm = vm();
    assert_eq!(
        eval(&mut vm, "return redis.call('ping').ok", &[], &[], false),
        "$4\r\nPONG\r\n"
    );
    assert_eq!(
        eval(
            &mut vm,
            "return type(redis.call('get','missing'))",
            &[],
            &[],
            false
        ),
        "$7\r\nboolean\r\n"
    );
    assert_eq!(
        eval(
            &mut vm,
            "redis.setresp(3) return type(redis.call('get','missing'))",
            &[],
            &[],
            false
        ),
        "$3\r\nnil\r\n"
    );
    assert_eq!(
        eval(
            &mut vm,
            "return redis.call('lrange','l',0,-1)",
            &[],
            &[],
            false
        ),
        "*2\r\n:1\r\n$1\r\nx\r\n"
    );
    assert_eq!(
        eval(
            &mut vm,
            "redis.setresp(3) return redis.call('hgetall','h').map.f",
            &[],
            &[],
            false
        ),
        "$1\r\n1\r\n"
    );
    let mut host = FakeHost::default();
    eval_with(
        &mut vm,
        &mut host,
        "return redis.call('SET', 'k', 1.5, 10)",
        &[],
        &[],
        false,
    );
    assert_eq!(
        host.calls[0],
        vec![
            Bytes::from("SET"),
            Bytes::from("k"),
            Bytes::from("1.5"),
            Bytes::from("10")
        ]
    );
}

#[test]
fn errors_carry_redis_suffix() {
    let mut vm = vm();
    let sha = sha1_hex(b"return redis.call('incr','s')");
    assert_eq!(
        eval(&mut vm, "return redis.call('incr','s')", &[], &[], false),
        format!(
            "-ERR value is not an integer or out of range script: {sha}, on @user_script:1.\r\n"
        )
    );
    let body = "local x = 1\nerror('boom')";
    assert_eq!(
        eval(&mut vm, body, &[], &[], false),
        format!(
            "-ERR user_script:2: boom script: {}, on @user_script:2.\r\n",
            sha1_hex(body.as_bytes())
        )
    );
    let body = "error({err='MY boom'})";
    assert_eq!(
        eval(&mut vm, body, &[], &[], false),
        format!(
            "-MY boom script: {}, on @user_script:1.\r\n",
            sha1_hex(body.as_bytes())
        )
    );
    // pcall returns the error; returning it sends it as it is.
    assert_eq!(
        eval(&mut vm, "return redis.pcall('incr','s')", &[], &[], false),
        "-ERR value is not an integer or out of range\r\n"
    );
    // A script's pcall sees the message.
    assert_eq!(
        eval(
            &mut vm,
            "local ok, e = pcall(redis.call, 'incr', 's') return e",
            &[],
            &[],
            false
        ),
        "$43\r\nERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        eval(&mut vm, "return redis.call({})", &[], &[], false),
        format!("-ERR Lua redis lib command arguments must be strings or integers script: {}, on @user_script:1.\r\n", sha1_hex(b"return redis.call({})"))
    );
    assert_eq!(
        eval(&mut vm, "return redis.error_reply('hi')", &[], &[], false),
        "-ERR hi\r\n"
    );
    assert_eq!(
        eval(
            &mut vm,
            "return redis.status_reply('fine')",
            &[],
            &[],
            false
        ),
        "+fine\r\n"
    );
    assert!(eval(&mut vm, "return 1 +", &[], &[], false)
        .starts_with("-ERR Error compiling script (new function): user_script:1:"));
}

#[test]
fn the_sandbox_holds() {
    let mut vm = vm();
    let r = eval(&mut vm, "x = 5", &[], &[], false);
    assert!(
        r.starts_with("-ERR user_script:1: Attempt to modify a readonly table script:"),
        "{r}"
    );
    let r = eval(&mut vm, "return undefined_thing", &[], &[], false);
    assert!(r.starts_with("-ERR user_script:1: Script attempted to access nonexistent global variable 'undefined_thing'"), "{r}");
    let r = eval(&mut vm, "redis.call = nil", &[], &[], false);
    assert!(r.contains("Attempt to modify a readonly table"), "{r}");
    let r = eval(&mut vm, "string.foo = 1", &[], &[], false);
    assert!(r.contains("Attempt to modify a readonly table"), "{r}");
    for name in [
        "loadfile", "dofile", "print", "os", "io", "debug", "require",
    ] {
        let r = eval(&mut vm, &format!("return {name}"), &[], &[], false);
        assert!(r.contains("nonexistent global variable"), "{name}: {r}");
    }
    assert_eq!(
        eval(&mut vm, "local t = {} t.x = 1 return t.x", &[], &[], false),
        ":1\r\n"
    );
    assert_eq!(
        eval(&mut vm, "return ('abc'):upper()", &[], &[], false),
        "$3\r\nABC\r\n"
    );
    assert_eq!(
        eval(&mut vm, "return redis.sha1hex('')", &[], &[], false),
        "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"
    );
    assert_eq!(
        eval(&mut vm, "return tostring(math.random())", &[], &[], false),
        "$16\r\n0.39646477363839\r\n"
    );
    assert_eq!(
        eval(&mut vm, "return loadstring('return 5')()", &[], &[], false),
        ":5\r\n"
    );
}

#[test]
fn the_cache_and_flush() {
    let mut vm = vm();
    let sha = vm.load(b"return 1").unwrap();
    assert!(vm.exists(sha.to_uppercase().as_bytes()));
    assert_eq!(vm.len(), 1);
    vm.flush().unwrap();
    assert!(!vm.exists(sha.as_bytes()));
    // The rand48 sequence goes on across a flush.
    let mut host = FakeHost::default();
    let mut logs_vm = vm;
    eval_with(
        &mut logs_vm,
        &mut host,
        "redis.log(redis.LOG_WARNING, 'hello', 5)",
        &[],
        &[],
        false,
    );
    assert_eq!(host.logs, vec![(3, "hello 5".to_string())]);
}

#[test]
fn a_long_script_ticks_and_a_kill_stops_it_even_under_pcall() {
    let mut vm = vm();
    // A short script never ticks.
    let mut host = FakeHost::default();
    assert_eq!(
        eval_with(&mut vm, &mut host, "return 1", &[], &[], false),
        ":1\r\n"
    );
    assert_eq!(host.ticks, 0);
    // A loop ticks every TICK_INSTRUCTIONS instructions until killed.
    let mut host = FakeHost {
        kill_at: Some(3),
        ..Default::default()
    };
    let body = "local i = 0\nwhile true do\n i = i + 1\nend";
    let out = eval_with(&mut vm, &mut host, body, &[], &[], false);
    assert!(
        out.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "),
        "{out}"
    );
    assert!(out.contains(", on @user_script:"), "{out}");
    assert_eq!(host.ticks, 3);
    // A pcall that swallows the kill does not save the script.
    let mut host = FakeHost {
        kill_at: Some(2),
        ..Default::default()
    };
    let body = "while true do pcall(function() while true do end end) end";
    let out = eval_with(&mut vm, &mut host, body, &[], &[], false);
    assert!(out.starts_with("-ERR Script killed by user"), "{out}");
    // The VM runs the next script normally, ticking from zero.
    let mut host = FakeHost::default();
    let out = eval_with(
        &mut vm,
        &mut host,
        "local n = 0 for i = 1, 300000 do n = n + 1 end return n",
        &[],
        &[],
        false,
    );
    assert_eq!(out, ":300000\r\n");
    assert!(host.ticks >= 2, "{}", host.ticks);
}
