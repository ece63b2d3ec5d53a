//! Turns a QR code's content into print-ready images: a PNG of at least 1000 px and a vector
//! SVG, both with the standard 4-module quiet zone. Pure and deterministic: the same content
//! always gives the same bytes, so re-rendering rewrites identical objects.

use image::{ImageEncoder, Luma};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Smallest side of the PNG, quiet zone included: about 8.5 cm at 300 dpi.
pub const PNG_MIN_PX: u32 = 1000;

/// Quartile (25 % recoverable): printed codes get scuffed, folded and photographed at an
/// angle, and the contents (a short ticket URL or landing URL) stay at small versions even so.
pub const PRINT_EC_LEVEL: EcLevel = EcLevel::Q;

/// Why a code could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The content does not fit in a QR code.
    #[error("content of {len} bytes cannot be encoded as a QR code: {reason}")]
    Encode {
        /// Content length.
        len: usize,
        /// What the encoder said.
        reason: String,
    },
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// One code in both formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedQr {
    /// PNG bytes (8-bit grayscale).
    pub png: Vec<u8>,
    /// SVG document.
    pub svg: String,
}

/// Renders `content` as a PNG and an SVG.
pub fn render(content: &str) -> Result<RenderedQr, RenderError> {
    let code =
        QrCode::with_error_correction_level(content.as_bytes(), PRINT_EC_LEVEL).map_err(|e| {
            RenderError::Encode {
                len: content.len(),
                reason: e.to_string(),
            }
        })?;
    let bitmap = code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .min_dimensions(PNG_MIN_PX, PNG_MIN_PX)
        .build();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            bitmap.as_raw(),
            bitmap.width(),
            bitmap.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| RenderError::Png(e.to_string()))?;
    let svg = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(PNG_MIN_PX, PNG_MIN_PX)
        .build();
    Ok(RenderedQr { png, svg })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_png(png: &[u8]) -> (u32, String) {
        let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .unwrap()
            .to_luma8();
        let side = image.width();
        assert_eq!(side, image.height());
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        (side, content)
    }

    #[test]
    fn png_decodes_back_at_print_size() {
        for content in [
            "http://weixin.qq.com/q/02AbCdEfGhIjKl10000w03",
            "https://abc123.execute-api.ap-east-1.amazonaws.com/c/01JD2Z4W8X9Y7V6T5S4R3Q2P1N",
        ] {
            let rendered = render(content).unwrap();
            let (side, decoded) = decode_png(&rendered.png);
            assert_eq!(decoded, content);
            assert!(side >= PNG_MIN_PX, "{side}");
            assert!(rendered.svg.contains("<svg"));
            assert!(rendered.svg.contains("shape-rendering=\"crispEdges\""));
        }
    }

    #[test]
    fn quiet_zone_is_white() {
        let rendered = render("http://weixin.qq.com/q/02x").unwrap();
        let image = image::load_from_memory(&rendered.png).unwrap().to_luma8();
        let code =
            QrCode::with_error_correction_level("http://weixin.qq.com/q/02x", PRINT_EC_LEVEL)
                .unwrap();
        let module = image.width() / (code.width() as u32 + 8);
        // The 4-module border on every side is light.
        for i in 0..image.width() {
            for j in 0..4 * module {
                assert_eq!(image.get_pixel(i, j).0[0], 255);
                assert_eq!(image.get_pixel(j, i).0[0], 255);
                assert_eq!(image.get_pixel(i, image.height() - 1 - j).0[0], 255);
            }
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        let content = "http://weixin.qq.com/q/02same";
        assert_eq!(render(content).unwrap(), render(content).unwrap());
        assert_ne!(
            render(content).unwrap(),
            render("http://weixin.qq.com/q/02other").unwrap()
        );
    }

    #[test]
    fn oversized_content_is_a_typed_error() {
        let err = render(&"x".repeat(5000)).unwrap_err();
        assert!(
            matches!(err, RenderError::Encode { len: 5000, .. }),
            "{err}"
        );
    }
}
