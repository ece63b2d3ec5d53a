//! The export writer: rows in, parts out.

use super::csv_rows::CsvRows;
use super::xlsx_rows::XlsxRows;
use super::{Cell, ExportError, ExportFormat, PART_SIZE, PartSink};
use tokio::io::AsyncReadExt;

// One writer per export: the boxes only keep the enum small.
enum Rows {
    Csv(Box<CsvRows>),
    Xlsx(Box<XlsxRows>),
}

/// What a finished export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// Data rows (the header not counted).
    pub rows: u64,
    /// Bytes stored.
    pub bytes: u64,
}

/// Writes an export row by row into a [`PartSink`]. CSV parts leave as soon as they are
/// full; XLSX rows go to a temporary file (constant-memory mode) and are streamed out at the
/// end. Either way, memory does not grow with the number of rows.
pub struct ExportWriter<S: PartSink> {
    rows: Rows,
    sink: S,
    written: u64,
    bytes: u64,
}

impl<S: PartSink> ExportWriter<S> {
    /// A writer of `format` whose first row is `headers`.
    pub fn new(format: ExportFormat, headers: &[&str], sink: S) -> Result<Self, ExportError> {
        let mut rows = match format {
            ExportFormat::Csv => Rows::Csv(Box::new(CsvRows::new())),
            ExportFormat::Xlsx => Rows::Xlsx(Box::new(XlsxRows::new()?)),
        };
        let header: Vec<Cell> = headers.iter().map(|h| Cell::from(*h)).collect();
        match &mut rows {
            Rows::Csv(csv) => csv.write(&header)?,
            Rows::Xlsx(xlsx) => xlsx.write(&header)?,
        }
        Ok(Self {
            rows,
            sink,
            written: 0,
            bytes: 0,
        })
    }

    /// Appends one row.
    pub async fn write_row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        match &mut self.rows {
            Rows::Csv(csv) => {
                csv.write(cells)?;
                if csv.buffered()? >= PART_SIZE {
                    let part = csv.take()?;
                    self.bytes += part.len() as u64;
                    self.sink.put_part(part).await?;
                }
            }
            Rows::Xlsx(xlsx) => xlsx.write(cells)?,
        }
        self.written += 1;
        Ok(())
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u64 {
        self.written
    }

    /// Flushes what is left and completes the object; on any error the upload is aborted.
    pub async fn finish(mut self) -> Result<Finished, ExportError> {
        match self.flush_rest().await {
            Ok(()) => {
                self.sink.complete().await?;
                Ok(Finished {
                    rows: self.written,
                    bytes: self.bytes,
                })
            }
            Err(e) => {
                self.sink.abort().await;
                Err(e)
            }
        }
    }

    /// Gives up: removes whatever was stored.
    pub async fn abort(self) {
        self.sink.abort().await;
    }

    async fn flush_rest(&mut self) -> Result<(), ExportError> {
        match std::mem::replace(&mut self.rows, Rows::Csv(Box::new(CsvRows::new()))) {
            Rows::Csv(mut csv) => {
                let part = csv.take()?;
                self.bytes += part.len() as u64;
                self.sink.put_part(part).await
            }
            Rows::Xlsx(xlsx) => {
                let path = (*xlsx).save().await?;
                let mut file = tokio::fs::File::open(&path).await?;
                loop {
                    let mut part = Vec::with_capacity(PART_SIZE);
                    while part.len() < PART_SIZE {
                        let read = (&mut file)
                            .take((PART_SIZE - part.len()) as u64)
                            .read_to_end(&mut part)
                            .await?;
                        if read == 0 {
                            break;
                        }
                    }
                    if part.is_empty() {
                        return Ok(());
                    }
                    let last = part.len() < PART_SIZE;
                    self.bytes += part.len() as u64;
                    self.sink.put_part(part).await?;
                    if last {
                        return Ok(());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps the parts in memory and checks S3's part-size rule.
    #[derive(Default)]
    struct Parts {
        parts: Vec<Vec<u8>>,
        completed: bool,
    }

    impl PartSink for &mut Parts {
        async fn put_part(&mut self, bytes: Vec<u8>) -> Result<(), ExportError> {
            if let Some(previous) = self.parts.last() {
                assert!(
                    previous.len() >= PART_SIZE,
                    "only the last part may be small"
                );
            }
            self.parts.push(bytes);
            Ok(())
        }
        async fn complete(self) -> Result<(), ExportError> {
            self.completed = true;
            Ok(())
        }
        async fn abort(self) {}
    }

    #[tokio::test]
    async fn csv_rows_arrive_in_order_with_bom() {
        let mut parts = Parts::default();
        let mut writer = ExportWriter::new(ExportFormat::Csv, &["标题", "数"], &mut parts).unwrap();
        for i in 0..3u64 {
            writer
                .write_row(&[format!("课{i}").into(), i.into()])
                .await
                .unwrap();
        }
        let done = writer.finish().await.unwrap();
        assert_eq!(done.rows, 3);
        assert!(parts.completed);
        let all: Vec<u8> = parts.parts.concat();
        assert_eq!(done.bytes, all.len() as u64);
        let text = String::from_utf8(all).unwrap();
        assert_eq!(text, "\u{feff}标题,数\r\n课0,0\r\n课1,1\r\n课2,2\r\n");
    }

    #[tokio::test]
    async fn large_csv_leaves_in_full_parts_and_nothing_is_lost() {
        let mut parts = Parts::default();
        let mut writer = ExportWriter::new(ExportFormat::Csv, &["n", "text"], &mut parts).unwrap();
        let filler = "直播".repeat(30);
        for i in 0..60_000u64 {
            writer
                .write_row(&[i.into(), filler.clone().into()])
                .await
                .unwrap();
        }
        let done = writer.finish().await.unwrap();
        assert!(parts.parts.len() >= 2, "more than one part");
        let all: Vec<u8> = parts.parts.concat();
        assert_eq!(done.bytes, all.len() as u64);
        let text = String::from_utf8(all).unwrap();
        assert_eq!(text.lines().count(), 60_001);
        assert!(text.ends_with(&format!("59999,{filler}\r\n")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn xlsx_is_a_zip_with_the_rows() {
        let mut parts = Parts::default();
        let mut writer = ExportWriter::new(ExportFormat::Xlsx, &["a"], &mut parts).unwrap();
        writer.write_row(&["=danger".into()]).await.unwrap();
        let done = writer.finish().await.unwrap();
        assert_eq!(done.rows, 1);
        let all: Vec<u8> = parts.parts.concat();
        assert!(all.starts_with(b"PK"), "xlsx is a zip");
    }
}
