//! The cluster bus message codec, byte for byte as Redis 7.0 writes and
//! reads it (`docs/design/cluster-bus.md`): a 2256-byte header (signature
//! `RCmb`, lengths, epochs, the sender's id, slots, master, address, ports,
//! flags) and a body per type (gossip entries and ping extensions, FAIL,
//! PUBLISH, UPDATE, MODULE). Framing tells when a message is whole or the
//! link must close; decoding tells a valid message from one to drop, with
//! Redis's warning. Every input is untrusted: nothing here panics.

use crate::slot::{SlotBitmap, SLOTS};

pub const HEADER_LEN: usize = 2256;
pub const GOSSIP_LEN: usize = 104;
pub const NODE_ID_LEN: usize = 40;
/// `NET_IP_STR_LEN`: the IP fields, NUL-padded.
pub const IP_LEN: usize = 46;
/// The largest message we accept (Redis 7.0 has no limit; a peer's PUBLISH
/// of a large message is the biggest legitimate one).
pub const MAX_MESSAGE_LEN: usize = 512 * 1024 * 1024;

/// The protocol version in every header.
const VERSION: u16 = 1;
/// `mflags[0]` bits.
pub const MFLAG_PAUSED: u8 = 0x01;
pub const MFLAG_FORCEACK: u8 = 0x02;
pub const MFLAG_EXT_DATA: u8 = 0x04;
/// The hostname ping extension (the only one Redis 7.0 has).
const EXT_HOSTNAME: u16 = 0;

/// A node id: 40 characters.
pub type NodeId = [u8; NODE_ID_LEN];

/// Message types.
pub mod kind {
    pub const PING: u16 = 0;
    pub const PONG: u16 = 1;
    pub const MEET: u16 = 2;
    pub const FAIL: u16 = 3;
    pub const PUBLISH: u16 = 4;
    pub const FAILOVER_AUTH_REQUEST: u16 = 5;
    pub const FAILOVER_AUTH_ACK: u16 = 6;
    pub const UPDATE: u16 = 7;
    pub const MFSTART: u16 = 8;
    pub const MODULE: u16 = 9;
    pub const PUBLISHSHARD: u16 = 10;

    /// The name CLUSTER INFO's `cluster_stats_messages_<name>_sent` uses.
    pub fn name(t: u16) -> &'static str {
        match t {
            PING => "ping",
            PONG => "pong",
            MEET => "meet",
            FAIL => "fail",
            PUBLISH => "publish",
            FAILOVER_AUTH_REQUEST => "auth-req",
            FAILOVER_AUTH_ACK => "auth-ack",
            UPDATE => "update",
            MFSTART => "mfstart",
            MODULE => "module",
            PUBLISHSHARD => "publishshard",
            _ => "unknown",
        }
    }
}

/// The header every message starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: u16,
    /// The sender's announced client port.
    pub port: u16,
    pub current_epoch: u64,
    /// The sender's configEpoch, or its master's for a replica.
    pub config_epoch: u64,
    /// Replication offset.
    pub offset: u64,
    pub sender: NodeId,
    /// The slots of the sender (of its master, for a replica).
    pub slots: SlotBitmap,
    /// The sender's master, for a replica.
    pub replica_of: Option<NodeId>,
    /// `cluster-announce-ip`, empty when not set (the peer's address then).
    pub ip: Vec<u8>,
    /// The plaintext port under TLS, else 0.
    pub pport: u16,
    pub cport: u16,
    /// The sender's own node flags (MYSELF included, as Redis sends them).
    pub flags: u16,
    /// The cluster state as the sender sees it: 0 ok, 1 fail.
    pub state: u8,
    /// `mflags[0]`.
    pub mflags: u8,
}

/// One gossip entry: what the sender knows of another node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gossip {
    pub node: NodeId,
    /// Seconds.
    pub ping_sent: u32,
    /// Seconds.
    pub pong_received: u32,
    pub ip: Vec<u8>,
    pub port: u16,
    pub cport: u16,
    pub flags: u16,
    pub pport: u16,
}

impl Default for Header {
    fn default() -> Header {
        Header {
            kind: 0,
            port: 0,
            current_epoch: 0,
            config_epoch: 0,
            offset: 0,
            sender: [0; NODE_ID_LEN],
            slots: SlotBitmap::default(),
            replica_of: None,
            ip: Vec::new(),
            pport: 0,
            cport: 0,
            flags: 0,
            state: 0,
            mflags: 0,
        }
    }
}

impl Default for Gossip {
    fn default() -> Gossip {
        Gossip {
            node: [0; NODE_ID_LEN],
            ping_sent: 0,
            pong_received: 0,
            ip: Vec::new(),
            port: 0,
            cport: 0,
            flags: 0,
            pport: 0,
        }
    }
}

/// The body of a message, by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// PING, PONG and MEET.
    Ping {
        gossip: Vec<Gossip>,
        /// The hostname extension (without its NUL).
        hostname: Option<Vec<u8>>,
        /// Extension types we do not know (Redis logs each).
        unknown_extensions: Vec<u16>,
    },
    Fail {
        node: NodeId,
    },
    /// PUBLISH and PUBLISHSHARD.
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    Update {
        config_epoch: u64,
        node: NodeId,
        slots: SlotBitmap,
    },
    Module {
        /// Host order on the wire (little-endian here), as Redis writes it.
        module_id: u64,
        kind: u8,
        payload: Vec<u8>,
    },
    /// FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART, and types we do
    /// not know.
    Empty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

/// What the bytes read so far on a link hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// Not a whole message yet.
    Incomplete,
    /// A whole message of this many bytes is at the front.
    Whole(usize),
    /// Not the bus protocol, or too short or long a length: close the link
    /// (Redis: `Bad message length or signature received from Cluster bus.`).
    Close,
}

/// Where the next message ends in `buf`.
pub fn frame(buf: &[u8]) -> Framing {
    if buf.len() < 8 {
        return Framing::Incomplete;
    }
    if &buf[..4] != b"RCmb" {
        return Framing::Close;
    }
    let len = be32(&buf[4..8]) as usize;
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&len) {
        return Framing::Close;
    }
    if buf.len() < len {
        Framing::Incomplete
    } else {
        Framing::Whole(len)
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

fn node_id(b: &[u8]) -> NodeId {
    let mut id = [0u8; NODE_ID_LEN];
    id.copy_from_slice(&b[..NODE_ID_LEN]);
    id
}

/// A NUL-padded string field.
fn c_string(b: &[u8]) -> Vec<u8> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b[..end].to_vec()
}

fn slots(b: &[u8]) -> SlotBitmap {
    let mut bitmap = SlotBitmap::default();
    bitmap.0.copy_from_slice(&b[..SLOTS / 8]);
    bitmap
}

/// Why a whole message is dropped (the link stays): Redis's warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

fn invalid_length(kind: u16, len: usize, expected: usize) -> Invalid {
    Invalid(format!(
        "Received invalid {} packet of length {len} but expected length {expected}",
        kind::name(kind)
    ))
}

/// Decodes one whole message (as [`frame`] found it). `Err` when Redis
/// would drop it; `Ok(None)` for a message Redis ignores silently (another
/// protocol version).
pub fn decode(msg: &[u8]) -> Result<Option<Message>, Invalid> {
    if msg.len() < HEADER_LEN || be32(&msg[4..8]) as usize != msg.len() {
        return Err(Invalid("Bad message length".into()));
    }
    if be16(&msg[8..10]) != VERSION {
        return Ok(None);
    }
    let slaveof = &msg[2128..2168];
    let header = Header {
        kind: be16(&msg[12..14]),
        port: be16(&msg[10..12]),
        current_epoch: be64(&msg[16..24]),
        config_epoch: be64(&msg[24..32]),
        offset: be64(&msg[32..40]),
        sender: node_id(&msg[40..80]),
        slots: slots(&msg[80..2128]),
        replica_of: (slaveof.iter().any(|&b| b != 0)).then(|| node_id(slaveof)),
        ip: c_string(&msg[2168..2214]),
        pport: be16(&msg[2246..2248]),
        cport: be16(&msg[2248..2250]),
        flags: be16(&msg[2250..2252]),
        state: msg[2252],
        mflags: msg[2253],
    };
    let count = be16(&msg[14..16]) as usize;
    let extensions = be16(&msg[2214..2216]) as usize;
    let len = msg.len();
    let data = &msg[HEADER_LEN..];
    let kind = header.kind;
    let exact = |expected: usize| {
        if len == expected {
            Ok(())
        } else {
            Err(invalid_length(kind, len, expected))
        }
    };
    let body = match kind {
        kind::PING | kind::PONG | kind::MEET => {
            let gossip_end = HEADER_LEN + count * GOSSIP_LEN;
            if len < gossip_end {
                return Err(Invalid(format!(
                    "Received invalid {} packet with gossip count {count} that exceeds total packet length ({len})",
                    kind::name(kind)
                )));
            }
            let gossip = (0..count)
                .map(|i| {
                    let g = &msg[HEADER_LEN + i * GOSSIP_LEN..HEADER_LEN + (i + 1) * GOSSIP_LEN];
                    Gossip {
                        node: node_id(&g[0..40]),
                        ping_sent: be32(&g[40..44]),
                        pong_received: be32(&g[44..48]),
                        ip: c_string(&g[48..94]),
                        port: be16(&g[94..96]),
                        cport: be16(&g[96..98]),
                        flags: be16(&g[98..100]),
                        pport: be16(&g[100..102]),
                    }
                })
                .collect();
            let mut at = gossip_end;
            let mut hostname = None;
            let mut unknown_extensions = Vec::new();
            if header.mflags & MFLAG_EXT_DATA != 0 {
                for _ in 0..extensions {
                    if len - at < 8 {
                        return Err(invalid_length(kind, len, at + 8));
                    }
                    let ext_len = be32(&msg[at..at + 4]) as usize;
                    let ext_kind = be16(&msg[at + 4..at + 6]);
                    if ext_len < 8 || !ext_len.is_multiple_of(8) {
                        return Err(Invalid(format!(
                            "Received a {} packet without proper padding ({ext_len} bytes)",
                            kind::name(kind)
                        )));
                    }
                    if ext_len > len - at {
                        return Err(invalid_length(kind, len, at + ext_len));
                    }
                    let ext = &msg[at + 8..at + ext_len];
                    if ext_kind == EXT_HOSTNAME {
                        if ext.last() != Some(&0) {
                            return Err(Invalid(format!(
                                "Received {} packet with missing null terminator in extension type 0",
                                kind::name(kind)
                            )));
                        }
                        hostname = Some(c_string(ext));
                    } else {
                        unknown_extensions.push(ext_kind);
                    }
                    at += ext_len;
                }
            } else if extensions > 0 {
                // Redis would walk them anyway; a well-behaved sender never
                // sends extensions without the flag.
                return Err(invalid_length(kind, len, at));
            }
            exact(at)?;
            Body::Ping {
                gossip,
                hostname,
                unknown_extensions,
            }
        }
        kind::FAIL => {
            exact(HEADER_LEN + NODE_ID_LEN)?;
            Body::Fail {
                node: node_id(data),
            }
        }
        kind::PUBLISH | kind::PUBLISHSHARD => {
            if len < HEADER_LEN + 8 {
                return Err(invalid_length(kind, len, HEADER_LEN + 8));
            }
            let channel_len = be32(&data[0..4]) as usize;
            let message_len = be32(&data[4..8]) as usize;
            exact(
                (HEADER_LEN + 8)
                    .saturating_add(channel_len)
                    .saturating_add(message_len),
            )?;
            Body::Publish {
                channel: data[8..8 + channel_len].to_vec(),
                message: data[8 + channel_len..].to_vec(),
            }
        }
        kind::FAILOVER_AUTH_REQUEST | kind::FAILOVER_AUTH_ACK | kind::MFSTART => {
            exact(HEADER_LEN)?;
            Body::Empty
        }
        kind::UPDATE => {
            exact(HEADER_LEN + 8 + NODE_ID_LEN + SLOTS / 8)?;
            Body::Update {
                config_epoch: be64(&data[0..8]),
                node: node_id(&data[8..48]),
                slots: slots(&data[48..]),
            }
        }
        kind::MODULE => {
            if len < HEADER_LEN + 13 {
                return Err(invalid_length(kind, len, HEADER_LEN + 13));
            }
            let payload_len = be32(&data[8..12]) as usize;
            exact((HEADER_LEN + 13).saturating_add(payload_len))?;
            let mut id = [0u8; 8];
            id.copy_from_slice(&data[0..8]);
            Body::Module {
                module_id: u64::from_le_bytes(id),
                kind: data[12],
                payload: data[13..].to_vec(),
            }
        }
        _ => Body::Empty,
    };
    Ok(Some(Message { header, body }))
}

fn put_ip(out: &mut Vec<u8>, ip: &[u8]) {
    let n = ip.len().min(IP_LEN - 1);
    out.extend_from_slice(&ip[..n]);
    out.resize(out.len() + IP_LEN - n, 0);
}

/// Encodes a message as Redis writes it (lengths, counts and the
/// extension flag follow from the body).
pub fn encode(m: &Message) -> Vec<u8> {
    let h = &m.header;
    let mut out = Vec::with_capacity(HEADER_LEN + 256);
    out.extend_from_slice(b"RCmb");
    out.extend_from_slice(&[0; 4]); // totlen, below
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&h.port.to_be_bytes());
    out.extend_from_slice(&h.kind.to_be_bytes());
    let count = match &m.body {
        Body::Ping { gossip, .. } => gossip.len().min(u16::MAX as usize) as u16,
        _ => 0,
    };
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&h.current_epoch.to_be_bytes());
    out.extend_from_slice(&h.config_epoch.to_be_bytes());
    out.extend_from_slice(&h.offset.to_be_bytes());
    out.extend_from_slice(&h.sender);
    out.extend_from_slice(&h.slots.0[..]);
    out.extend_from_slice(h.replica_of.as_ref().unwrap_or(&[0; NODE_ID_LEN]));
    put_ip(&mut out, &h.ip);
    let hostname = match &m.body {
        Body::Ping { hostname, .. } => hostname.as_ref().filter(|n| !n.is_empty()),
        _ => None,
    };
    let extensions: u16 = hostname.is_some().into();
    out.extend_from_slice(&extensions.to_be_bytes());
    out.extend_from_slice(&[0; 30]);
    out.extend_from_slice(&h.pport.to_be_bytes());
    out.extend_from_slice(&h.cport.to_be_bytes());
    out.extend_from_slice(&h.flags.to_be_bytes());
    out.push(h.state);
    let mflags = if hostname.is_some() {
        h.mflags | MFLAG_EXT_DATA
    } else {
        h.mflags & !MFLAG_EXT_DATA
    };
    out.extend_from_slice(&[mflags, 0, 0]);
    debug_assert_eq!(out.len(), HEADER_LEN);
    match &m.body {
        Body::Ping { gossip, .. } => {
            for g in gossip.iter().take(count as usize) {
                out.extend_from_slice(&g.node);
                out.extend_from_slice(&g.ping_sent.to_be_bytes());
                out.extend_from_slice(&g.pong_received.to_be_bytes());
                put_ip(&mut out, &g.ip);
                out.extend_from_slice(&g.port.to_be_bytes());
                out.extend_from_slice(&g.cport.to_be_bytes());
                out.extend_from_slice(&g.flags.to_be_bytes());
                out.extend_from_slice(&g.pport.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            if let Some(name) = hostname {
                // Name, NUL, zero padding to a multiple of 8.
                let name = &name[..name.len().min(255)];
                let padded = (name.len() + 1).div_ceil(8) * 8;
                out.extend_from_slice(&((8 + padded) as u32).to_be_bytes());
                out.extend_from_slice(&EXT_HOSTNAME.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(name);
                out.resize(out.len() + padded - name.len(), 0);
            }
        }
        Body::Fail { node } => out.extend_from_slice(node),
        Body::Publish { channel, message } => {
            out.extend_from_slice(&(channel.len() as u32).to_be_bytes());
            out.extend_from_slice(&(message.len() as u32).to_be_bytes());
            out.extend_from_slice(channel);
            out.extend_from_slice(message);
        }
        Body::Update {
            config_epoch,
            node,
            slots,
        } => {
            out.extend_from_slice(&config_epoch.to_be_bytes());
            out.extend_from_slice(node);
            out.extend_from_slice(&slots.0[..]);
        }
        Body::Module {
            module_id,
            kind,
            payload,
        } => {
            out.extend_from_slice(&module_id.to_le_bytes());
            out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            out.push(*kind);
            out.extend_from_slice(payload);
        }
        Body::Empty => {}
    }
    let total = out.len() as u32;
    out[4..8].copy_from_slice(&total.to_be_bytes());
    out
}
