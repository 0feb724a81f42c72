//! Replica migration, as Redis 7.0 does it (clusterHandleSlaveMigration):
//! a master that serves slots, once had a replica, and has no working
//! replica left is orphaned; after it has been so for a while, one replica
//! of a master with the most working replicas (more than
//! `cluster-migration-barrier`) moves over to it. Which replica moves is
//! the one with the smallest id among those masters' replicas, so that
//! every node picks the same one without talking.

use crate::nodes::flag;
use crate::state::{Action, Cluster, LogLevel};

/// An orphaned master gets a replica only after it has been orphaned this
/// long (Redis's CLUSTER_SLAVE_MIGRATION_DELAY).
pub const MIGRATION_DELAY_MS: i64 = 5000;

impl Cluster {
    /// A master that gets its first slot while some master has a replica
    /// becomes a migration target even without a replica of its own
    /// (Redis's clusterNodeSetSlotBit), so a replica can move to a new
    /// master added with slots.
    pub(crate) fn flag_first_slot(&mut self, id: &str, had_slots: bool) {
        if had_slots {
            return;
        }
        let masters_have_replicas = self.nodes.values().any(|n| {
            n.is(flag::SLAVE)
                && n.master
                    .as_ref()
                    .and_then(|m| self.nodes.get(m))
                    .is_some_and(|m| m.is_master())
        });
        if let Some(n) = self.nodes.get_mut(id) {
            if masters_have_replicas && !n.slots.is_empty() {
                n.flags |= flag::MIGRATE_TO;
            }
        }
    }

    /// Replicas of `master` not flagged FAIL (Redis's
    /// clusterCountNonFailingSlaves).
    fn non_failing_replicas(&self, master: &str) -> usize {
        self.replicas_of(master)
            .iter()
            .filter(|r| !r.is(flag::FAIL))
            .count()
    }

    /// The replica's part, run every tick after the failover step.
    pub(crate) fn handle_replica_migration(&mut self, now: i64, out: &mut Vec<Action>) {
        let Some(my_master) = self.me().master.clone() else {
            return;
        };
        if self.me().is_master() || !self.settings.allow_replica_migration {
            return;
        }
        // The census clusterCron takes: orphaned masters, the most working
        // replicas any master has, and how many ours has.
        let mut orphaned = 0;
        let mut max_replicas = 0;
        let mut my_masters_replicas = 0;
        for n in self.nodes.values() {
            if !n.is_master() || n.is(flag::FAIL) {
                continue;
            }
            let ok = self.non_failing_replicas(&n.id);
            if ok == 0 && !n.slots.is_empty() && n.is(flag::MIGRATE_TO) {
                orphaned += 1;
            }
            max_replicas = max_replicas.max(ok);
            if n.id == my_master {
                my_masters_replicas = ok;
            }
        }
        // Moving only makes sense from a master with at least two.
        if orphaned == 0 || max_replicas < 2 || my_masters_replicas != max_replicas {
            return;
        }
        if !self.state_ok {
            return;
        }
        // Our master must keep more than the barrier (timed-out replicas
        // do not count here).
        let working = self
            .replicas_of(&my_master)
            .iter()
            .filter(|r| !r.is(flag::FAIL) && !r.is(flag::PFAIL))
            .count();
        if working as i64 <= self.settings.migration_barrier {
            return;
        }
        let mut target: Option<String> = None;
        let mut candidate = self.myself.clone();
        let ids: Vec<String> = self.nodes.keys().cloned().collect();
        for id in ids {
            let n = &self.nodes[&id];
            let ok = if n.is_master() {
                self.non_failing_replicas(&id)
            } else {
                0
            };
            let is_orphaned =
                n.is_master() && !n.is(flag::FAIL) && n.is(flag::MIGRATE_TO) && ok == 0;
            if ok == max_replicas {
                for r in self.replicas_of(&id) {
                    if r.id < candidate {
                        candidate = r.id.clone();
                    }
                }
            }
            let has_slots = !n.slots.is_empty();
            let Some(n) = self.nodes.get_mut(&id) else {
                continue;
            };
            if is_orphaned {
                if target.is_none() && has_slots {
                    target = Some(id.clone());
                }
                if n.orphaned_since == 0 {
                    n.orphaned_since = now;
                }
            } else {
                n.orphaned_since = 0;
            }
        }
        let Some(target) = target else { return };
        let waited = now - self.nodes[&target].orphaned_since;
        if candidate == self.myself && waited > MIGRATION_DELAY_MS {
            Self::log(
                out,
                LogLevel::Notice,
                format!("Migrating to orphaned master {target}"),
            );
            self.set_my_master(&target, out);
        }
    }
}
