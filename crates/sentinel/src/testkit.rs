//! What the state machine's unit tests share: a config environment, a
//! monitor built from config text, and views of the actions.

use crate::config::{load, Environment, SentinelLine};
use crate::monitor::{Action, Monitor, Target};

/// Every script executable; only `db.local` resolves.
pub struct Env;

impl Environment for Env {
    fn executable(&self, path: &str) -> bool {
        path != "/nope"
    }
    fn resolve(&self, host: &str) -> Option<String> {
        (host == "db.local").then(|| "10.0.0.7".to_string())
    }
}

/// Config lines from text, one directive per line, with or without the
/// leading `sentinel`.
pub fn lines(text: &str) -> Vec<SentinelLine> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| SentinelLine {
            line_number: i + 1,
            text: l.to_string(),
            args: l
                .split_whitespace()
                .skip_while(|w| *w == "sentinel")
                .map(str::to_string)
                .collect(),
        })
        .collect()
}

/// Sentinel `aaaa...` monitoring what `config` says, the master's link up
/// at `now`.
pub fn monitor(config: &str, now: i64) -> Monitor {
    let config = load(&lines(config), &Env).unwrap();
    let mut m = Monitor::new(&config.masters, &"a".repeat(40), 0, now);
    m.on_link(0, Target::Master, true, now);
    m
}

/// The events' names.
pub fn names(actions: &[Action]) -> Vec<&'static str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event { name, .. } => Some(*name),
            _ => None,
        })
        .collect()
}

/// The single commands sent, joined by spaces.
pub fn sends(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { command, .. } => Some(command.join(" ")),
            _ => None,
        })
        .collect()
}
