//! How long rendering one QR code (PNG + SVG) takes, and how big the files are.
//! `cargo run -p qr-generator --example render_timing [--release]`; never part of the tests.

use qr_generator::render::render;
use std::time::Instant;

fn main() {
    let contents = [
        (
            "ticket url",
            "http://weixin.qq.com/q/02AbCdEfGhIjKl10000w03".to_string(),
        ),
        (
            "landing url",
            "https://abc123defg.execute-api.ap-east-1.amazonaws.com/c/01JD2Z4W8X9Y7V6T5S4R3Q2P1N"
                .to_string(),
        ),
    ];
    const ROUNDS: u32 = 20;
    for (name, content) in &contents {
        let started = Instant::now();
        let mut sizes = (0, 0);
        for _ in 0..ROUNDS {
            match render(content) {
                Ok(rendered) => sizes = (rendered.png.len(), rendered.svg.len()),
                Err(e) => {
                    eprintln!("{name}: {e}");
                    std::process::exit(1);
                }
            }
        }
        let per_code = started.elapsed() / ROUNDS;
        println!(
            "{name}: {per_code:?} per code (PNG {} KiB, SVG {} KiB)",
            sizes.0 / 1024,
            sizes.1 / 1024
        );
    }
}
