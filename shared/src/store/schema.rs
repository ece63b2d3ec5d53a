//! The table definition. `table.json` is its one source of truth: the local bootstrap
//! creates the table from it, and a test checks that `template.yaml` declares the same.

use super::{StoreError, StoreResult};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde::Deserialize;

/// The table definition as CloudFormation `AWS::DynamoDB::Table` properties (JSON).
pub const TABLE_JSON: &str = include_str!("table.json");

/// The parts of the table definition the platform depends on.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    /// PAY_PER_REQUEST.
    pub billing_mode: String,
    /// Key attributes and their types.
    pub attribute_definitions: Vec<AttributeDef>,
    /// Table key.
    pub key_schema: Vec<KeyDef>,
    /// Secondary indexes.
    pub global_secondary_indexes: Vec<IndexDef>,
    /// TTL.
    pub time_to_live_specification: TtlDef,
}

/// An attribute definition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDef {
    /// Name.
    pub attribute_name: String,
    /// S, N or B.
    pub attribute_type: String,
}

/// A key element.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    /// Attribute.
    pub attribute_name: String,
    /// HASH or RANGE.
    pub key_type: String,
}

/// A GSI.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    /// Name.
    pub index_name: String,
    /// Keys.
    pub key_schema: Vec<KeyDef>,
    /// Projection.
    pub projection: ProjectionDef,
}

/// A GSI projection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    /// ALL, KEYS_ONLY or INCLUDE.
    pub projection_type: String,
}

/// TTL settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlDef {
    /// TTL attribute.
    pub attribute_name: String,
    /// On.
    pub enabled: bool,
}

/// The parsed definition.
pub fn definition() -> Result<TableDefinition, serde_json::Error> {
    serde_json::from_str(TABLE_JSON)
}

fn key_schema(keys: &[KeyDef]) -> StoreResult<Vec<KeySchemaElement>> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(build_error)
        })
        .collect()
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Dynamo {
        operation: "CreateTable",
        code: "Build".into(),
        message: e.to_string(),
    }
}

/// Creates the table (and enables TTL) if it does not exist yet. Returns true if created.
pub async fn create_table_if_absent(client: &Client, table: &str) -> StoreResult<bool> {
    if client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    let def = definition().map_err(build_error)?;
    let attributes = def
        .attribute_definitions
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(build_error)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let indexes = def
        .global_secondary_indexes
        .iter()
        .map(|i| {
            GlobalSecondaryIndex::builder()
                .index_name(&i.index_name)
                .set_key_schema(Some(key_schema(&i.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            i.projection.projection_type.as_str(),
                        ))
                        .build(),
                )
                .build()
                .map_err(build_error)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()))
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&def.key_schema)?))
        .set_global_secondary_indexes(Some(indexes))
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Another process created it between our describe and create: fine.
        Err(e) => match StoreError::dynamo("CreateTable", e) {
            StoreError::Dynamo { code, .. } if code == "ResourceInUseException" => {
                return Ok(false);
            }
            err => return Err(err),
        },
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(&def.time_to_live_specification.attribute_name)
                .enabled(def.time_to_live_specification.enabled)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(|e| StoreError::dynamo("UpdateTimeToLive", e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::keys::{self, Index};
    use super::*;

    #[test]
    fn definition_matches_the_key_layout() {
        let def = definition().unwrap();
        let names: Vec<_> = def
            .global_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
            .collect();
        assert_eq!(
            names,
            [Index::Gsi1.name(), Index::Gsi2.name(), Index::Gsi3.name()]
        );
        for (index, def) in [Index::Gsi1, Index::Gsi2, Index::Gsi3]
            .iter()
            .zip(&def.global_secondary_indexes)
        {
            assert_eq!(def.key_schema[0].attribute_name, index.pk());
            assert_eq!(def.key_schema[1].attribute_name, index.sk());
        }
        assert_eq!(def.key_schema[0].attribute_name, keys::PK);
        assert_eq!(def.key_schema[1].attribute_name, keys::SK);
        assert_eq!(
            def.time_to_live_specification.attribute_name,
            keys::EXPIRES_AT
        );
    }
}
