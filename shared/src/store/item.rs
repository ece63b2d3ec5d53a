//! How a domain value becomes a DynamoDB item and back.

use super::keys::{ENTITY_TYPE, IndexKey, Key, PK, SK};
use super::{StoreError, StoreResult};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// A domain type stored in the table: its keys come from `keys`, its attributes from serde.
pub trait Stored: Serialize + DeserializeOwned {
    /// Entity type name, written to every item and used in errors.
    const ENTITY: &'static str;

    /// Primary key.
    fn key(&self) -> Key;

    /// Secondary index entries (sparse: an absent entry keeps the item out of that index).
    fn index_keys(&self) -> Vec<IndexKey> {
        Vec::new()
    }

    /// Lower-cased text that list filters search with `contains` (DynamoDB compares
    /// case-sensitively), stored as `search_text`.
    fn search_text(&self) -> Option<String> {
        None
    }
}

/// Attribute holding [`Stored::search_text`].
pub const SEARCH_TEXT: &str = "search_text";

/// The full item for `value`: attributes, keys and entity type.
pub fn to_item<T: Stored>(value: &T) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|source| StoreError::Malformed {
        entity: T::ENTITY,
        source,
    })?;
    // Absent optionals need not cost storage or read capacity.
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    let key = value.key();
    item.insert(PK.into(), AttributeValue::S(key.pk));
    item.insert(SK.into(), AttributeValue::S(key.sk));
    for index in value.index_keys() {
        item.insert(index.index.pk().into(), AttributeValue::S(index.pk));
        item.insert(index.index.sk().into(), AttributeValue::S(index.sk));
    }
    if let Some(text) = value.search_text() {
        item.insert(SEARCH_TEXT.into(), AttributeValue::S(text.to_lowercase()));
    }
    item.insert(ENTITY_TYPE.into(), AttributeValue::S(T::ENTITY.into()));
    Ok(item)
}

/// Decodes an item (extra key attributes are ignored).
pub fn from_item<T: Stored>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|source| StoreError::Malformed {
        entity: T::ENTITY,
        source,
    })
}

/// The primary key as an attribute map.
pub fn key_attributes(key: &Key) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(key.pk.clone())),
        (SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}
