//! XLSX rows through rust_xlsxwriter's constant-memory mode: each row goes to a temporary
//! file as it is written, and the workbook is zipped to another temporary file at the end.

use super::{Cell, ExportError};
use rust_xlsxwriter::{Format, Workbook};

/// Rows a worksheet holds.
pub(super) const MAX_ROWS: u64 = 1_048_576;

pub(super) struct XlsxRows {
    workbook: Workbook,
    row: u32,
    header: Format,
}

impl XlsxRows {
    pub(super) fn new() -> Result<Self, ExportError> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(std::env::temp_dir())?;
        workbook.add_worksheet_with_constant_memory();
        Ok(Self {
            workbook,
            row: 0,
            header: Format::new().set_bold(),
        })
    }

    pub(super) fn write(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        if u64::from(self.row) >= MAX_ROWS {
            return Err(ExportError::TooManyRows {
                format: "xlsx",
                max: MAX_ROWS,
            });
        }
        let sheet = self.workbook.worksheet_from_index(0)?;
        for (col, cell) in cells.iter().enumerate() {
            let col = u16::try_from(col).map_err(|_| ExportError::TooManyRows {
                format: "xlsx columns",
                max: u64::from(u16::MAX),
            })?;
            match cell {
                // write_string stores text as text: a leading '=' is never run as a formula.
                Cell::Text(text) if self.row == 0 => {
                    sheet.write_string_with_format(self.row, col, text, &self.header)?;
                }
                Cell::Text(text) => {
                    sheet.write_string(self.row, col, text)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(self.row, col, *n)?;
                }
            }
        }
        self.row += 1;
        Ok(())
    }

    /// Zips the workbook into a temporary file (blocking work, run off the async threads).
    pub(super) async fn save(self) -> Result<tempfile::TempPath, ExportError> {
        let path = tempfile::Builder::new()
            .prefix("livenotify-export-")
            .suffix(".xlsx")
            .tempfile()?
            .into_temp_path();
        let target = path.to_path_buf();
        let mut workbook = self.workbook;
        tokio::task::spawn_blocking(move || workbook.save(&target))
            .await
            .map_err(|e| ExportError::Io(std::io::Error::other(e)))??;
        Ok(path)
    }
}
