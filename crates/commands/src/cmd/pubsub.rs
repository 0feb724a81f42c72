//! Pub/sub: subscriptions, PUBLISH fan-out (also used by keyspace
//! notifications) and PUBSUB introspection.
//!
//! Messages go to subscribers through their push handles, encoded once per
//! protocol version. A subscriber that stops reading is disconnected when its
//! queued bytes pass the `pubsub` class of `client-output-buffer-limit`.

use crate::errors::{self, CmdResult};
use crate::exec::Ctx;
use crate::pubsub::{publish, remove_subscriber, subscription_reply};
use bytes::Bytes;
use redust_config::glob_match;

pub fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    for ch in &args[1..] {
        if ctx.client.channels.insert(ch.to_vec()) {
            ctx.state
                .pubsub
                .channels
                .entry(ch.to_vec())
                .or_default()
                .push(ctx.client.id);
        }
        subscription_reply(
            ctx.reply,
            "subscribe",
            Some(ch),
            ctx.client.subscription_count(),
        );
    }
    Ok(())
}

pub fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    for p in &args[1..] {
        if ctx.client.patterns.insert(p.to_vec()) {
            ctx.state
                .pubsub
                .patterns
                .entry(p.to_vec())
                .or_default()
                .push(ctx.client.id);
        }
        subscription_reply(
            ctx.reply,
            "psubscribe",
            Some(p),
            ctx.client.subscription_count(),
        );
    }
    Ok(())
}

fn unsubscribe_generic(ctx: &mut Ctx, args: &[Bytes], patterns: bool) {
    let kind = if patterns {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    let names: Vec<Vec<u8>> = if args.len() > 1 {
        args[1..].iter().map(|a| a.to_vec()).collect()
    } else {
        let mut all: Vec<Vec<u8>> = if patterns {
            ctx.client.patterns.iter().cloned().collect()
        } else {
            ctx.client.channels.iter().cloned().collect()
        };
        all.sort();
        all
    };
    if names.is_empty() {
        subscription_reply(ctx.reply, kind, None, ctx.client.subscription_count());
        return;
    }
    for name in names {
        let removed = if patterns {
            ctx.client.patterns.remove(&name)
        } else {
            ctx.client.channels.remove(&name)
        };
        if removed {
            let map = if patterns {
                &mut ctx.state.pubsub.patterns
            } else {
                &mut ctx.state.pubsub.channels
            };
            remove_subscriber(map, &name, ctx.client.id);
        }
        subscription_reply(
            ctx.reply,
            kind,
            Some(&name),
            ctx.client.subscription_count(),
        );
    }
}

pub fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, args, false);
    Ok(())
}

pub fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, args, true);
    Ok(())
}

pub fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    for ch in &args[1..] {
        if ctx.client.shard_channels.insert(ch.to_vec()) {
            ctx.state
                .pubsub
                .shard_channels
                .entry(ch.to_vec())
                .or_default()
                .push(ctx.client.id);
        }
        let count = ctx.client.shard_channels.len();
        subscription_reply(ctx.reply, "ssubscribe", Some(ch), count);
    }
    Ok(())
}

pub fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let names: Vec<Vec<u8>> = if args.len() > 1 {
        args[1..].iter().map(|a| a.to_vec()).collect()
    } else {
        let mut all: Vec<Vec<u8>> = ctx.client.shard_channels.iter().cloned().collect();
        all.sort();
        all
    };
    if names.is_empty() {
        subscription_reply(ctx.reply, "sunsubscribe", None, 0);
        return Ok(());
    }
    for name in names {
        if ctx.client.shard_channels.remove(&name) {
            remove_subscriber(&mut ctx.state.pubsub.shard_channels, &name, ctx.client.id);
        }
        let count = ctx.client.shard_channels.len();
        subscription_reply(ctx.reply, "sunsubscribe", Some(&name), count);
    }
    Ok(())
}

/// SPUBLISH: to this node's subscribers, and in a cluster to the rest of
/// the shard over the bus (standalone: down the replication stream).
pub fn spublish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match ctx.state.cluster.as_mut() {
        Some(c) => {
            let actions = c.machine.publish(true, &args[1], &args[2]);
            crate::cluster::apply(ctx.state, actions);
            ctx.propagate_nothing();
        }
        None => ctx.propagate_to_replicas(args.to_vec()),
    }
    let n = ctx.publishing(|state| crate::pubsub::publish_shard(state, &args[1], &args[2]));
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn publish_cmd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.state.sentinel.is_some() {
        return super::sentinel::publish_hello(ctx, args);
    }
    // In a cluster the message goes to every node over the bus (replicas
    // included), not down the replication stream.
    match ctx.state.cluster.as_mut() {
        Some(c) => {
            let actions = c.machine.publish(false, &args[1], &args[2]);
            crate::cluster::apply(ctx.state, actions);
            ctx.propagate_nothing();
        }
        None => ctx.propagate_to_replicas(args.to_vec()),
    }
    let n = ctx.publishing(|state| publish(state, &args[1], &args[2]));
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn pubsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"channels" => {
            if args.len() > 3 {
                return Err("ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.".into());
            }
            let pattern = args.get(2);
            let mut names: Vec<&Vec<u8>> = ctx
                .state
                .pubsub
                .channels
                .keys()
                .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
                .collect();
            names.sort();
            let names: Vec<Vec<u8>> = names.into_iter().cloned().collect();
            ctx.reply.array(names.len());
            for n in &names {
                ctx.reply.bulk(n);
            }
        }
        b"numsub" => {
            // A flat array even in RESP3, as Redis 7.0 sends it.
            ctx.reply.array(2 * (args.len() - 2));
            for ch in &args[2..] {
                let n = ctx
                    .state
                    .pubsub
                    .channels
                    .get(&ch[..])
                    .map_or(0, |v| v.len());
                ctx.reply.bulk(ch);
                ctx.reply.int(n as i64);
            }
        }
        b"numpat" => {
            let n = ctx.state.pubsub.patterns.len();
            ctx.reply.int(n as i64);
        }
        b"shardchannels" => {
            if args.len() > 3 {
                return Err("ERR unknown subcommand or wrong number of arguments for 'SHARDCHANNELS'. Try PUBSUB HELP.".into());
            }
            let pattern = args.get(2);
            let mut names: Vec<Vec<u8>> = ctx
                .state
                .pubsub
                .shard_channels
                .keys()
                .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
                .cloned()
                .collect();
            names.sort();
            ctx.reply.array(names.len());
            names.iter().for_each(|n| ctx.reply.bulk(n));
        }
        b"shardnumsub" => {
            ctx.reply.array(2 * (args.len() - 2));
            for ch in &args[2..] {
                let n = ctx
                    .state
                    .pubsub
                    .shard_channels
                    .get(&ch[..])
                    .map_or(0, |v| v.len());
                ctx.reply.bulk(ch);
                ctx.reply.int(n as i64);
            }
        }
        b"help" => {
            let lines = [
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
                "HELP",
                "    Prints this help.",
            ];
            ctx.reply.array(lines.len());
            for l in lines {
                ctx.reply.simple(l);
            }
        }
        _ => return Err(errors::unknown_subcommand(&args[1], "pubsub")),
    }
    Ok(())
}
