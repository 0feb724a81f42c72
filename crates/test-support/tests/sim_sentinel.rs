//! Sentinel under the deterministic simulation (`sim::sentinel`): real
//! Sentinels (state machine, link bookkeeping, the command handlers'
//! answers to other Sentinels, the config file they restart from) against
//! toy Redis nodes, three of each unless said otherwise, through the
//! faults issue 14 names: the master crashed (and back, and on a lossy
//! network), paused past down-after, cut off; a Sentinel cut off (with
//! and without the master failing meanwhile); the elected leader crashed
//! right after its election; any Sentinel crashed during a failover; five
//! Sentinels with three crashed (quorum 3, and quorum 2 to show that the
//! majority is what stops them); a random mix of crashes, pauses and cuts
//! on every node.
//!
//! After every step of every run (each event the simulation delivers): at
//! most one leader per epoch, elected with max(quorum, majority of the
//! Sentinels it knows) votes actually cast; one vote per Sentinel and
//! epoch; no replica selected or promoted but by that epoch's leader (or a
//! SENTINEL FAILOVER); one promotion per epoch; no Sentinel's current
//! epoch going back, restarts included. When the faults of a run end:
//! every Sentinel sees the same master and every Redis node follows it,
//! for 5 s in a row. A failure prints the seed, the replay command, the
//! faults and the event log.
//!
//! Each scenario runs `DEFAULT_SEEDS` seeds in CI (the whole file: about
//! 30 s in release mode on this two-core machine); `REDUST_SIM_SEEDS=<n>`
//! runs n, `REDUST_SIM_SEED=<n>` replays one. Run locally, once: 1000
//! seeds of every scenario (150 s) and 3000 of the random mix, all passing
//! but for the known issues below (ignored tests, run them with
//! `--ignored`).

use redust_test_support::sim::sentinel::{
    crash_before_saving_an_epoch, five_sentinels_three_down, leader_crash, master_crash,
    master_partition, master_pause, random_mix, sentinel_crash_mid_failover, sentinel_partition,
    stale_leader, MixCounts, Outcome,
};
use redust_test_support::sim::Faults;

/// Seeds per scenario in CI.
const DEFAULT_SEEDS: u64 = 200;

fn seeds() -> Vec<u64> {
    redust_test_support::sim::seeds(DEFAULT_SEEDS)
}

/// Runs `scenario` over the seeds; fails with the first failing seed's
/// report.
fn run<T>(scenario: impl Fn(u64) -> Result<T, String>) -> Vec<T> {
    run_but(&[], scenario)
}

/// `run`, skipping the `known` failing seeds (unless one is replayed with
/// `REDUST_SIM_SEED`).
fn run_but<T>(known: &[u64], scenario: impl Fn(u64) -> Result<T, String>) -> Vec<T> {
    let replay = std::env::var("REDUST_SIM_SEED").is_ok();
    let mut done = Vec::new();
    let mut failures = Vec::new();
    for seed in seeds() {
        if !replay && known.contains(&seed) {
            continue;
        }
        match scenario(seed) {
            Ok(t) => done.push(t),
            Err(e) => failures.push((seed, e)),
        }
    }
    if let Some((_, first)) = failures.first() {
        let failed: Vec<u64> = failures.iter().map(|(s, _)| *s).collect();
        panic!(
            "{} seed(s) failed: {failed:?}; the first:\n{first}",
            failed.len()
        );
    }
    done
}

#[test]
fn a_crashed_master_is_replaced_once() {
    run(|seed| {
        master_crash(
            "a_crashed_master_is_replaced_once",
            seed,
            None,
            Faults::none(),
        )
    });
}

#[test]
fn the_old_master_comes_back_as_a_replica() {
    run(|seed| {
        master_crash(
            "the_old_master_comes_back_as_a_replica",
            seed,
            Some(30_000),
            Faults::none(),
        )
    });
}

#[test]
fn on_a_lossy_network_too() {
    // Latency spread, resets and failed connects.
    let lossy = Faults {
        latency_ms: (1, 40),
        reset: 0.002,
        connect_fail: 0.02,
        drop: 0.0,
        duplicate: 0.0,
    };
    run(|seed| master_crash("on_a_lossy_network_too", seed, None, lossy.clone()));
}

#[test]
fn a_paused_master_is_failed_over_or_comes_back() {
    let outs = run(|seed| master_pause("a_paused_master_is_failed_over_or_comes_back", seed));
    both_ways(&outs);
}

#[test]
fn a_master_cut_off_is_failed_over_or_comes_back() {
    let outs = run(|seed| master_partition("a_master_cut_off_is_failed_over_or_comes_back", seed));
    both_ways(&outs);
}

/// Over many seeds, some faults were long enough for a failover and some
/// were not (a run that never fails over proves little).
fn both_ways(outs: &[Outcome]) {
    if outs.len() >= 20 {
        let failed_over = outs.iter().filter(|o| !o.promotions.is_empty()).count();
        assert!(
            failed_over > 0 && failed_over < outs.len(),
            "{failed_over} of {} runs failed over",
            outs.len()
        );
    }
}

#[test]
fn a_sentinel_cut_off_fails_nothing_over() {
    run(|seed| sentinel_partition("a_sentinel_cut_off_fails_nothing_over", seed, false));
}

#[test]
fn the_others_fail_over_without_a_sentinel_cut_off() {
    run(|seed| {
        sentinel_partition(
            "the_others_fail_over_without_a_sentinel_cut_off",
            seed,
            true,
        )
    });
}

#[test]
fn a_leader_crashed_after_its_election_is_replaced_in_a_later_epoch() {
    run(|seed| {
        leader_crash(
            "a_leader_crashed_after_its_election_is_replaced_in_a_later_epoch",
            seed,
        )
    });
}

#[test]
fn a_sentinel_crashed_mid_failover_restarts_from_its_file() {
    let outs = run(|seed| {
        sentinel_crash_mid_failover(
            "a_sentinel_crashed_mid_failover_restarts_from_its_file",
            seed,
        )
    });
    eprintln!(
        "{} failovers in {} runs",
        outs.iter().map(|o| o.promotions.len()).sum::<usize>(),
        outs.len()
    );
}

/// An epoch a Sentinel learns from a hello is saved at once (Redis saves it
/// in `sentinelProcessHelloMessage`); a Sentinel killed right after comes
/// back with it (the crash is placed in that window). This found the
/// shells saving it only at the end of their tick.
#[test]
fn a_sentinel_crashed_right_after_learning_an_epoch_keeps_it() {
    run(|seed| {
        crash_before_saving_an_epoch(
            "a_sentinel_crashed_right_after_learning_an_epoch_keeps_it",
            seed,
        )
    });
}

#[test]
fn two_sentinels_of_five_never_fail_over() {
    run(|seed| five_sentinels_three_down("two_sentinels_of_five_never_fail_over", seed, 3));
}

#[test]
fn two_sentinels_of_five_reach_the_quorum_but_not_a_majority() {
    run(|seed| {
        five_sentinels_three_down(
            "two_sentinels_of_five_reach_the_quorum_but_not_a_majority",
            seed,
            2,
        )
    });
}

#[test]
fn random_faults_everywhere() {
    let outs = run_but(&[], |seed| random_mix("random_faults_everywhere", seed));
    let mut total = MixCounts::default();
    for (_, c) in &outs {
        total.crashes += c.crashes;
        total.pauses += c.pauses;
        total.partitions += c.partitions;
    }
    eprintln!("random faults: {total:?}");
    if outs.len() >= 20 {
        assert!(total.crashes > 0 && total.pauses > 0 && total.partitions > 0);
        assert!(outs.iter().any(|(o, _)| !o.promotions.is_empty()));
    }
}

/// The leader of a failover that has not ended adopts a newer
/// configuration epoch from a hello naming the address its failover
/// started from: it drops its failover instead of switching to its own
/// promoted replica under that newer epoch (Redis 7.0 switches, and one
/// epoch then names two masters; found by random-mix seeds 383 and 1535).
/// `stale_leader` builds the situation.
#[test]
fn a_stale_leader_drops_its_failover_for_a_newer_epoch() {
    run(|seed| stale_leader("a_stale_leader_drops_its_failover_for_a_newer_epoch", seed));
}
