//! A minimal PNG writer for black-and-white images (1-bit grayscale, uncompressed deflate).
//!
//! The QR crate in the workspace renders module matrices; encoding them as PNG would
//! otherwise pull in an image codec stack just to serve `showqrcode`.

/// Encodes a `width` x `height` bilevel image; `dark(x, y)` says which pixels are black.
pub fn encode_bilevel(width: u32, height: u32, dark: impl Fn(u32, u32) -> bool) -> Vec<u8> {
    let row_bytes = width.div_ceil(8) as usize;
    // Each scanline starts with filter type 0 (None).
    let mut raw = Vec::with_capacity((row_bytes + 1) * height as usize);
    for y in 0..height {
        raw.push(0);
        let start = raw.len();
        raw.resize(start + row_bytes, 0);
        for x in 0..width {
            // Grayscale 1-bit: 1 = white.
            if !dark(x, y) {
                raw[start + (x / 8) as usize] |= 0x80 >> (x % 8);
            }
        }
    }
    let mut out = Vec::with_capacity(raw.len() + 128);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 1, colour type 0 (grayscale), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    let crc_start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[crc_start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// zlib stream made of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65_535 * 5 + 16);
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn png_structure_is_valid() {
        let png = encode_bilevel(10, 3, |x, y| (x + y) % 2 == 0);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[16..20], &10u32.to_be_bytes());
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82]));
        // IDAT payload: zlib header, one final stored block of 3 rows x (1 + 2) bytes.
        let idat = &png[33..];
        assert_eq!(&idat[4..8], b"IDAT");
        assert_eq!(&idat[8..10], &[0x78, 0x01]);
        assert_eq!(idat[10], 1);
        assert_eq!(u16::from_le_bytes([idat[11], idat[12]]), 9);
    }
}
