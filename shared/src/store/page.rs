//! Cursor pagination. A cursor is the table and index key of the last item returned,
//! base64url-encoded JSON: opaque to clients, and checked against the query it is used with.

use super::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Largest page a caller may ask for.
pub const MAX_LIMIT: u32 = 1000;
/// Page size when none is given.
pub const DEFAULT_LIMIT: u32 = 50;
/// Longest cursor accepted (keys are short; anything longer is not ours).
const MAX_CURSOR_LEN: usize = 2048;

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    limit: u32,
    cursor: Option<String>,
}

impl PageRequest {
    /// A page of `limit` items (1..=1000) after `cursor`.
    pub fn new(limit: Option<u32>, cursor: Option<String>) -> Result<Self, StoreError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(StoreError::InvalidLimit(limit));
        }
        let cursor = cursor.filter(|c| !c.is_empty());
        Ok(Self { limit, cursor })
    }

    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            limit: limit.clamp(1, MAX_LIMIT),
            cursor: None,
        }
    }

    /// Page size.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Cursor given by the previous page, if any.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(DEFAULT_LIMIT)
    }
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// Items, in query order.
    pub items: Vec<T>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Converts every item.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Encodes the key attributes of an item as a cursor.
pub(crate) fn encode_cursor(
    item: &HashMap<String, AttributeValue>,
    key_attributes: &[&str],
) -> Option<String> {
    let mut key = BTreeMap::new();
    for name in key_attributes {
        let AttributeValue::S(value) = item.get(*name)? else {
            return None;
        };
        key.insert((*name).to_string(), value.clone());
    }
    let json = serde_json::to_vec(&key).ok()?;
    Some(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a cursor into an exclusive start key, accepting only the attributes of this
/// query and only the partition it reads.
pub(crate) fn decode_cursor(
    cursor: &str,
    key_attributes: &[&str],
    partition_attribute: &str,
    partition_value: &str,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(StoreError::InvalidCursor("too long"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor("not base64url"))?;
    let key: BTreeMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor("not a key"))?;
    if key.len() != key_attributes.len() || !key_attributes.iter().all(|a| key.contains_key(*a)) {
        return Err(StoreError::InvalidCursor("belongs to another list"));
    }
    if key.get(partition_attribute).map(String::as_str) != Some(partition_value) {
        return Err(StoreError::InvalidCursor("belongs to another list"));
    }
    Ok(key
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> HashMap<String, AttributeValue> {
        [("PK", "A#1"), ("SK", "F#x"), ("other", "y")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    #[test]
    fn cursor_round_trips() {
        let cursor = encode_cursor(&item(), &["PK", "SK"]).unwrap();
        let key = decode_cursor(&cursor, &["PK", "SK"], "PK", "A#1").unwrap();
        assert_eq!(key.len(), 2);
        assert_eq!(key["SK"], AttributeValue::S("F#x".into()));
    }

    #[test]
    fn cursor_for_another_partition_or_index_is_refused() {
        let cursor = encode_cursor(&item(), &["PK", "SK"]).unwrap();
        assert!(decode_cursor(&cursor, &["PK", "SK"], "PK", "A#2").is_err());
        assert!(decode_cursor(&cursor, &["PK", "SK", "GSI1PK"], "PK", "A#1").is_err());
        for garbage in ["%%%", "aGVsbG8", &"A".repeat(5000)] {
            assert!(decode_cursor(garbage, &["PK", "SK"], "PK", "A#1").is_err());
        }
    }

    #[test]
    fn limits_are_checked() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(1001), None).is_err());
        assert_eq!(
            PageRequest::new(None, Some(String::new())).unwrap(),
            PageRequest::default()
        );
    }
}
