//! Several real nodes in one process (`redust_server::start_node`): each has
//! its own runtime, state, listeners and signals, so a master and its
//! replica can run side by side in one test, replicate over real sockets,
//! and stop independently.

use redust_server::start_node;
use redust_test_support::wait_until;
use std::time::Duration;

fn connect(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    client
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap()
}

/// No files: no save points, no AOF, diskless full syncs both ways.
const NO_FILES: &[&str] = &[
    "--port",
    "0",
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--repl-diskless-sync",
    "yes",
    "--repl-diskless-sync-delay",
    "0",
    "--repl-diskless-load",
    "swapdb",
];

#[test]
fn a_master_and_its_replica_run_in_one_process() {
    let master = start_node(NO_FILES).unwrap();
    let mut m = connect(master.port);
    let _: () = redis::cmd("SET")
        .arg("before")
        .arg("1")
        .query(&mut m)
        .unwrap();

    let master_port = master.port.to_string();
    let mut args = NO_FILES.to_vec();
    args.extend(["--replicaof", "127.0.0.1", &master_port]);
    let replica = start_node(&args).unwrap();
    assert_ne!(replica.port, master.port);
    let mut r = connect(replica.port);
    wait_until(Duration::from_secs(10), "the replica's link is up", || {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut r).unwrap();
        info.contains("master_link_status:up")
    });
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("2")
        .query(&mut m)
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        "the write reaches the replica",
        || {
            let v: Option<String> = redis::cmd("GET").arg("after").query(&mut r).unwrap();
            v.as_deref() == Some("2")
        },
    );
    let before: String = redis::cmd("GET").arg("before").query(&mut r).unwrap();
    assert_eq!(before, "1");
    // Each node is itself: the replica refuses writes, the master has one replica.
    let err = redis::cmd("SET")
        .arg("x")
        .arg("y")
        .query::<()>(&mut r)
        .unwrap_err();
    assert!(err.to_string().contains("read only replica"), "{err}");
    let info: String = redis::cmd("INFO").arg("replication").query(&mut m).unwrap();
    assert!(info.contains("connected_slaves:1"), "{info}");

    // Stopping the master leaves the replica serving, its link down.
    assert_eq!(master.stop(), 0);
    wait_until(
        Duration::from_secs(10),
        "the replica sees its master gone",
        || {
            let info: String = redis::cmd("INFO").arg("replication").query(&mut r).unwrap();
            info.contains("master_link_status:down")
        },
    );
    let v: String = redis::cmd("GET").arg("after").query(&mut r).unwrap();
    assert_eq!(v, "2");
    assert_eq!(replica.stop(), 0);
}
