//! End-to-end tests of the standalone server with the `redis` crate and
//! redis-cli against a real `redust-server` process.

use redust_test_support::{wait_until, TestServer};
use std::time::Duration;

fn start(extra: &[&str]) -> TestServer {
    TestServer::start(env!("CARGO_BIN_EXE_redust-server"), extra)
}

#[test]
fn strings_and_keys_round_trip_through_the_redis_crate() {
    let server = start(&[]);
    let mut c = server.must_connect();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    let n: i64 = redis::cmd("INCRBY").arg("n").arg(41).query(&mut c).unwrap();
    assert_eq!(n, 41);
    let n: i64 = redis::cmd("INCR").arg("n").query(&mut c).unwrap();
    assert_eq!(n, 42);
    let err = redis::cmd("INCR")
        .arg("k")
        .query::<i64>(&mut c)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("value is not an integer or out of range"),
        "{err}"
    );
    let t: String = redis::cmd("TYPE").arg("n").query(&mut c).unwrap();
    assert_eq!(t, "string");
    let deleted: i64 = redis::cmd("DEL")
        .arg("k")
        .arg("n")
        .arg("missing")
        .query(&mut c)
        .unwrap();
    assert_eq!(deleted, 2);
}

#[test]
fn pipeline_of_a_thousand_commands_answers_in_order() {
    let server = start(&[]);
    let mut c = server.must_connect();
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    for i in 0..1000 {
        pipe.cmd("GET").arg(format!("key:{i}"));
    }
    let values: Vec<i64> = pipe.query(&mut c).unwrap();
    assert_eq!(values, (0..1000).collect::<Vec<i64>>());
    assert_eq!(server.cli(&["dbsize"]).trim(), "1000");
}

#[test]
fn watch_races_between_clients_never_lose_an_increment() {
    let server = start(&[]);
    let url = server.url();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut committed = 0;
                for _ in 0..100 {
                    let _: () = redis::cmd("WATCH").arg("counter").query(&mut c).unwrap();
                    let v: Option<i64> = redis::cmd("GET").arg("counter").query(&mut c).unwrap();
                    let r: Option<Vec<String>> = redis::pipe()
                        .atomic()
                        .cmd("SET")
                        .arg("counter")
                        .arg(v.unwrap_or(0) + 1)
                        .query(&mut c)
                        .unwrap();
                    if r.is_some() {
                        committed += 1;
                    }
                }
                committed
            })
        })
        .collect();
    let committed: i64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let mut c = server.must_connect();
    let final_value: i64 = redis::cmd("GET").arg("counter").query(&mut c).unwrap();
    assert_eq!(final_value, committed);
    assert!(committed > 0);
}

#[test]
fn pattern_subscribers_receive_published_messages() {
    let server = start(&[]);
    let mut sub_conn = server.must_connect();
    let mut pubsub = sub_conn.as_pubsub();
    pubsub.psubscribe("news.*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut c = server.must_connect();
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("news.tech")
        .arg("hello")
        .query(&mut c)
        .unwrap();
    assert_eq!(receivers, 1);
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "news.tech");
    assert_eq!(msg.get_pattern::<String>().unwrap(), "news.*");
    assert_eq!(msg.get_payload::<String>().unwrap(), "hello");
}

#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let server = start(&[]);
    let mut c = server.must_connect();
    for i in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("tmp:{i}"))
            .arg("x")
            .arg("PX")
            .arg(100)
            .query(&mut c)
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("keep")
        .arg("x")
        .query(&mut c)
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        "expired keys removed without access",
        || redis::cmd("DBSIZE").query::<i64>(&mut c).unwrap() == 1,
    );
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert!(info.contains("expired_keys:200"), "{info}");
}

#[test]
fn garbage_on_many_connections_leaves_the_server_serving_with_data_intact() {
    use rand::{Rng, SeedableRng};
    use std::io::{Read, Write};
    let server = start(&[]);
    let mut c = server.must_connect();
    let _: () = redis::cmd("SET")
        .arg("precious")
        .arg("data")
        .query(&mut c)
        .unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261122);
    let prefixes: [&[u8]; 6] = [
        b"*",
        b"$",
        b"*3\r\n$3\r\nSET\r\n",
        b"*1\r\n$",
        b"\"",
        b"*2\r\n$4\r\nPING\r\n$-",
    ];
    for round in 0..200 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut bytes: Vec<u8> = prefixes[round % prefixes.len()].to_vec();
        let n = rng.gen_range(0..2048);
        bytes.extend((0..n).map(|_| rng.gen::<u8>()));
        bytes.truncate(rng.gen_range(0..=bytes.len()));
        let _ = s.write_all(&bytes);
        let mut sink = [0u8; 4096];
        let _ = s.read(&mut sink);
    }
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let v: String = redis::cmd("GET").arg("precious").query(&mut c).unwrap();
    assert_eq!(v, "data");
}

#[test]
fn redis_cli_sees_protocol_errors_as_redis_words_them() {
    use std::io::{Read, Write};
    let server = start(&[]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert_eq!(buf, b"-ERR Protocol error: expected '$', got 'f'\r\n");
    assert_eq!(server.cli(&["ping"]).trim(), "PONG");
}
