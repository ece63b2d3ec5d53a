use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The item does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Entity type.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// A conditional write lost: the item exists already, changed meanwhile, or is in a
    /// state that forbids the change.
    #[error("conflict on {entity} {id}: {reason}")]
    Conflict {
        /// Entity type.
        entity: &'static str,
        /// Its id.
        id: String,
        /// What was expected.
        reason: &'static str,
    },
    /// A pagination cursor that this query did not produce.
    #[error("invalid cursor: {0}")]
    InvalidCursor(&'static str),
    /// A page size out of range.
    #[error("invalid page limit {0}: must be 1 to {max}", max = super::page::MAX_LIMIT)]
    InvalidLimit(u32),
    /// An item that does not match its Rust type (corrupt or from an incompatible version).
    #[error("stored {entity} item is malformed: {source}")]
    Malformed {
        /// Entity type.
        entity: &'static str,
        /// Decoding error.
        #[source]
        source: serde_dynamo::Error,
    },
    /// Encrypting or decrypting account secrets failed.
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    /// DynamoDB refused or could not be reached.
    #[error("dynamodb {operation} failed: {code}: {message}")]
    Dynamo {
        /// Operation name.
        operation: &'static str,
        /// Error code from AWS (or the transport error kind).
        code: String,
        /// Message.
        message: String,
    },
}

impl StoreError {
    /// Builds a `Dynamo` error from an SDK error, keeping AWS's code and message.
    pub(crate) fn dynamo<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let (code, message) = match &err {
            SdkError::ServiceError(service) => (
                service.err().code().unwrap_or("Unknown").to_string(),
                service.err().message().unwrap_or_default().to_string(),
            ),
            SdkError::TimeoutError(_) => ("Timeout".to_string(), err.to_string()),
            SdkError::DispatchFailure(f) => ("DispatchFailure".to_string(), format!("{f:?}")),
            other => ("Sdk".to_string(), other.to_string()),
        };
        Self::Dynamo {
            operation,
            code,
            message,
        }
    }

    /// True when a conditional check failed (inside `Dynamo`, before mapping to `Conflict`).
    pub(crate) fn is_condition_failure(&self) -> bool {
        matches!(self, Self::Dynamo { code, .. }
            if code == "ConditionalCheckFailedException" || code == "TransactionCanceledException")
    }

    /// Maps a failed condition to `Conflict`, leaving other errors as they are.
    pub(crate) fn on_condition(
        self,
        entity: &'static str,
        id: impl Into<String>,
        reason: &'static str,
    ) -> Self {
        if self.is_condition_failure() {
            Self::Conflict {
                entity,
                id: id.into(),
                reason,
            }
        } else {
            self
        }
    }

    /// Maps a failed `attribute_exists` condition to `NotFound`.
    pub(crate) fn on_missing(self, entity: &'static str, id: impl Into<String>) -> Self {
        if self.is_condition_failure() {
            Self::NotFound {
                entity,
                id: id.into(),
            }
        } else {
            self
        }
    }

    /// Errors worth retrying (throttling, timeouts, transport).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Dynamo { code, .. } if matches!(code.as_str(),
            "Timeout" | "DispatchFailure" | "ProvisionedThroughputExceededException"
            | "ThrottlingException" | "RequestLimitExceeded" | "InternalServerError"
            | "ServiceUnavailable"))
    }
}

/// Runs a conditional write: `Ok(true)` if it was applied, `Ok(false)` if its condition
/// did not hold, an error otherwise.
pub(crate) fn applied<T, E, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
) -> StoreResult<bool>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) => match StoreError::dynamo(operation, e) {
            err if err.is_condition_failure() => Ok(false),
            err => Err(err),
        },
    }
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;
