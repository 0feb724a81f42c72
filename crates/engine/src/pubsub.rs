//! Pub/sub delivery: the subscription registry's upkeep and PUBLISH's
//! fan-out to subscribers by channel and by pattern (also what keyspace
//! notifications publish through), each message encoded once per protocol
//! version, with the `pubsub` output-buffer limit enforced as it goes. The
//! SUBSCRIBE/PUBLISH/PUBSUB commands are in `cmd::pubsub`.

use crate::state::{Client, State};
use bytes::Bytes;
use redust_config::glob_match;
use redust_resp::Reply;

/// Takes client `id` off the subscribers of `name` in `map`.
pub fn remove_subscriber(
    map: &mut std::collections::HashMap<Vec<u8>, Vec<u64>>,
    name: &[u8],
    id: u64,
) {
    if let Some(ids) = map.get_mut(name) {
        ids.retain(|&x| x != id);
        if ids.is_empty() {
            map.remove(name);
        }
    }
}

/// Drops every subscription of `client` without replying (disconnect, RESET).
pub fn unsubscribe_all(state: &mut State, client: &mut Client) {
    for ch in client.channels.drain() {
        remove_subscriber(&mut state.pubsub.channels, &ch, client.id);
    }
    for p in client.patterns.drain() {
        remove_subscriber(&mut state.pubsub.patterns, &p, client.id);
    }
    for ch in client.shard_channels.drain() {
        remove_subscriber(&mut state.pubsub.shard_channels, &ch, client.id);
    }
}

/// A (un)subscription confirmation, or the push that ends a subscription:
/// `[kind, name, count]` (a null name when there was nothing to leave).
pub fn subscription_reply(reply: &mut Reply, kind: &str, name: Option<&[u8]>, count: usize) {
    reply.push(3);
    reply.bulk(kind.as_bytes());
    match name {
        Some(n) => reply.bulk(n),
        None => reply.null(),
    }
    reply.int(count as i64);
}

/// Drops every shard-channel subscription whose channel hashes to a slot
/// `gone` names (the slot left this node's shard), telling each subscriber
/// with a `sunsubscribe` push, as Redis does so clients subscribe again
/// where the slot went. A client in the middle of a command is not in the
/// registry and keeps its subscription.
pub fn unsubscribe_shard_slots(state: &mut State, gone: impl Fn(u16) -> bool) {
    let channels: Vec<Vec<u8>> = state
        .pubsub
        .shard_channels
        .keys()
        .filter(|ch| gone(redust_cluster::key_slot(ch)))
        .cloned()
        .collect();
    for ch in channels {
        let Some(ids) = state.pubsub.shard_channels.remove(&ch) else {
            continue;
        };
        let mut kept = Vec::new();
        for id in ids {
            let Some(client) = state.clients.get_mut(&id) else {
                kept.push(id);
                continue;
            };
            client.shard_channels.remove(&ch);
            let count = client.shard_channels.len();
            if let Some((h, resp3)) = state.clients.handles.get(&id) {
                let mut r = Reply::new(*resp3);
                subscription_reply(&mut r, "sunsubscribe", Some(&ch), count);
                h.send_data(Bytes::from(r.buf));
            }
        }
        if !kept.is_empty() {
            state.pubsub.shard_channels.insert(ch, kept);
        }
    }
}

/// Delivers an SPUBLISH to the subscribers of a shard channel (`smessage`).
/// Returns the number of receivers.
pub fn publish_shard(state: &mut State, channel: &[u8], message: &[u8]) -> usize {
    let mut cached: [Option<Bytes>; 2] = [None, None];
    let me = state.pubsub.self_push.as_ref().map(|(id, _)| *id);
    let mut mine: Vec<Bytes> = Vec::new();
    let mut receivers = 0;
    if let Some(ids) = state.pubsub.shard_channels.get(channel) {
        for id in ids {
            if let Some((h, resp3)) = state.clients.handles.get(id) {
                let frame = cached[*resp3 as usize].get_or_insert_with(|| {
                    let mut r = Reply::new(*resp3);
                    r.push(3);
                    r.bulk(b"smessage");
                    r.bulk(channel);
                    r.bulk(message);
                    Bytes::from(r.buf)
                });
                if Some(*id) == me {
                    mine.push(frame.clone());
                } else {
                    h.send_data(frame.clone());
                }
                receivers += 1;
            }
        }
    }
    if let Some((_, buf)) = state.pubsub.self_push.as_mut() {
        buf.extend(mine);
    }
    receivers
}

fn encode_message(resp3: bool, pattern: Option<&[u8]>, channel: &[u8], message: &[u8]) -> Bytes {
    let mut r = Reply::new(resp3);
    match pattern {
        Some(p) => {
            r.push(4);
            r.bulk(b"pmessage");
            r.bulk(p);
        }
        None => {
            r.push(3);
            r.bulk(b"message");
        }
    }
    r.bulk(channel);
    r.bulk(message);
    Bytes::from(r.buf)
}

/// Delivers `message` to everyone subscribed to `channel` directly or by
/// pattern. Returns the number of receivers.
pub fn publish(state: &mut State, channel: &[u8], message: &[u8]) -> usize {
    let mut receivers = 0;
    let mut cached: [Option<Bytes>; 2] = [None, None];
    let me = state.pubsub.self_push.as_ref().map(|(id, _)| *id);
    let mut mine: Vec<Bytes> = Vec::new();
    if let Some(ids) = state.pubsub.channels.get(channel) {
        for id in ids {
            if let Some((h, resp3)) = state.clients.handles.get(id) {
                let frame = cached[*resp3 as usize]
                    .get_or_insert_with(|| encode_message(*resp3, None, channel, message));
                if Some(*id) == me {
                    mine.push(frame.clone());
                } else {
                    h.send_data(frame.clone());
                }
                receivers += 1;
            }
        }
    }
    if !state.pubsub.patterns.is_empty() {
        for (pattern, ids) in state.pubsub.patterns.iter() {
            if !glob_match(pattern, channel, false) {
                continue;
            }
            let mut frames: [Option<Bytes>; 2] = [None, None];
            for id in ids {
                if let Some((h, resp3)) = state.clients.handles.get(id) {
                    let frame = frames[*resp3 as usize].get_or_insert_with(|| {
                        encode_message(*resp3, Some(pattern), channel, message)
                    });
                    if Some(*id) == me {
                        mine.push(frame.clone());
                    } else {
                        h.send_data(frame.clone());
                    }
                    receivers += 1;
                }
            }
        }
    }
    if let Some((_, buf)) = state.pubsub.self_push.as_mut() {
        buf.extend(mine);
    }
    enforce_pubsub_limits(state, channel);
    receivers
}

/// Closes subscribers of `channel` now over their output-buffer limit.
fn enforce_pubsub_limits(state: &mut State, channel: &[u8]) {
    let limit = state.config.client_output_buffer_limit.pubsub;
    if limit.hard == 0 && limit.soft == 0 {
        return;
    }
    let mut ids: Vec<u64> = state
        .pubsub
        .channels
        .get(channel)
        .map(|c| c.to_vec())
        .unwrap_or_default();
    for subscribers in state.pubsub.patterns.values() {
        ids.extend(subscribers.iter().copied());
    }
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        if let Some(client) = state.clients.get(&id) {
            crate::obuf::enforce(state, client, crate::obuf::Close::Asap);
        }
    }
}
