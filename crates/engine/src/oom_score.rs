//! `oom-score-adj` / `oom-score-adj-values`: the Linux OOM killer's score
//! adjustment of this process, as Redis 7.0's `setOOMScoreAdj` sets it.
//!
//! With `relative` (or `yes`) the value for the process's role (master or
//! replica) is added to the score the process had when first adjusted; with
//! `absolute` it is the value itself; both are clamped to -1000..=1000. Back
//! to `no`, the original score is written back. The first two values are
//! used (redust snapshots in a thread, so it has no background child for the
//! third). Lowering the score below where it started needs
//! CAP_SYS_RESOURCE: the write then fails, is logged, and CONFIG SET is
//! refused and rolled back.

use crate::state::State;
use redust_config::OomScoreAdj;

const PROC_FILE: &str = "/proc/self/oom_score_adj";

/// What this process changed: the score it started from, while adjusted.
#[derive(Clone, Copy, Debug, Default)]
pub struct OomScoreState {
    pub base: Option<i32>,
}

/// Sets the score for the process's current role; false (logged) when
/// `/proc` cannot be read or written.
pub fn apply(state: &mut State) -> bool {
    let mode = state.config.oom_score_adj;
    let class = usize::from(state.config.replicaof.is_some());
    let value = if mode != OomScoreAdj::No {
        let base = match state.oom_score.base {
            Some(b) => b,
            None => {
                let read = std::fs::read_to_string(PROC_FILE)
                    .map_err(|e| e.to_string())
                    .and_then(|s| s.trim().parse::<i32>().map_err(|e| e.to_string()));
                match read {
                    Ok(b) => {
                        state.oom_score.base = Some(b);
                        b
                    }
                    Err(e) => {
                        state.log_warning(&format!("Unable to read oom_score_adj: {e}"));
                        return false;
                    }
                }
            }
        };
        let v = state.config.oom_score_adj_values[class];
        let v = if mode == OomScoreAdj::Absolute {
            v
        } else {
            v + base
        };
        v.clamp(-1000, 1000)
    } else if let Some(base) = state.oom_score.base.take() {
        base
    } else {
        return true;
    };
    if let Err(e) = std::fs::write(PROC_FILE, format!("{value}\n")) {
        let why = redust_config::values::strerror(&e);
        state.log_warning(&format!("Unable to write oom_score_adj: {why}"));
        return false;
    }
    true
}

/// Redis's warning when the values are not increasing (master, replica,
/// child): unprivileged processes cannot lower their score again.
pub fn warn_if_unordered(state: &State) {
    let v = state.config.oom_score_adj_values;
    if v[1] < v[0] || v[2] < v[1] {
        state.log_warning(
            "The oom-score-adj-values configuration may not work for non-privileged processes! Please consult the documentation.",
        );
    }
}
