//! Exports of large lists (courses, followers, notification records) as CSV or XLSX,
//! written row by row into a [`PartSink`] (an S3 multipart upload in production) so memory
//! stays bounded whatever the number of rows.

mod cell;
mod csv_rows;
mod s3_multipart;
mod writer;
mod xlsx_rows;

pub use cell::{Cell, neutralise_formula};
pub use s3_multipart::S3MultipartSink;
pub use writer::{ExportWriter, Finished};

/// Size of the parts handed to the sink. S3 wants at least 5 MiB for every part but the last.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// File format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// UTF-8 CSV with a byte-order mark (so Excel reads Chinese correctly).
    Csv,
    /// Excel workbook.
    Xlsx,
}

impl ExportFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    /// MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing CSV failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// Writing the workbook failed.
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// Local temporary file trouble.
    #[error("temporary file: {0}")]
    Io(#[from] std::io::Error),
    /// More rows than the format holds.
    #[error("too many rows for {format}: at most {max}")]
    TooManyRows {
        /// Format.
        format: &'static str,
        /// Its limit.
        max: u64,
    },
    /// The sink (S3) refused a part.
    #[error("S3 {operation} failed: {detail}")]
    S3 {
        /// Operation.
        operation: &'static str,
        /// What S3 said.
        detail: String,
    },
}

/// Where an export's bytes go, one part at a time.
pub trait PartSink: Send {
    /// Stores the next part (every part but the last is [`PART_SIZE`] bytes or more).
    fn put_part(
        &mut self,
        bytes: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<(), ExportError>> + Send;

    /// Completes the object.
    fn complete(self) -> impl std::future::Future<Output = Result<(), ExportError>> + Send;

    /// Gives up, removing what was stored.
    fn abort(self) -> impl std::future::Future<Output = ()> + Send;
}
