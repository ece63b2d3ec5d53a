//! Uploaded openid lists (a push audience): CSV or plain text as admins export it from Excel
//! or another tool, read leniently and checked strictly.
//!
//! Accepted shapes: one openid a line; or CSV with a header row naming an `openid` column
//! (any position, case-insensitive, also `OpenID`/`用户openid`); UTF-8 with or without BOM;
//! `\n` or `\r\n`. Rows that are not a valid openid are reported with their line number and
//! never silently dropped; duplicates are counted and sent once.

use std::collections::HashSet;

/// At most this many bytes are read from one upload (about 1,000,000 openids of 28 bytes).
pub const MAX_BYTES: usize = 40 * 1024 * 1024;
/// At most this many rejected rows are listed (the count is always exact).
pub const MAX_LISTED_REJECTIONS: usize = 100;

/// Why an upload cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenidListError {
    /// Larger than [`MAX_BYTES`].
    #[error("上传的名单过大（{0} 字节，上限 {MAX_BYTES} 字节）")]
    TooLarge(usize),
    /// Not UTF-8 (e.g. saved as GBK by Excel).
    #[error("名单不是 UTF-8 编码（第 {line} 行附近），请另存为 CSV UTF-8")]
    NotUtf8 {
        /// 1-based line of the first bad byte.
        line: usize,
    },
    /// A CSV header without an openid column.
    #[error("CSV 表头中没有 openid 列")]
    NoOpenidColumn,
    /// Broken CSV quoting.
    #[error("CSV 格式错误（第 {line} 行）：{reason}")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// What the CSV reader said.
        reason: String,
    },
    /// Nothing usable in it.
    #[error("名单中没有有效的 openid")]
    Empty,
}

/// One row that was not used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectedRow {
    /// 1-based line in the upload.
    pub line: usize,
    /// Why (Chinese, for the admin).
    pub reason: String,
}

/// The result of reading an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenidList {
    /// Valid, distinct openids in upload order.
    pub openids: Vec<String>,
    /// Rows repeating an earlier openid.
    pub duplicates: usize,
    /// Number of invalid rows (blank lines are not rows).
    pub rejected: usize,
    /// The first [`MAX_LISTED_REJECTIONS`] invalid rows.
    pub rejected_rows: Vec<RejectedRow>,
}

/// Whether `s` looks like an openid: 1–128 printable ASCII characters without separators.
/// WeChat's are 28 characters of `[A-Za-z0-9_-]`; other tools' exports vary, so only what can
/// never be an openid is refused.
pub fn is_valid_openid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b',' | b'"' | b';' | b'\''))
}

/// Reads an uploaded list.
pub fn parse(bytes: &[u8]) -> Result<OpenidList, OpenidListError> {
    if bytes.len() > MAX_BYTES {
        return Err(OpenidListError::TooLarge(bytes.len()));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| OpenidListError::NotUtf8 {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
    })?;
    // Excel on a Mac may end lines with a lone CR: every line break counts the same.
    let normalised;
    let text = if text.contains('\r') {
        normalised = text.replace("\r\n", "\n").replace('\r', "\n");
        normalised.as_str()
    } else {
        text
    };
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let list = if is_header(first) {
        parse_csv(text)?
    } else {
        parse_lines(text)
    };
    if list.openids.is_empty() {
        return Err(OpenidListError::Empty);
    }
    Ok(list)
}

/// A first line naming columns rather than holding an openid.
fn is_header(line: &str) -> bool {
    line.contains(',')
        || line
            .split(',')
            .any(|cell| is_openid_column(cell.trim().trim_matches('"')))
}

fn is_openid_column(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    matches!(name.as_str(), "openid" | "open_id" | "用户openid")
}

/// Collects valid, distinct openids, counting the rest.
#[derive(Default)]
struct Collector {
    list: OpenidList,
    seen: HashSet<String>,
}

impl Collector {
    fn row(&mut self, line: usize, value: &str) {
        let value = value.trim();
        if !is_valid_openid(value) {
            let reason = if value.is_empty() {
                "openid 为空".to_string()
            } else if value.len() > 128 {
                "openid 过长（超过 128 个字符）".to_string()
            } else {
                "openid 含有非法字符".to_string()
            };
            self.reject(line, reason);
        } else if self.seen.insert(value.to_string()) {
            self.list.openids.push(value.to_string());
        } else {
            self.list.duplicates += 1;
        }
    }

    fn reject(&mut self, line: usize, reason: String) {
        self.list.rejected += 1;
        if self.list.rejected_rows.len() < MAX_LISTED_REJECTIONS {
            self.list.rejected_rows.push(RejectedRow { line, reason });
        }
    }
}

fn parse_lines(text: &str) -> OpenidList {
    let mut collector = Collector::default();
    for (i, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            collector.row(i + 1, line);
        }
    }
    collector.list
}

fn parse_csv(text: &str) -> Result<OpenidList, OpenidListError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let malformed = |e: csv::Error| OpenidListError::Malformed {
        line: e
            .position()
            .map_or(1, |p| usize::try_from(p.line()).unwrap_or(usize::MAX)),
        reason: e.to_string(),
    };
    let column = reader
        .headers()
        .map_err(malformed)?
        .iter()
        .position(is_openid_column)
        .ok_or(OpenidListError::NoOpenidColumn)?;
    let mut collector = Collector::default();
    for record in reader.records() {
        let record = record.map_err(malformed)?;
        let line = record
            .position()
            .map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        match record.get(column) {
            Some(value) => collector.row(line, value),
            None => collector.reject(line, "该行缺少 openid 列".to_string()),
        }
    }
    Ok(collector.list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_with_bom_crlf_blanks_and_duplicates() {
        let list = parse("\u{FEFF}oA1\r\n\r\noB2\r\noA1\r\nbad id\r\n".as_bytes()).unwrap();
        assert_eq!(list.openids, ["oA1", "oB2"]);
        assert_eq!((list.duplicates, list.rejected), (1, 1));
        assert_eq!(list.rejected_rows[0].line, 5);
        // Old Mac line ends (found by the fuzzer): a lone CR ends a line too.
        let list = parse(b"openid\roA\r\roB\r\n").unwrap();
        assert_eq!(list.openids, ["oA", "oB"]);
    }

    #[test]
    fn csv_with_an_openid_column_anywhere() {
        let csv = "昵称,OpenID,备注\n张三,oX1,\"a, b\"\n李四,oX2,\n王五,,x\n赵六\n";
        let list = parse(csv.as_bytes()).unwrap();
        assert_eq!(list.openids, ["oX1", "oX2"]);
        assert_eq!(list.rejected, 2);
        assert_eq!(
            list.rejected_rows
                .iter()
                .map(|r| r.line)
                .collect::<Vec<_>>(),
            [4, 5]
        );
    }

    #[test]
    fn unusable_uploads_get_a_reason() {
        assert_eq!(parse(b""), Err(OpenidListError::Empty));
        assert_eq!(
            parse(b"name,phone\na,1\n"),
            Err(OpenidListError::NoOpenidColumn)
        );
        assert_eq!(
            parse(b"oA\noB\n\xC4\xE3\n"),
            Err(OpenidListError::NotUtf8 { line: 3 })
        );
        assert!(matches!(
            parse(&vec![b'a'; MAX_BYTES + 1]),
            Err(OpenidListError::TooLarge(_))
        ));
    }
}
