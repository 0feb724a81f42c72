//! Sentinel's state machines in the simulation: three Sentinels watch a
//! master and two replicas (toy Redis nodes); the master crashes. Over many
//! seeds: one leader per epoch, one promotion, exactly one master left,
//! and every Sentinel ends up pointing at it; when the old master returns,
//! it is converted into a replica. The client reconfiguration scripts
//! are asked for once per Sentinel: by the promoter as leader, by every
//! other Sentinel as observer, from the old master to the new one.
//! `REDUST_SIM_SEED=<n>` replays one seed; `REDUST_SIM_SEEDS=<n>` runs more.

use redust_sentinel::monitor::ReconfigRole;
use redust_test_support::sim::sentinel::{
    master_crash, master_crash_with, Outcome, REDIS_BASE_PORT,
};
use redust_test_support::sim::Faults;

fn seeds() -> Vec<u64> {
    if let Ok(s) = std::env::var("REDUST_SIM_SEED") {
        return vec![s.parse().expect("a seed")];
    }
    let n = std::env::var("REDUST_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    (1..=n).collect()
}

#[test]
fn a_crashed_master_is_replaced_once() {
    for seed in seeds() {
        check(seed, master_crash(seed, 30_000, None));
    }
}

#[test]
fn the_old_master_comes_back_as_a_replica() {
    for seed in seeds() {
        let out = master_crash(seed, 60_000, Some(30_000));
        assert!(
            out.log.iter().any(|(_, e)| e.name == "+convert-to-slave"),
            "seed {seed}: never converted"
        );
        check(seed, out);
    }
}

#[test]
fn on_a_lossy_network_too() {
    for seed in seeds() {
        check(seed, master_crash_with(seed, 60_000, None, lossy()));
    }
}

/// Latency spread, resets and failed connects.
fn lossy() -> Faults {
    Faults {
        latency_ms: (1, 40),
        reset: 0.002,
        connect_fail: 0.02,
        drop: 0.0,
        duplicate: 0.0,
    }
}

/// One leader per epoch, one promotion, one master left, and every
/// Sentinel pointing at it; one client reconfiguration per Sentinel.
fn check(seed: u64, out: Outcome) {
    check_reconfigs(seed, &out);
    let mut epochs: Vec<u64> = out.elections.iter().map(|(_, e)| *e).collect();
    epochs.sort();
    let before = epochs.len();
    epochs.dedup();
    assert_eq!(
        before,
        epochs.len(),
        "seed {seed}: two leaders in one epoch: {out:?}"
    );
    assert_eq!(out.promotions.len(), 1, "seed {seed}: promotions {out:?}");
    assert_eq!(out.masters.len(), 1, "seed {seed}: masters {out:?}");
    let master_port = REDIS_BASE_PORT + out.masters[0] as u16;
    assert!(
        out.views.iter().all(|p| *p == master_port),
        "seed {seed}: views {:?} but the master is {master_port}: {out:?}",
        out.views
    );
}

/// The promoter asks for the leader's client reconfiguration, every other
/// Sentinel for an observer's, once each, from the old master's port to
/// the new master's.
fn check_reconfigs(seed: u64, out: &Outcome) {
    let (Some(&(promoter, _)), Some(&master)) = (out.promotions.first(), out.masters.first())
    else {
        return;
    };
    let to = REDIS_BASE_PORT + master as u16;
    let sentinels: Vec<usize> = out.log.iter().map(|(n, _)| *n).collect();
    let mut sentinels = sentinels;
    sentinels.sort();
    sentinels.dedup();
    for s in sentinels {
        let role = if s == promoter {
            ReconfigRole::Leader
        } else {
            ReconfigRole::Observer
        };
        let mine: Vec<_> = out.reconfigs.iter().filter(|r| r.0 == s).collect();
        assert_eq!(
            mine,
            [&(s, role, REDIS_BASE_PORT, to)],
            "seed {seed}: sentinel {s}'s reconfigurations {:?}",
            out.reconfigs
        );
    }
}
