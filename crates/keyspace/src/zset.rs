//! Sorted sets: a `Listpack` of member/score pairs ordered by (score, member)
//! while small (`listpack` encoding), a skiplist-like ordered index plus a
//! member table past `zset-max-listpack-entries` / `zset-max-listpack-value`
//! (`skiplist` encoding), as in Redis.

use crate::listpack::Listpack;

#[derive(Clone, Debug, PartialEq)]
pub enum ZSetValue {
    /// member1 score1 member2 score2 ..., ordered by (score, member); scores
    /// are stored as 8 little-endian bytes of the f64.
    Listpack(Listpack),
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue::Listpack(Listpack::new())
    }
}

impl ZSetValue {
    pub fn new() -> ZSetValue {
        ZSetValue::default()
    }

    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp.len() / 2,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            ZSetValue::Listpack(_) => "listpack",
        }
    }

    /// (member, score) in order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match self {
            ZSetValue::Listpack(lp) => {
                let mut it = lp.iter();
                Box::new(std::iter::from_fn(move || {
                    let m = it.next()?;
                    let s = it.next()?;
                    Some((m, f64::from_le_bytes(s.try_into().unwrap_or([0; 8]))))
                }))
            }
        }
    }

    pub fn memory_bytes(&self) -> usize {
        match self {
            ZSetValue::Listpack(lp) => crate::value::alloc_size(lp.capacity_bytes()),
        }
    }
}
