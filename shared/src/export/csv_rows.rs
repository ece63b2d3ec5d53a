//! CSV rows into part-sized buffers.

use super::{Cell, ExportError, neutralise_formula};

/// UTF-8 byte-order mark: without it Excel reads UTF-8 CSV as the local code page.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes rows into an in-memory buffer that the caller drains part by part.
pub(super) struct CsvRows {
    writer: csv::Writer<Vec<u8>>,
}

impl CsvRows {
    pub(super) fn new() -> Self {
        Self {
            writer: writer(BOM.to_vec()),
        }
    }

    pub(super) fn write(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        let record = cells.iter().map(|cell| match cell {
            Cell::Text(text) => neutralise_formula(text).into_owned(),
            Cell::Number(n) => n.to_string(),
        });
        self.writer.write_record(record)?;
        Ok(())
    }

    /// Bytes written so far and not yet taken.
    pub(super) fn buffered(&mut self) -> Result<usize, ExportError> {
        self.writer.flush()?;
        Ok(self.writer.get_ref().len())
    }

    /// Takes the buffered bytes.
    pub(super) fn take(&mut self) -> Result<Vec<u8>, ExportError> {
        let full = std::mem::replace(&mut self.writer, writer(Vec::new()));
        full.into_inner()
            .map_err(|e| ExportError::Io(std::io::Error::other(e.error().to_string())))
    }
}

fn writer(buffer: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_quoting_and_neutralising() {
        let mut rows = CsvRows::new();
        rows.write(&["标题".into(), "a,b".into(), "=cmd".into()])
            .unwrap();
        rows.write(&[Cell::Number(3.0), "say \"hi\"".into(), "".into()])
            .unwrap();
        let bytes = rows.take().unwrap();
        assert!(bytes.starts_with(BOM));
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert_eq!(text, "标题,\"a,b\",'=cmd\r\n3,\"say \"\"hi\"\"\",\r\n");
        assert_eq!(rows.buffered().unwrap(), 0);
    }
}
