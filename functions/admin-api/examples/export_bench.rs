//! Export benchmark: writes N synthetic follower rows (default 1,000,000) as CSV and XLSX
//! through the real export writer and reports time, bytes, parts and peak memory (VmHWM).
//!
//! ```sh
//! cargo run --release -p admin-api --example export_bench -- 1000000
//! ```
//!
//! Parts go to a sink that counts and drops them, so the numbers are the writer's own; the
//! S3 sink holds one part (8 MiB) more while it uploads.

use livenotify::export::{Cell, ExportError, ExportFormat, ExportWriter, PartSink};
use std::time::Instant;

/// Counts parts and bytes, keeps nothing.
#[derive(Default)]
struct Counting {
    parts: u64,
    bytes: u64,
    largest: usize,
}

impl PartSink for &mut Counting {
    async fn put_part(&mut self, bytes: Vec<u8>) -> Result<(), ExportError> {
        self.parts += 1;
        self.bytes += bytes.len() as u64;
        self.largest = self.largest.max(bytes.len());
        Ok(())
    }
    async fn complete(self) -> Result<(), ExportError> {
        Ok(())
    }
    async fn abort(self) {}
}

/// Peak resident memory of this process, from /proc (Linux).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn row(i: u64) -> Vec<Cell> {
    vec![
        "wx1234567890abcdef".into(),
        format!("oABCDEFGHIJKLMNOPQRSTUVWX{i:07}").into(),
        format!("uABCDEFGHIJKLMNOPQRSTUVWX{i:07}").into(),
        "是".into(),
        "2026-11-23 09:30:00".into(),
        "".into(),
        if i.is_multiple_of(10) {
            format!("=备注{i}")
        } else {
            format!("备注 {i}")
        }
        .into(),
        "1 2".into(),
        "ADD_SCENE_QR_CODE".into(),
        "2026-11-23 09:31:00".into(),
        "否".into(),
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), ExportError> {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let headers = [
        "公众号",
        "openid",
        "unionid",
        "是否关注",
        "关注时间",
        "取消关注时间",
        "备注",
        "标签",
        "关注来源",
        "最近互动",
        "免打扰",
    ];
    println!("rows={rows} baseline_peak_rss_mib={:.1}", peak_rss_mib());
    for format in [ExportFormat::Csv, ExportFormat::Xlsx] {
        let mut sink = Counting::default();
        let started = Instant::now();
        let mut writer = ExportWriter::new(format, &headers, &mut sink)?;
        for i in 0..rows {
            writer.write_row(&row(i)).await?;
        }
        let done = writer.finish().await?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "format={} rows={} bytes={} parts={} largest_part_mib={:.1} seconds={:.1} rows_per_second={:.0} peak_rss_mib={:.1}",
            format.extension(),
            done.rows,
            sink.bytes,
            sink.parts,
            sink.largest as f64 / 1048576.0,
            secs,
            done.rows as f64 / secs,
            peak_rss_mib()
        );
    }
    Ok(())
}
