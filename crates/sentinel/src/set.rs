//! SENTINEL SET: a master's options changed at run time, as Redis 7.0
//! applies them: left to right, each logged as `+set`; an error stops the
//! rest but what came before stays applied (and is flushed). The script
//! options are refused while `deny-scripts-reconfig` holds; auth changes
//! ask the shell to drop the master's links.

use crate::config::Environment;
use crate::monitor::{Action, Monitor, Target};

/// What SENTINEL SET did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SetOutcome {
    /// `+set` events (and nothing else).
    pub actions: Vec<Action>,
    /// Something changed: the config is to be flushed.
    pub changed: bool,
    /// auth-pass/auth-user changed: the links to the master's instances
    /// are to be dropped (they reconnect with the new credentials).
    pub drop_links: bool,
    /// The error to reply (`ERR ...`), if one stopped it.
    pub error: Option<String>,
}

impl Monitor {
    /// `SENTINEL SET <master> <option> <value> ...` (`args`: the pairs).
    pub fn sentinel_set(
        &mut self,
        master: usize,
        args: &[String],
        deny_scripts_reconfig: bool,
        env: &dyn Environment,
    ) -> SetOutcome {
        let mut out = SetOutcome::default();
        let mut i = 0;
        while i < args.len() {
            let option = args[i].to_ascii_lowercase();
            let remaining = args.len() - i;
            let invalid = |v: &str| {
                Some(format!(
                    "ERR Invalid argument '{v}' for SENTINEL SET '{}'",
                    args[i]
                ))
            };
            let positive = |v: &str| v.parse::<i64>().ok().filter(|n| *n > 0);
            let m = &mut self.masters[master];
            let mut shown: Option<String> = None;
            let err = match (option.as_str(), remaining) {
                (
                    "down-after-milliseconds" | "failover-timeout" | "parallel-syncs" | "quorum",
                    2..,
                ) => match positive(&args[i + 1]) {
                    None => invalid(&args[i + 1]),
                    Some(n) => {
                        match option.as_str() {
                            "down-after-milliseconds" => m.config.down_after_ms = n,
                            "failover-timeout" => m.config.failover_timeout_ms = n,
                            "parallel-syncs" => m.config.parallel_syncs = n,
                            _ => m.config.quorum = n as u32,
                        }
                        None
                    }
                },
                ("master-reboot-down-after-period", 2..) => {
                    match args[i + 1].parse::<i64>().ok().filter(|n| *n >= 0) {
                        None => invalid(&args[i + 1]),
                        Some(n) => {
                            m.config.master_reboot_down_after_ms = n;
                            None
                        }
                    }
                }
                ("notification-script" | "client-reconfig-script", 2..) => {
                    let path = &args[i + 1];
                    if deny_scripts_reconfig {
                        Some("ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration".to_string())
                    } else if !path.is_empty() && !env.executable(path) {
                        Some(if option == "notification-script" {
                            "ERR Notification script seems non existing or non executable"
                                .to_string()
                        } else {
                            "ERR Client reconfiguration script seems non existing or non executable"
                                .to_string()
                        })
                    } else {
                        let value = (!path.is_empty()).then(|| path.clone());
                        if option == "notification-script" {
                            m.config.notification_script = value;
                        } else {
                            m.config.client_reconfig_script = value;
                        }
                        None
                    }
                }
                ("auth-pass" | "auth-user", 2..) => {
                    let value = (!args[i + 1].is_empty()).then(|| args[i + 1].clone());
                    if option == "auth-pass" {
                        m.config.auth_pass = value;
                        shown = Some("******".into());
                    } else {
                        m.config.auth_user = value;
                    }
                    out.drop_links = true;
                    None
                }
                ("rename-command", 3..) => {
                    let (from, to) = (&args[i + 1], &args[i + 2]);
                    if from.is_empty() || to.is_empty() {
                        invalid("")
                    } else {
                        let renames = &mut m.config.renamed_commands;
                        renames.retain(|(c, _)| !c.eq_ignore_ascii_case(from));
                        // Renaming a command to itself removes the mapping.
                        if !from.eq_ignore_ascii_case(to) {
                            renames.push((from.clone(), to.clone()));
                        }
                        shown = Some(format!("{from} {to}"));
                        None
                    }
                }
                _ => Some(format!(
                    "ERR Unknown option or number of arguments for SENTINEL SET '{}'",
                    args[i]
                )),
            };
            if let Some(e) = err {
                out.error = Some(e);
                break;
            }
            let width = if option == "rename-command" { 3 } else { 2 };
            let value = shown.unwrap_or_else(|| args[i + 1].clone());
            out.actions.push(Action::Event {
                name: "+set",
                detail: format!(
                    "{} {} {}",
                    self.describe(master, Target::Master),
                    args[i],
                    value
                ),
                master: Some(master),
            });
            out.changed = true;
            i += width;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{self, Env};

    fn set(m: &mut Monitor, args: &str, deny: bool) -> SetOutcome {
        let args: Vec<String> = args.split(' ').map(str::to_string).collect();
        m.sentinel_set(0, &args, deny, &Env)
    }

    #[test]
    fn options_apply_left_to_right_and_an_error_keeps_what_came_before() {
        let mut m = testkit::monitor("monitor mymaster 127.0.0.1 6379 2", 1_000_000);
        let out = set(&mut m, "quorum 1 foo 2", true);
        assert_eq!(m.masters[0].config.quorum, 1);
        assert!(out.changed);
        assert_eq!(
            out.error.as_deref(),
            Some("ERR Unknown option or number of arguments for SENTINEL SET 'foo'")
        );
        assert_eq!(
            out.actions,
            [Action::Event {
                name: "+set",
                detail: "master mymaster 127.0.0.1 6379 quorum 1".into(),
                master: Some(0),
            }]
        );
        let out = set(&mut m, "down-after-milliseconds 0", true);
        assert_eq!(
            out.error.as_deref(),
            Some("ERR Invalid argument '0' for SENTINEL SET 'down-after-milliseconds'")
        );
        let out = set(&mut m, "notification-script /bin/x", true);
        assert!(out
            .error
            .unwrap()
            .starts_with("ERR Reconfiguration of scripts path is denied"));
        let out = set(&mut m, "notification-script /nope", false);
        assert_eq!(
            out.error.as_deref(),
            Some("ERR Notification script seems non existing or non executable")
        );
        let out = set(&mut m, "auth-pass secret rename-command CONFIG cfg", false);
        assert!(out.drop_links && out.error.is_none());
        assert!(
            matches!(&out.actions[0], Action::Event { detail, .. } if detail.ends_with("auth-pass ******"))
        );
        assert_eq!(
            m.masters[0].config.renamed_commands,
            [("CONFIG".to_string(), "cfg".to_string())]
        );
        set(&mut m, "rename-command config CONFIG", false);
        assert!(m.masters[0].config.renamed_commands.is_empty());
    }
}
