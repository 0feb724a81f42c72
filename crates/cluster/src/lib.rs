//! Redis Cluster without I/O: hash slots (`slot`), the bus message codec
//! byte-compatible with Redis 7.0 (`bus`), and the nodes of a cluster with
//! their flags and `nodes.conf` lines (`nodes`), and one node's state
//! machine (`state`: handshake, gossip, slots, epochs, failure detection;
//! `failover`: elections and manual failover; `migration`: replicas
//! moving to orphaned masters). The server's shell moves
//! the bytes; everything that decides lives here.

pub mod bus;
pub mod failover;
pub mod migration;
pub mod nodes;
pub mod slot;
pub mod state;

pub use slot::{key_slot, SlotBitmap, SLOTS};
