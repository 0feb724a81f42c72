//! The bus codec against the sizes and bytes Redis 7.0.15 puts on the wire
//! (docs/design/cluster-bus.md), and round trips of any message.

use proptest::prelude::*;
use redust_cluster::bus::{self, kind, Body, Framing, Gossip, Header, Message, HEADER_LEN};
use redust_cluster::SlotBitmap;

fn id(c: u8) -> [u8; 40] {
    [c; 40]
}

fn ping(kind: u16, gossip: usize, hostname: Option<&str>) -> Message {
    Message {
        header: Header {
            kind,
            port: 7101,
            cport: 17101,
            flags: 0x11,
            state: 1,
            sender: id(b'a'),
            ..Header::default()
        },
        body: Body::Ping {
            gossip: (0..gossip)
                .map(|i| Gossip {
                    node: id(b'b' + i as u8),
                    ip: b"127.0.0.1".to_vec(),
                    port: 7102,
                    cport: 17102,
                    flags: 1,
                    ..Gossip::default()
                })
                .collect(),
            hostname: hostname.map(|h| h.as_bytes().to_vec()),
            unknown_extensions: vec![],
        },
    }
}

#[test]
fn sizes_as_on_the_wire() {
    assert_eq!(bus::encode(&ping(kind::PING, 0, None)).len(), 2256);
    assert_eq!(
        bus::encode(&ping(kind::MEET, 0, Some("host-a.example"))).len(),
        2280
    );
    assert_eq!(bus::encode(&ping(kind::PING, 1, None)).len(), 2360);
    assert_eq!(
        bus::encode(&ping(kind::PING, 3, Some("host-a.example"))).len(),
        2592
    );
    let publish = Message {
        header: Header {
            kind: kind::PUBLISH,
            ..Header::default()
        },
        body: Body::Publish {
            channel: b"chan-a".to_vec(),
            message: b"hello-world".to_vec(),
        },
    };
    assert_eq!(bus::encode(&publish).len(), 2281);
    let update = Message {
        header: Header {
            kind: kind::UPDATE,
            ..Header::default()
        },
        body: Body::Update {
            config_epoch: 3,
            node: id(b'c'),
            slots: SlotBitmap::default(),
        },
    };
    assert_eq!(bus::encode(&update).len(), 4352);
    let fail = Message {
        header: Header {
            kind: kind::FAIL,
            ..Header::default()
        },
        body: Body::Fail { node: id(b'd') },
    };
    assert_eq!(bus::encode(&fail).len(), 2296);
}

#[test]
fn a_meet_with_a_hostname_byte_for_byte() {
    let bytes = bus::encode(&ping(kind::MEET, 0, Some("host-a.example")));
    assert_eq!(
        &bytes[..16],
        &[0x52, 0x43, 0x6d, 0x62, 0, 0, 0x08, 0xe8, 0, 1, 0x1b, 0xbd, 0, 2, 0, 0]
    );
    assert_eq!(&bytes[2214..2216], &[0, 1]);
    assert!(bytes[2216..2246].iter().all(|&b| b == 0));
    assert_eq!(&bytes[2246..2256], &[0, 0, 0x42, 0xcd, 0, 0x11, 1, 4, 0, 0]);
    // The extension: length 24, type 0, the name, NUL, padding.
    assert_eq!(&bytes[2256..2264], &[0, 0, 0, 0x18, 0, 0, 0, 0]);
    assert_eq!(&bytes[2264..2280], b"host-a.example\0\0");
}

#[test]
fn framing_and_bad_packets() {
    let bytes = bus::encode(&ping(kind::PING, 2, None));
    assert_eq!(bus::frame(&bytes[..7]), Framing::Incomplete);
    assert_eq!(bus::frame(&bytes[..100]), Framing::Incomplete);
    assert_eq!(bus::frame(&bytes), Framing::Whole(bytes.len()));
    assert_eq!(bus::frame(b"RCmx\0\0\x08\xd0"), Framing::Close);
    assert_eq!(bus::frame(b"RCmb\0\0\0\x64"), Framing::Close);
    // A gossip count that does not fit: dropped with Redis's warning.
    let mut bad = bus::encode(&ping(kind::PING, 0, None));
    bad[15] = 1;
    assert_eq!(
        bus::decode(&bad).unwrap_err().0,
        "Received invalid ping packet with gossip count 1 that exceeds total packet length (2256)"
    );
    // Trailing bytes.
    let mut long = bus::encode(&ping(kind::PING, 0, None));
    long.extend_from_slice(&[0; 8]);
    let n = long.len() as u32;
    long[4..8].copy_from_slice(&n.to_be_bytes());
    assert_eq!(
        bus::decode(&long).unwrap_err().0,
        "Received invalid ping packet of length 2264 but expected length 2256"
    );
    // Another version is ignored.
    let mut v2 = bus::encode(&ping(kind::PING, 0, None));
    v2[9] = 2;
    assert_eq!(bus::decode(&v2), Ok(None));
    assert!(bus::decode(&bytes[..HEADER_LEN]).is_err());
}

fn arb_id() -> impl Strategy<Value = [u8; 40]> {
    prop::array::uniform32(b'a'..=b'f').prop_map(|a| {
        let mut id = [b'0'; 40];
        id[..32].copy_from_slice(&a);
        id
    })
}

fn arb_message() -> impl Strategy<Value = Message> {
    let header = (
        0u16..11,
        any::<u16>(),
        any::<u64>(),
        any::<u64>(),
        arb_id(),
        prop::option::of(arb_id()),
        "[0-9.]{0,45}",
        any::<u16>(),
        any::<u8>(),
        prop::collection::vec(0usize..16384, 0..20),
    )
        .prop_map(
            |(
                kind,
                port,
                current_epoch,
                config_epoch,
                sender,
                replica_of,
                ip,
                flags,
                mflags,
                slots,
            )| {
                let mut bitmap = SlotBitmap::default();
                slots.into_iter().for_each(|s| bitmap.set(s, true));
                Header {
                    kind,
                    port,
                    current_epoch,
                    config_epoch,
                    offset: current_epoch ^ config_epoch,
                    sender,
                    slots: bitmap,
                    replica_of,
                    ip: ip.into_bytes(),
                    pport: 0,
                    cport: port.wrapping_add(10000),
                    flags,
                    state: (mflags & 1),
                    mflags: mflags & (bus::MFLAG_PAUSED | bus::MFLAG_FORCEACK),
                }
            },
        );
    (
        header,
        prop::collection::vec((arb_id(), any::<u32>(), "[0-9.]{0,45}", any::<u16>()), 0..5),
        prop::option::of("[a-z.-]{1,40}"),
        prop::collection::vec(any::<u8>(), 0..64),
        arb_id(),
        any::<u64>(),
    )
        .prop_map(|(header, gossip, hostname, bytes, node, n)| {
            let body = match header.kind {
                kind::PING | kind::PONG | kind::MEET => Body::Ping {
                    gossip: gossip
                        .into_iter()
                        .map(|(node, t, ip, port)| Gossip {
                            node,
                            ping_sent: t,
                            pong_received: t / 2,
                            ip: ip.into_bytes(),
                            port,
                            cport: port,
                            flags: port >> 6,
                            pport: 0,
                        })
                        .collect(),
                    hostname: hostname.map(String::into_bytes),
                    unknown_extensions: vec![],
                },
                kind::FAIL => Body::Fail { node },
                kind::PUBLISH | kind::PUBLISHSHARD => {
                    let cut = bytes.len() / 3;
                    Body::Publish {
                        channel: bytes[..cut].to_vec(),
                        message: bytes[cut..].to_vec(),
                    }
                }
                kind::UPDATE => Body::Update {
                    config_epoch: n,
                    node,
                    slots: header.slots.clone(),
                },
                kind::MODULE => Body::Module {
                    module_id: n,
                    kind: bytes.len() as u8,
                    payload: bytes,
                },
                _ => Body::Empty,
            };
            Message { header, body }
        })
}

proptest! {
    #[test]
    fn messages_round_trip(m in arb_message()) {
        let bytes = bus::encode(&m);
        prop_assert_eq!(bus::frame(&bytes), Framing::Whole(bytes.len()));
        let mut back = bus::decode(&bytes).unwrap().unwrap();
        // The extension flag follows the body.
        back.header.mflags &= !bus::MFLAG_EXT_DATA;
        prop_assert_eq!(back, m);
    }

    #[test]
    fn any_bytes_never_panic(mut data in prop::collection::vec(any::<u8>(), 0..3000), len in 2256u32..3000) {
        if data.len() >= 8 {
            data[..4].copy_from_slice(b"RCmb");
            data[4..8].copy_from_slice(&len.to_be_bytes());
        }
        if let Framing::Whole(n) = bus::frame(&data) {
            let _ = bus::decode(&data[..n]);
        }
    }
}
