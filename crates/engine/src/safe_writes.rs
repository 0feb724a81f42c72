//! Safe mode on a master (`safe-writes yes`, redust's own; see
//! docs/design/safe-mode.md): a write is acknowledged to its client only
//! once `min-replicas-to-write` replicas (at least one) have acknowledged
//! its offset, and only while the master holds a lease from its Sentinels.
//!
//! The reply of a write is held (the client waits as under WAIT, its reply
//! bytes kept aside) until enough replicas ACK; then it is released if the
//! lease holds, or answered `-NOREPLICAS` when `safe-write-timeout` passes
//! first. The lease: each Sentinel sends `LEASE <its id> <ms> <needed>
//! [<token>]`; the master answers with a new token and notes when it sent
//! it. A later LEASE carrying that token is that Sentinel's grant, valid for
//! `<ms>` from the moment the token was sent (measured on the monotonic
//! clock, so a delay on the way only shortens it). The lease holds while
//! valid grants come from at least as many Sentinels as the largest
//! `<needed>` among them (a majority of the Sentinels they know).

use crate::state::{Client, State};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The reply a write gets when its acknowledgements did not come in time,
/// or the master lost its lease (Redis's text for too few good replicas).
pub const NOT_ACKNOWLEDGED: &str = "NOREPLICAS Not enough good replicas to write.";

/// A `REPLCONF LEASE` argument: `<sentinel id>:<ms>:<needed>:<token>`,
/// token 0 for none. Anything else is refused (`None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRequest {
    pub sentinel: String,
    pub ms: u64,
    pub needed: usize,
    pub token: Option<u64>,
}

impl LeaseRequest {
    pub fn parse(arg: &[u8]) -> Option<LeaseRequest> {
        let text = std::str::from_utf8(arg).ok()?;
        let parts: Vec<&str> = text.split(':').collect();
        let [sentinel, ms, needed, token] = parts.as_slice() else {
            return None;
        };
        let token = token.parse::<u64>().ok()?;
        Some(LeaseRequest {
            sentinel: sentinel.to_string(),
            ms: ms.parse().ok()?,
            needed: needed.parse().ok()?,
            token: (token != 0).then_some(token),
        })
    }
}

/// The Sentinels' grants and the tokens handed out.
#[derive(Debug, Default)]
pub struct Lease {
    /// Per Sentinel id: the last token sent to it and when.
    tokens: HashMap<String, (u64, Instant)>,
    /// Per Sentinel id: until when its grant holds, and how many grants it
    /// says a lease needs.
    grants: HashMap<String, (Instant, usize)>,
    next_token: u64,
}

impl Lease {
    /// `LEASE <id> <ms> <needed> [<token>]`: records the grant `token`
    /// stands for (when it is the last one sent to that Sentinel) and
    /// returns the next token.
    pub fn request(
        &mut self,
        sentinel: &str,
        ms: u64,
        needed: usize,
        token: Option<u64>,
        now: Instant,
    ) -> u64 {
        if let (Some(t), Some(&(last, sent))) = (token, self.tokens.get(sentinel)) {
            if t == last {
                // A grant too long for the clock holds as long as it can.
                let until = sent
                    .checked_add(Duration::from_millis(ms))
                    .unwrap_or(sent + Duration::from_secs(u32::MAX.into()));
                self.grants
                    .insert(sentinel.to_string(), (until, needed.max(1)));
            }
        }
        self.next_token += 1;
        let token = self.next_token;
        self.tokens.insert(sentinel.to_string(), (token, now));
        token
    }

    /// Whether valid grants come from enough Sentinels now.
    pub fn holds(&self, now: Instant) -> bool {
        let valid: Vec<usize> = self
            .grants
            .values()
            .filter(|(until, _)| *until > now)
            .map(|(_, needed)| *needed)
            .collect();
        let needed = valid.iter().copied().max().unwrap_or(usize::MAX);
        !valid.is_empty() && valid.len() >= needed
    }
}

/// How many replicas must acknowledge a write in safe mode.
pub fn acks_needed(state: &State) -> usize {
    (state.config.min_replicas_to_write as usize).max(1)
}

/// Whether a write may be acknowledged now: enough replicas have `offset`
/// and (when leases are required) the lease holds.
pub fn may_acknowledge(state: &State, offset: u64, now: Instant) -> bool {
    state.repl.acked(offset) >= acks_needed(state)
        && (!state.config.safe_writes_lease || state.safe_lease.holds(now))
}

/// After a client's command advanced the replication offset: in safe mode
/// its reply (the bytes from `reply_start` on) is held until replicas
/// acknowledge it. Returns the deadline when the client now waits.
pub fn hold(
    state: &mut State,
    client: &mut Client,
    reply: &mut redust_resp::Reply,
    reply_start: usize,
) -> Option<Option<i64>> {
    if !state.config.safe_writes || client.repl.is_master || state.loading {
        return None;
    }
    let offset = client.write_offset;
    if may_acknowledge(state, offset, Instant::now()) {
        return None;
    }
    let held = reply.buf.split_off(reply_start.min(reply.buf.len()));
    let deadline = state.now_ms + state.config.safe_write_timeout as i64;
    state.blocking.blocked_clients += 1;
    client.blocked = Some(crate::blocking::BlockedOn {
        db: client.db,
        keys: Vec::new(),
        deadline_ms: Some(deadline),
        timeout_reply: crate::blocking::TimeoutReply::HeldReply { offset },
        args: Vec::new(),
        held,
    });
    state.repl.getack_pending = true;
    crate::replication::send_getack_if_pending(state);
    Some(Some(deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_counts_from_when_its_token_was_sent() {
        let mut lease = Lease::default();
        let t0 = Instant::now();
        let token = lease.request("a", 1000, 2, None, t0);
        assert!(!lease.holds(t0));
        // The grant for that token, given later: valid 1 s from the token's sending.
        lease.request("a", 1000, 2, Some(token), t0 + Duration::from_millis(300));
        // One grant of the two needed.
        assert!(!lease.holds(t0 + Duration::from_millis(400)));
        let tb = lease.request("b", 1000, 2, None, t0 + Duration::from_millis(100));
        lease.request("b", 1000, 2, Some(tb), t0 + Duration::from_millis(500));
        assert!(lease.holds(t0 + Duration::from_millis(600)));
        // a's grant ends 1 s after its token went out.
        assert!(!lease.holds(t0 + Duration::from_millis(1001)));
    }

    #[test]
    fn a_stale_token_grants_nothing() {
        let mut lease = Lease::default();
        let t0 = Instant::now();
        let first = lease.request("a", 1000, 1, None, t0);
        let _second = lease.request("a", 1000, 1, None, t0);
        lease.request("a", 1000, 1, Some(first), t0);
        assert!(!lease.holds(t0));
    }
}

#[cfg(test)]
mod lease_tests {
    use super::*;

    #[test]
    fn lease_arguments_parse_or_are_refused() {
        assert_eq!(
            LeaseRequest::parse(b"abc:5000:2:7"),
            Some(LeaseRequest {
                sentinel: "abc".into(),
                ms: 5000,
                needed: 2,
                token: Some(7),
            })
        );
        assert_eq!(LeaseRequest::parse(b"abc:5000:2:0").unwrap().token, None);
        for bad in [
            &b"abc:5000:2"[..],
            b"abc:x:2:0",
            b"a:1:2:3:4",
            b"a:-1:2:0",
            b"\xff:1:1:0",
            b"",
        ] {
            assert_eq!(LeaseRequest::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_grant_of_any_length_holds_without_overflow() {
        let mut lease = Lease::default();
        let now = Instant::now();
        let token = lease.request("s1", 0, 1, None, now);
        lease.request("s1", u64::MAX, 1, Some(token), now);
        assert!(lease.holds(now + Duration::from_secs(1)));
    }
}
