//! The follow QR code drawn into the page as SVG (no image request, nothing to expire).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG QR code of `content`, or `None` if it cannot be encoded (too long).
pub fn render(content: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(content.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_svg() {
        let svg = super::render("http://weixin.qq.com/q/02abc").unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
        assert!(super::render(&"x".repeat(5000)).is_none());
    }
}
