//! Sets: a sorted vector of integers while every member is an integer and
//! there are at most `set-max-intset-entries` of them (`intset` encoding),
//! otherwise a `ScanMap` (`hashtable` encoding), as in Redis 7.0.

use crate::scanmap::ScanMap;

#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    /// Sorted, no duplicates.
    IntSet(Vec<i64>),
    Table(ScanMap<()>),
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue::IntSet(Vec::new())
    }
}

impl SetValue {
    pub fn new() -> SetValue {
        SetValue::default()
    }

    pub fn len(&self) -> usize {
        match self {
            SetValue::IntSet(v) => v.len(),
            SetValue::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            SetValue::IntSet(_) => "intset",
            SetValue::Table(_) => "hashtable",
        }
    }

    /// The members as byte strings.
    pub fn members(&self) -> Vec<std::borrow::Cow<'_, [u8]>> {
        match self {
            SetValue::IntSet(v) => v
                .iter()
                .map(|n| std::borrow::Cow::Owned(n.to_string().into_bytes()))
                .collect(),
            SetValue::Table(t) => t
                .iter()
                .map(|(k, _)| std::borrow::Cow::Borrowed(k))
                .collect(),
        }
    }

    pub fn memory_bytes(&self) -> usize {
        use crate::value::alloc_size;
        match self {
            SetValue::IntSet(v) => alloc_size(v.capacity() * 8),
            SetValue::Table(t) => t.iter().map(|(k, _)| 32 + alloc_size(k.len())).sum(),
        }
    }
}
