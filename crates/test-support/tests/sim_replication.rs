//! Replication under the deterministic simulation: for each seed, a master
//! and replicas (one chained) take client writes while the network delays,
//! resets and partitions, nodes pause, crash and restart, and replicas are
//! promoted; then the faults end and every node must hold the master's
//! history and data. Invariants are checked at every step (one master per
//! history, offsets never going back within a history, a stream that
//! always parses).
//!
//! CI runs a fixed number of seeds; `REDUST_SIM_SEEDS=<n>` runs more,
//! `REDUST_SIM_SEED=<seed>` replays one (the failure message says which).

use redust_test_support::sim::replication::{run_scenario, Outcome, Scenario};

/// Seeds in CI.
const DEFAULT_SEEDS: u64 = 500;

fn seeds() -> Vec<u64> {
    redust_test_support::sim::seeds(DEFAULT_SEEDS)
}

fn run_all(scenario: &Scenario) -> Outcome {
    let mut total = Outcome::default();
    let mut failures = Vec::new();
    for seed in seeds() {
        match run_scenario(seed, scenario) {
            Ok(o) => {
                total.writes += o.writes;
                total.failovers += o.failovers;
                total.crashes += o.crashes;
                total.partitions += o.partitions;
                total.pauses += o.pauses;
                total.full_syncs += o.full_syncs;
                total.partial_syncs += o.partial_syncs;
                total.settled_at_ms = total.settled_at_ms.max(o.settled_at_ms);
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} seed(s) failed; the first:\n{}",
        failures.len(),
        failures[0]
    );
    total
}

#[test]
fn replication_converges_under_faults() {
    let total = run_all(&Scenario::default());
    eprintln!("{total:?}");
    // The faults really happened (a run that never resyncs proves little).
    if seeds().len() > 20 {
        assert!(total.failovers > 0 && total.crashes > 0 && total.partitions > 0);
        assert!(total.partial_syncs > 0 && total.full_syncs > 0);
    }
}

#[test]
fn replication_converges_without_promotions() {
    let scenario = Scenario {
        nodes: 3,
        failovers: false,
        ..Scenario::default()
    };
    run_all(&scenario);
}
