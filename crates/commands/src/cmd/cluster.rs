//! The CLUSTER command family and READONLY, READWRITE, ASKING: what a node
//! says of the cluster (INFO, NODES, SLOTS, SHARDS, LINKS, MYID, KEYSLOT,
//! keys in a slot) and the operations that change it (MEET, slots, epochs,
//! REPLICATE, FORGET, RESET, SETSLOT), with Redis 7.0's replies and errors.
//! The cluster machine (`redust-cluster`) decides; its actions go through
//! `crate::cluster::apply`.

use crate::args::{lossy, parse_i64};
use crate::errors::{self, CmdError, CmdResult};
use crate::exec::{Ctx, Handler};
use bytes::Bytes;
use redust_cluster::nodes::flag;
use redust_cluster::state::{Action, Cluster};
use redust_cluster::{key_slot, SLOTS};

pub static HANDLERS: &[(&str, Handler)] = &[
    ("cluster|addslots", cluster),
    ("cluster|addslotsrange", cluster),
    ("cluster|bumpepoch", cluster),
    ("cluster|count-failure-reports", cluster),
    ("cluster|countkeysinslot", cluster),
    ("cluster|delslots", cluster),
    ("cluster|delslotsrange", cluster),
    ("cluster|failover", cluster),
    ("cluster|flushslots", cluster),
    ("cluster|forget", cluster),
    ("cluster|getkeysinslot", cluster),
    ("cluster|help", cluster),
    ("cluster|info", cluster),
    ("cluster|keyslot", cluster),
    ("cluster|links", cluster),
    ("cluster|meet", cluster),
    ("cluster|myid", cluster),
    ("cluster|nodes", cluster),
    ("cluster|replicas", cluster),
    ("cluster|replicate", cluster),
    ("cluster|reset", cluster),
    ("cluster|saveconfig", cluster),
    ("cluster|set-config-epoch", cluster),
    ("cluster|setslot", cluster),
    ("cluster|shards", cluster),
    ("cluster|slaves", cluster),
    ("cluster|slots", cluster),
    ("readonly", readonly),
    ("readwrite", readwrite),
    ("asking", asking),
];

const DISABLED: &str = "ERR This instance has cluster support disabled";
const NOT_A_MASTER: &str = "ERR Target node is not a master";

fn machine<'a>(ctx: &'a mut Ctx) -> Result<&'a mut Cluster, CmdError> {
    ctx.state
        .cluster
        .as_mut()
        .map(|c| &mut c.machine)
        .ok_or_else(|| CmdError::from(DISABLED))
}

/// Applies what the machine asked for, and writes nodes.conf if it changed.
fn finish(ctx: &mut Ctx, mut actions: Vec<Action>) {
    if let Some(fsync) = ctx
        .state
        .cluster
        .as_mut()
        .and_then(|c| c.machine.take_save())
    {
        actions.push(Action::SaveConfig { fsync });
    }
    let forgotten: Vec<u16> = actions
        .iter()
        .filter_map(|a| match a {
            Action::ForgetShardChannels { slot } => Some(*slot),
            _ => None,
        })
        .collect();
    let before = ctx.state.cluster.as_ref().map(|c| c.shard_slots.clone());
    crate::cluster::apply(ctx.state, actions);
    if let Some(before) = before {
        unsubscribe_caller(ctx, &before, &forgotten);
    }
}

/// The client running the command is out of the registry while it runs,
/// so the sunsubscribe pushes for slots that just left the shard reach it
/// here, ahead of its reply (as Redis writes them).
fn unsubscribe_caller(ctx: &mut Ctx, before: &redust_cluster::SlotBitmap, forgotten: &[u16]) {
    if ctx.client.shard_channels.is_empty() {
        return;
    }
    let Some(c) = ctx.state.cluster.as_ref() else {
        return;
    };
    let mut gone: Vec<Vec<u8>> = ctx
        .client
        .shard_channels
        .iter()
        .filter(|ch| {
            let slot = key_slot(ch);
            let left = before.get(slot as usize) && !c.shard_slots.get(slot as usize);
            left || forgotten.contains(&slot)
        })
        .cloned()
        .collect();
    gone.sort();
    for ch in gone {
        ctx.client.shard_channels.remove(&ch);
        crate::pubsub::remove_subscriber(&mut ctx.state.pubsub.shard_channels, &ch, ctx.client.id);
        let count = ctx.client.shard_channels.len();
        crate::pubsub::subscription_reply(ctx.reply, "sunsubscribe", Some(&ch), count);
    }
}

pub fn readonly(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.state.cluster.is_none() {
        return Err(DISABLED.into());
    }
    ctx.client.readonly = true;
    ctx.reply.ok();
    Ok(())
}

pub fn readwrite(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.state.cluster.is_none() {
        return Err(DISABLED.into());
    }
    ctx.client.readonly = false;
    ctx.reply.ok();
    Ok(())
}

pub fn asking(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.state.cluster.is_none() {
        return Err(DISABLED.into());
    }
    ctx.client.asking = true;
    ctx.reply.ok();
    Ok(())
}

/// A slot argument (`Invalid or out of range slot` otherwise).
fn slot_arg(arg: &[u8]) -> Result<u16, CmdError> {
    parse_i64(arg)
        .ok()
        .filter(|s| (0..SLOTS as i64).contains(s))
        .map(|s| s as u16)
        .ok_or_else(|| CmdError::from("ERR Invalid or out of range slot"))
}

fn node_arg<'a>(c: &'a Cluster, arg: &[u8]) -> Result<&'a redust_cluster::state::Node, CmdError> {
    c.nodes
        .get(&*lossy(arg))
        .ok_or_else(|| format!("ERR Unknown node {}", lossy(arg)).into())
}

const HELP: &[&str] = &[
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes of a link",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "HELP",
    "    Prints this help.",
];

pub fn cluster(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    machine(ctx)?;
    let sub = args[1].to_ascii_lowercase();
    let argc = args.len();
    let argc_ok = match &sub[..] {
        b"failover" | b"reset" => argc <= 3,
        b"meet" => argc == 4 || argc == 5,
        _ => true,
    };
    if !argc_ok {
        return Err(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLUSTER HELP.",
            lossy(&args[1])
        )
        .into());
    }
    if sub == b"help" {
        ctx.reply.array(HELP.len());
        HELP.iter().for_each(|l| ctx.reply.simple(l));
        return Ok(());
    }
    let now = ctx.state.now_ms;
    match &sub[..] {
        b"info" => {
            let text = info_text(machine(ctx)?);
            ctx.reply.verbatim(text.as_bytes());
        }
        b"myid" => {
            let id = machine(ctx)?.myself.clone();
            ctx.reply.bulk(id.as_bytes());
        }
        b"nodes" => {
            let text = machine(ctx)?.nodes_text();
            ctx.reply.verbatim(text.as_bytes());
        }
        b"keyslot" => ctx.reply.int(i64::from(key_slot(&args[2]))),
        b"countkeysinslot" => {
            let slot = Some(parse_i64(&args[2])?)
                .filter(|s| (0..SLOTS as i64).contains(s))
                .ok_or_else(|| CmdError::from("ERR Invalid slot"))?;
            let n = ctx.state.dbs[0].slot_len(slot as usize);
            ctx.reply.int(n as i64);
        }
        b"getkeysinslot" => {
            let (slot, count) = (parse_i64(&args[2])?, parse_i64(&args[3])?);
            let (Some(slot), Some(count)) = (
                Some(slot).filter(|s| (0..SLOTS as i64).contains(s)),
                Some(count).filter(|c| *c >= 0),
            ) else {
                return Err("ERR Invalid slot or number of keys".into());
            };
            let mut keys: Vec<Vec<u8>> = Vec::new();
            let db = &ctx.state.dbs[0];
            db.for_each_in_slot(slot as usize, |k| {
                if (keys.len() as i64) < count {
                    keys.push(k.to_vec());
                }
            });
            ctx.reply.array(keys.len());
            keys.iter().for_each(|k| ctx.reply.bulk(k));
        }
        b"meet" => {
            let ip = lossy(&args[2]);
            let port = parse_i64(&args[3]).map_err(|_| {
                CmdError::from(format!(
                    "ERR Invalid TCP base port specified: {}",
                    lossy(&args[3])
                ))
            })?;
            let cport = match args.get(4) {
                Some(c) => parse_i64(c).map_err(|_| {
                    CmdError::from(format!("ERR Invalid TCP bus port specified: {}", lossy(c)))
                })?,
                None => port + 10000,
            };
            let parsed = ip.parse::<std::net::IpAddr>();
            let valid =
                parsed.is_ok() && (1..=65535).contains(&port) && (1..=65535).contains(&cport);
            if !valid {
                return Err(format!("ERR Invalid node address specified: {ip}:{port}").into());
            }
            let ip = parsed.map(|a| a.to_string()).unwrap_or(ip);
            machine(ctx)?.meet(&ip, port as u16, cport as u16, now);
            ctx.reply.ok();
        }
        b"addslots" | b"delslots" => {
            let mut slots = Vec::new();
            for a in &args[2..] {
                slots.push(slot_arg(a)?);
            }
            change_slots(ctx, &slots, sub == b"addslots")?;
        }
        b"addslotsrange" | b"delslotsrange" => {
            if args.len() % 2 == 1 {
                return Err(errors::wrong_args(&format!("cluster|{}", lossy(&sub))));
            }
            let mut slots = Vec::new();
            for pair in args[2..].chunks(2) {
                let (a, b) = (slot_arg(&pair[0])?, slot_arg(&pair[1])?);
                if a > b {
                    return Err(format!(
                        "ERR start slot number {a} is greater than end slot number {b}"
                    )
                    .into());
                }
                slots.extend(a..=b);
            }
            change_slots(ctx, &slots, sub == b"addslotsrange")?;
        }
        b"flushslots" => {
            if !ctx.state.dbs[0].is_empty() {
                return Err("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.".into());
            }
            let c = machine(ctx)?;
            let mine: Vec<u16> = (0..SLOTS as u16)
                .filter(|&s| c.owners[s as usize].as_deref() == Some(c.myself.as_str()))
                .collect();
            c.del_slots(&mine, now);
            finish(ctx, Vec::new());
            ctx.reply.ok();
        }
        b"set-config-epoch" => {
            let epoch = parse_i64(&args[2])?;
            let c = machine(ctx)?;
            if epoch < 0 {
                return Err(format!("ERR Invalid config epoch specified: {epoch}").into());
            }
            if c.nodes.len() > 1 {
                return Err("ERR The user can assign a config epoch only when the node does not know any other node.".into());
            }
            if c.me().config_epoch != 0 {
                return Err("ERR Node config epoch is already non-zero".into());
            }
            c.set_config_epoch(epoch as u64);
            ctx.state.log_warning(&format!(
                "configEpoch set to {epoch} via CLUSTER SET-CONFIG-EPOCH"
            ));
            finish(ctx, Vec::new());
            ctx.reply.ok();
        }
        b"bumpepoch" => {
            let (actions, bumped, epoch) = machine(ctx)?.bump_epoch();
            finish(ctx, actions);
            ctx.reply.simple(&format!(
                "{} {epoch}",
                if bumped { "BUMPED" } else { "STILL" }
            ));
        }
        b"saveconfig" => {
            crate::cluster::save_config(ctx.state, true).map_err(|e| {
                CmdError::from(format!("ERR error saving the cluster node config: {e}"))
            })?;
            ctx.reply.ok();
        }
        b"replicate" => {
            let c = machine(ctx)?;
            let target = node_arg(c, &args[2])?;
            if target.id == c.myself {
                return Err("ERR Can't replicate myself".into());
            }
            if !target.is_master() {
                return Err("ERR I can only replicate a master, not a replica.".into());
            }
            let target = target.id.clone();
            let me = c.me();
            if me.is_master() && (!me.slots.is_empty() || !ctx.state.dbs[0].is_empty()) {
                return Err(
                    "ERR To set a master the node must be empty and without assigned slots.".into(),
                );
            }
            let actions = machine(ctx)?.replicate(&target);
            finish(ctx, actions);
            ctx.reply.ok();
        }
        b"replicas" | b"slaves" => {
            let c = machine(ctx)?;
            let target = node_arg(c, &args[2])?;
            if !target.is_master() {
                return Err("ERR The specified node is not a master".into());
            }
            let lines: Vec<String> = c
                .replicas_of(&target.id)
                .into_iter()
                .map(|r| c.line(r).format())
                .collect();
            ctx.reply.array(lines.len());
            lines.iter().for_each(|l| ctx.reply.bulk(l.as_bytes()));
        }
        b"count-failure-reports" => {
            let c = machine(ctx)?;
            node_arg(c, &args[2])?;
            let n = c.failure_reports(&lossy(&args[2]), now);
            ctx.reply.int(n as i64);
        }
        b"forget" => {
            let c = machine(ctx)?;
            let target = node_arg(c, &args[2])?;
            if target.id == c.myself {
                return Err("ERR I tried hard but I can't forget myself...".into());
            }
            if c.me().master.as_deref() == Some(target.id.as_str()) {
                return Err("ERR Can't forget my master!".into());
            }
            let id = target.id.clone();
            let actions = c.forget(&id, now);
            finish(ctx, actions);
            ctx.reply.ok();
        }
        b"reset" => {
            let hard = match args.get(2) {
                None => false,
                Some(a) if a.eq_ignore_ascii_case(b"hard") => true,
                Some(a) if a.eq_ignore_ascii_case(b"soft") => false,
                Some(_) => return Err(errors::SYNTAX.into()),
            };
            let c = machine(ctx)?;
            if c.me().is_master() && !ctx.state.dbs[0].is_empty() {
                return Err(
                    "ERR CLUSTER RESET can't be called with master nodes containing keys".into(),
                );
            }
            let actions = machine(ctx)?.reset(hard, now);
            finish(ctx, actions);
            ctx.reply.ok();
        }
        b"setslot" => setslot(ctx, args)?,
        b"failover" => {
            use redust_cluster::failover::Manual;
            let mode = match args.get(2) {
                None if args.len() == 2 => Manual::Default,
                Some(a) if args.len() == 3 && a.eq_ignore_ascii_case(b"force") => Manual::Force,
                Some(a) if args.len() == 3 && a.eq_ignore_ascii_case(b"takeover") => {
                    Manual::Takeover
                }
                _ => return Err(errors::SYNTAX.into()),
            };
            let actions = machine(ctx)?
                .manual_failover(mode, now)
                .map_err(CmdError::from)?;
            finish(ctx, actions);
            ctx.reply.ok();
        }
        b"slots" => slots_reply(ctx),
        b"shards" => shards_reply(ctx),
        b"links" => {
            let links = machine(ctx)?.links_info();
            ctx.reply.array(links.len());
            for l in links {
                let queued = ctx
                    .state
                    .cluster
                    .as_ref()
                    .map_or(0, |c| c.link_queued(l.link));
                ctx.reply.map(6);
                ctx.reply.bulk(b"direction");
                ctx.reply.bulk(if l.inbound { b"from" } else { b"to" });
                ctx.reply.bulk(b"node");
                ctx.reply.bulk(l.node.as_bytes());
                ctx.reply.bulk(b"create-time");
                ctx.reply.int(l.created);
                ctx.reply.bulk(b"events");
                // A write handler is installed while something waits.
                ctx.reply.bulk(if queued > 0 { b"rw" } else { b"r" });
                ctx.reply.bulk(b"send-buffer-allocated");
                ctx.reply.int(queued as i64);
                ctx.reply.bulk(b"send-buffer-used");
                ctx.reply.int(queued as i64);
            }
        }
        _ => return Err(errors::unknown_subcommand(&args[1], "cluster")),
    }
    Ok(())
}

fn change_slots(ctx: &mut Ctx, slots: &[u16], add: bool) -> CmdResult {
    let now = ctx.state.now_ms;
    let c = machine(ctx)?;
    let mut seen = vec![false; SLOTS];
    for &s in slots {
        let owned = c.owners[s as usize].is_some();
        if add && owned {
            return Err(format!("ERR Slot {s} is already busy").into());
        }
        if !add && !owned {
            return Err(format!("ERR Slot {s} is already unassigned").into());
        }
        if std::mem::replace(&mut seen[s as usize], true) {
            return Err(format!("ERR Slot {s} specified multiple times").into());
        }
    }
    if add {
        c.add_slots(slots, now);
    } else {
        c.del_slots(slots, now);
    }
    finish(ctx, Vec::new());
    ctx.reply.ok();
    Ok(())
}

fn setslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    const BAD: &str = "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP";
    let now = ctx.state.now_ms;
    if machine(ctx)?.me().is(flag::SLAVE) {
        return Err("ERR Please use SETSLOT only with masters.".into());
    }
    let slot = slot_arg(&args[2])?;
    let action = args
        .get(3)
        .map(|a| a.to_ascii_lowercase())
        .unwrap_or_default();
    let c = machine(ctx)?;
    let me = c.myself.clone();
    let owner = c.owners[slot as usize].clone();
    match (&action[..], args.len()) {
        (b"migrating", 5) => {
            if owner.as_deref() != Some(me.as_str()) {
                return Err(format!("ERR I'm not the owner of hash slot {slot}").into());
            }
            let id = lossy(&args[4]);
            match c.nodes.get(&*id) {
                Some(n) if n.is_master() => {}
                Some(_) => return Err(NOT_A_MASTER.into()),
                None => return Err(format!("ERR I don't know about node {id}").into()),
            }
            c.set_slot_migrating(slot, Some(id.to_string()));
        }
        (b"importing", 5) => {
            if owner.as_deref() == Some(me.as_str()) {
                return Err(format!("ERR I'm already the owner of hash slot {slot}").into());
            }
            let id = lossy(&args[4]);
            match c.nodes.get(&*id) {
                Some(n) if n.is_master() => {}
                Some(_) => return Err(NOT_A_MASTER.into()),
                None => return Err(format!("ERR I don't know about node {id}").into()),
            }
            c.set_slot_importing(slot, Some(id.to_string()));
        }
        (b"stable", 4) => {
            c.set_slot_migrating(slot, None);
            c.set_slot_importing(slot, None);
        }
        (b"node", 5) => {
            let id = lossy(&args[4]).to_string();
            let Some(target) = c.nodes.get(&id) else {
                return Err(format!("ERR Unknown node {id}").into());
            };
            if !target.is_master() {
                return Err(NOT_A_MASTER.into());
            }
            if owner.as_deref() == Some(me.as_str())
                && id != me
                && ctx.state.dbs[0].slot_len(slot as usize) != 0
            {
                return Err(format!(
                    "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
                )
                .into());
            }
            let actions = machine(ctx)?.set_slot_node(slot, &id, now);
            finish(ctx, actions);
            ctx.reply.ok();
            return Ok(());
        }
        _ => return Err(BAD.into()),
    }
    finish(ctx, Vec::new());
    ctx.reply.ok();
    Ok(())
}

/// CLUSTER INFO's text.
fn info_text(c: &Cluster) -> String {
    let mut assigned = 0;
    let (mut ok, mut pfail, mut fail) = (0, 0, 0);
    for s in 0..SLOTS as u16 {
        if let Some(n) = c.owner(s) {
            assigned += 1;
            if n.is(flag::FAIL) {
                fail += 1;
            } else if n.is(flag::PFAIL) {
                pfail += 1;
            } else {
                ok += 1;
            }
        }
    }
    let mut text = format!(
        "cluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{ok}\r\ncluster_slots_pfail:{pfail}\r\ncluster_slots_fail:{fail}\r\ncluster_known_nodes:{}\r\ncluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n",
        if c.state_ok { "ok" } else { "fail" },
        c.nodes.len(),
        c.size,
        c.current_epoch,
        c.line(c.me()).config_epoch,
    );
    let mut total = 0;
    for (t, &n) in c.stats.sent.iter().enumerate() {
        if n > 0 {
            text.push_str(&format!(
                "cluster_stats_messages_{}_sent:{n}\r\n",
                redust_cluster::bus::kind::name(t as u16)
            ));
            total += n;
        }
    }
    text.push_str(&format!("cluster_stats_messages_sent:{total}\r\n"));
    let mut total = 0;
    for (t, &n) in c.stats.received.iter().enumerate() {
        if n > 0 {
            text.push_str(&format!(
                "cluster_stats_messages_{}_received:{n}\r\n",
                redust_cluster::bus::kind::name(t as u16)
            ));
            total += n;
        }
    }
    text.push_str(&format!("cluster_stats_messages_received:{total}\r\n"));
    text.push_str(&format!(
        "total_cluster_links_buffer_limit_exceeded:{}\r\n",
        c.stats.links_buffer_limit_exceeded
    ));
    text
}

/// One node in CLUSTER SLOTS: the preferred endpoint, port, id, and the
/// node's other endpoints.
fn slots_node(ctx: &mut Ctx, c: &Cluster, id: &str) {
    let n = &c.nodes[id];
    let ip = c.line(n).ip;
    let preferred = crate::cluster::preferred_endpoint(ctx.state, c, n);
    let mut others: Vec<(&[u8], String)> = Vec::new();
    use redust_config::ClusterPreferredEndpointType as E;
    let kind = ctx.state.config.cluster_preferred_endpoint_type;
    if kind != E::Ip {
        others.push((b"ip", ip.clone()));
    }
    if kind != E::Hostname && !n.hostname.is_empty() {
        others.push((b"hostname", n.hostname.clone()));
    }
    ctx.reply.array(4);
    match preferred {
        Some(p) => ctx.reply.bulk(p.as_bytes()),
        None => ctx.reply.null(),
    }
    ctx.reply.int(i64::from(n.port));
    ctx.reply.bulk(n.id.as_bytes());
    ctx.reply.map(others.len());
    for (k, v) in others {
        ctx.reply.bulk(k);
        ctx.reply.bulk(v.as_bytes());
    }
}

fn slots_reply(ctx: &mut Ctx) {
    let Some(c) = ctx.state.cluster.as_ref().map(|c| c.machine.clone()) else {
        return;
    };
    // Ranges of consecutive slots with one owner.
    let mut ranges: Vec<(u16, u16, String)> = Vec::new();
    for s in 0..SLOTS as u16 {
        let Some(owner) = c.owners[s as usize].clone() else {
            continue;
        };
        match ranges.last_mut() {
            Some((_, end, o)) if *o == owner && *end + 1 == s => *end = s,
            _ => ranges.push((s, s, owner)),
        }
    }
    ctx.reply.array(ranges.len());
    for (start, end, owner) in ranges {
        // Replicas that failed, or have nothing yet (offset 0), are left out.
        let replicas: Vec<String> = c
            .replicas_of(&owner)
            .into_iter()
            .filter(|r| !r.is(flag::FAIL) && r.repl_offset != 0)
            .map(|r| r.id.clone())
            .collect();
        ctx.reply.array(3 + replicas.len());
        ctx.reply.int(i64::from(start));
        ctx.reply.int(i64::from(end));
        slots_node(ctx, &c, &owner);
        for r in replicas {
            slots_node(ctx, &c, &r);
        }
    }
}

fn shards_reply(ctx: &mut Ctx) {
    let Some(c) = ctx.state.cluster.as_ref().map(|c| c.machine.clone()) else {
        return;
    };
    let mut masters: Vec<&redust_cluster::state::Node> =
        c.nodes.values().filter(|n| n.is_master()).collect();
    masters.sort_by(|a, b| a.id.cmp(&b.id));
    ctx.reply.array(masters.len());
    for m in masters {
        ctx.reply.map(2);
        ctx.reply.bulk(b"slots");
        let ranges = m.slots.ranges();
        ctx.reply.array(ranges.len() * 2);
        for (a, b) in ranges {
            ctx.reply.int(i64::from(a));
            ctx.reply.int(i64::from(b));
        }
        ctx.reply.bulk(b"nodes");
        let mut members = vec![m];
        members.extend(c.replicas_of(&m.id));
        ctx.reply.array(members.len());
        for n in members {
            let line = c.line(n);
            let hostname = !n.hostname.is_empty();
            ctx.reply.map(if hostname { 8 } else { 7 });
            ctx.reply.bulk(b"id");
            ctx.reply.bulk(n.id.as_bytes());
            ctx.reply.bulk(b"port");
            ctx.reply.int(i64::from(n.port));
            ctx.reply.bulk(b"ip");
            ctx.reply.bulk(line.ip.as_bytes());
            ctx.reply.bulk(b"endpoint");
            match crate::cluster::preferred_endpoint(ctx.state, &c, n) {
                Some(e) => ctx.reply.bulk(e.as_bytes()),
                None => ctx.reply.null(),
            }
            if hostname {
                ctx.reply.bulk(b"hostname");
                ctx.reply.bulk(n.hostname.as_bytes());
            }
            ctx.reply.bulk(b"role");
            ctx.reply
                .bulk(if n.is_master() { b"master" } else { b"replica" });
            ctx.reply.bulk(b"replication-offset");
            ctx.reply.int(n.repl_offset as i64);
            ctx.reply.bulk(b"health");
            let health: &[u8] = if n.is(flag::FAIL) {
                b"fail"
            } else if n.is_master() || n.repl_offset > 0 {
                b"online"
            } else {
                b"loading"
            };
            ctx.reply.bulk(health);
        }
    }
}
