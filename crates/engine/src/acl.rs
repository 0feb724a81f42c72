//! The engine's side of ACL: the catalog of the node's command table (a
//! command's ACL id is its stats slot, both numbered in table order), the
//! check made before a command runs (by `execute`, again by EXEC, and by
//! scripts' `redis.call`), what a refused client is told, and the ACL log
//! entries. Users and rules live in `redust-acl`.

use crate::exec::{flags, Command};
use crate::spec::{self, CommandSpec};
use crate::state::{Client, State};
use bytes::Bytes;
use redust_acl::{Catalog, ChannelUse, Denied, KeyUse, LogContext, LogEntry, LogReason};

/// The ACL catalog of a table's specs, in the order the command table numbers
/// its stats slots.
pub fn catalog_for(specs: &'static [CommandSpec]) -> Catalog {
    let mut catalog = Catalog::new();
    for spec in specs {
        catalog.add(spec.name, spec.acl_categories, spec.has_flag("no_auth"));
        for sub in spec.subcommands {
            catalog.add(sub.name, sub.acl_categories, sub.has_flag("no_auth"));
        }
    }
    catalog
}

fn key_uses(spec: &CommandSpec, args: &[Bytes]) -> Vec<KeyUse> {
    let has = |flags: &[&str], names: &[&str]| {
        flags
            .iter()
            .any(|f| names.iter().any(|n| f.eq_ignore_ascii_case(n)))
    };
    spec::key_positions(spec, args)
        .into_iter()
        .map(|k| KeyUse {
            pos: k.pos,
            read: has(k.flags, &["access"]),
            write: has(k.flags, &["insert", "delete", "update"]),
        })
        .collect()
}

/// The channels a command publishes to or subscribes to (unsubscribing
/// needs no permission).
fn channel_uses(name: &str, args: &[Bytes]) -> Vec<ChannelUse> {
    let (from, pattern) = match name {
        "publish" | "spublish" => {
            return vec![ChannelUse {
                pos: 1,
                pattern: false,
            }]
        }
        "subscribe" | "ssubscribe" => (1, false),
        "psubscribe" => (1, true),
        _ => return Vec::new(),
    };
    (from..args.len())
        .map(|pos| ChannelUse { pos, pattern })
        .collect()
}

/// Whether `user` may run this command line (`None`: an internal client,
/// which may run anything). A user that no longer exists may run nothing.
pub fn check(
    state: &State,
    user: Option<&[u8]>,
    command: &Command,
    args: &[Bytes],
) -> Result<(), Denied> {
    let Some(name) = user else {
        return Ok(());
    };
    let Some(u) = state.acl.user(name) else {
        return Err(Denied::Command);
    };
    if u.unrestricted() {
        return Ok(());
    }
    let argv: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
    u.check(
        command.stats_slot,
        command.is(flags::NO_AUTH),
        &argv,
        &mut || key_uses(command.spec, args),
        &mut || channel_uses(&command.name, args),
    )
}

/// What a client whose command was refused is told.
pub fn refusal(denied: Denied, command: &Command) -> String {
    match denied {
        Denied::Command => format!(
            "NOPERM this user has no permissions to run the '{}' command",
            command.name
        ),
        Denied::Key(_) => {
            "NOPERM this user has no permissions to access one of the keys used as arguments"
                .to_string()
        }
        Denied::Channel(_) => {
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .to_string()
        }
    }
}

/// What EXEC says of a queued command that the user's rules, changed since
/// it was queued, now refuse.
pub fn refusal_at_exec(denied: Denied) -> String {
    let reason = match denied {
        Denied::Command => "no permission to execute the command or subcommand",
        Denied::Key(_) => "no permission to touch the specified keys",
        Denied::Channel(_) => "no permission to access one of the channels used as arguments",
    };
    format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}")
}

/// What `redis.call` raises in a script whose caller may not run a command.
pub fn refusal_in_script(denied: Denied) -> &'static str {
    match denied {
        Denied::Command => "ERR The user executing the script can't run this command or subcommand",
        Denied::Key(_) => "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
        Denied::Channel(_) => {
            "ERR The user executing the script can't publish to the channel mentioned in the command"
        }
    }
}

/// ACL DRYRUN's answer for a refusal.
pub fn dry_run_text(denied: Denied, command: &Command, args: &[Bytes]) -> String {
    let arg = |pos: usize| {
        String::from_utf8_lossy(args.get(pos).map_or(&b""[..], |a| &a[..])).into_owned()
    };
    match denied {
        Denied::Command => format!(
            "This user has no permissions to run the '{}' command",
            command.name
        ),
        Denied::Key(p) => format!(
            "This user has no permissions to access the '{}' key",
            arg(p)
        ),
        Denied::Channel(p) => format!(
            "This user has no permissions to access the '{}' channel",
            arg(p)
        ),
    }
}

/// Records a refused command in the ACL log. `client` is the one whose
/// user was checked (a script's caller).
pub fn log_refusal(
    state: &mut State,
    client: &Client,
    denied: Denied,
    context: LogContext,
    command: &Command,
    args: &[Bytes],
) {
    let (reason, object) = match denied {
        Denied::Command => (LogReason::Command, command.name.as_bytes().to_vec()),
        Denied::Key(p) => (
            LogReason::Key,
            args.get(p).map_or(Vec::new(), |a| a.to_vec()),
        ),
        Denied::Channel(p) => (
            LogReason::Channel,
            args.get(p).map_or(Vec::new(), |a| a.to_vec()),
        ),
    };
    let username = client.user.clone().unwrap_or_default();
    add_entry(state, client, reason, context, object, username);
}

/// Records a failed login (`object` is the command as the client typed it).
pub fn log_auth_failure(state: &mut State, client: &Client, username: &[u8], object: &[u8]) {
    let context = if client.multi.is_some() {
        LogContext::Multi
    } else {
        LogContext::Toplevel
    };
    add_entry(
        state,
        client,
        LogReason::Auth,
        context,
        object.to_vec(),
        username.to_vec(),
    );
}

fn add_entry(
    state: &mut State,
    client: &Client,
    reason: LogReason,
    context: LogContext,
    object: Vec<u8>,
    username: Vec<u8>,
) {
    let entry = LogEntry {
        count: 1,
        reason,
        context,
        object,
        username,
        time_ms: state.now_ms,
        client_info: crate::client_info::client_info_line(state, client),
    };
    let max = usize::try_from(state.config.acllog_max_len).unwrap_or(usize::MAX);
    state.acl.log.add(entry, max);
}

/// Disconnects every client logged in as `user` (the user was deleted or
/// replaced by ACL LOAD); the calling client closes after its reply.
pub fn kill_clients_of(state: &mut State, me: &mut Client, user: &[u8]) {
    if me.user.as_deref() == Some(user) {
        me.close_after_reply = true;
    }
    let victims: Vec<u64> = state
        .clients
        .values()
        .filter(|c| c.user.as_deref() == Some(user))
        .map(|c| c.id)
        .collect();
    for id in victims {
        if id != me.id {
            if let Some((h, _)) = state.clients.handles.get(&id) {
                h.kill();
            }
        }
    }
}
