//! Identity document images: decides JPEG or PNG by content (never by the
//! declared type or file name), reads the dimensions from the headers,
//! checks that the file is whole, then decodes it with the `image` crate
//! under explicit limits and keeps only a re-encoded copy: nothing but the
//! pixels survives (no EXIF, GPS, XMP, comments, text chunks, trailing bytes,
//! nor bytes smuggled into the compressed stream), and what does not decode
//! is refused. The reviewer's browser is only ever sent that copy.
//!
//! The container walk comes first and costs one pass over the bytes; the
//! decoder runs only on a whole file whose header dimensions are within
//! `MAX_SIDE` and `MAX_PIXELS`, and the decoder's own limits refuse any
//! allocation past `MAX_DECODE_BYTES`, so a decompression bomb costs a few
//! header reads, never gigabytes.

use crate::error::DomainError;

/// Each image must be at least this many pixels wide and high.
pub const MIN_SIDE: u32 = 300;
/// And at most this many, so no reviewer's browser is asked to open a bomb.
pub const MAX_SIDE: u32 = 10_000;
/// At most this many pixels in all: 40 megapixels (a phone photo is 12).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The decoder may allocate at most this much for one image: 40 MP of 8-bit
/// RGB is 120 MB. Uploads decode one image at a time per request.
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// Quality of the re-encoded JPEG copy: no visible loss on a document photo.
const JPEG_QUALITY: u8 = 90;
/// The upload limit for one image.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
}

impl ImageKind {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
        }
    }

    pub fn from_content_type(s: &str) -> Option<Self> {
        match s {
            "image/jpeg" => Some(ImageKind::Jpeg),
            "image/png" => Some(ImageKind::Png),
            _ => None,
        }
    }
}

/// Why an image was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefusal {
    /// Not a JPEG or PNG by its first bytes.
    #[error("is not a JPEG or PNG image")]
    NotAnImage,
    #[error("is truncated or damaged")]
    Damaged,
    #[error("is {width}×{height} pixels; at least 300×300 are needed")]
    TooSmall { width: u32, height: u32 },
    #[error("is {width}×{height} pixels; at most 10000 on a side and 40 megapixels")]
    TooLarge { width: u32, height: u32 },
}

/// A checked image, decoded and re-encoded: `bytes` hold pixels only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanImage {
    pub kind: ImageKind,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// The kind of an image from its first bytes, if it is one we take.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&PNG_SIGNATURE) {
        Some(ImageKind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else {
        None
    }
}

/// Sniffs, checks, decodes and re-encodes an uploaded image.
pub fn clean_image(bytes: &[u8]) -> Result<CleanImage, ImageRefusal> {
    // The walk proves the file whole and reads its header dimensions.
    let (kind, (width, height, _stripped)) = match sniff(bytes) {
        Some(ImageKind::Png) => (ImageKind::Png, clean_png(bytes)?),
        Some(ImageKind::Jpeg) => (ImageKind::Jpeg, clean_jpeg(bytes)?),
        None => return Err(ImageRefusal::NotAnImage),
    };
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(ImageRefusal::TooSmall { width, height });
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageRefusal::TooLarge { width, height });
    }
    let too_large = ImageRefusal::TooLarge { width, height };
    let picture = decode(kind, bytes).map_err(|e| match e {
        image::ImageError::Limits(_) => too_large,
        _ => ImageRefusal::Damaged,
    })?;
    let bytes = encode(kind, &picture).map_err(|_| ImageRefusal::Damaged)?;
    Ok(CleanImage { kind, width: picture.width(), height: picture.height(), bytes })
}

/// Decodes under `MAX_SIDE` and `MAX_DECODE_BYTES`, turning a JPEG as its
/// EXIF orientation says (the copy keeps no EXIF to say it).
fn decode(kind: ImageKind, bytes: &[u8]) -> image::ImageResult<image::DynamicImage> {
    use image::DynamicImage;
    use image::codecs::{jpeg::JpegDecoder, png::PngDecoder};
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let reader = std::io::Cursor::new(bytes);
    match kind {
        ImageKind::Png => {
            let decoder = within_budget(PngDecoder::with_limits(reader, limits.clone())?, limits)?;
            DynamicImage::from_decoder(decoder)
        }
        ImageKind::Jpeg => {
            let mut decoder = within_budget(JpegDecoder::new(reader)?, limits)?;
            let orientation = image::ImageDecoder::orientation(&mut decoder)?;
            let mut picture = DynamicImage::from_decoder(decoder)?;
            picture.apply_orientation(orientation);
            Ok(picture)
        }
    }
}

/// The decoder's own limits (dimensions, its working memory) and the
/// picture it would produce, checked before a byte of it is allocated.
fn within_budget<D: image::ImageDecoder>(mut decoder: D, limits: image::Limits) -> image::ImageResult<D> {
    use image::error::{LimitError, LimitErrorKind};
    decoder.set_limits(limits)?;
    if decoder.total_bytes() > MAX_DECODE_BYTES {
        return Err(image::ImageError::Limits(LimitError::from_kind(LimitErrorKind::InsufficientMemory)));
    }
    Ok(decoder)
}

fn encode(kind: ImageKind, picture: &image::DynamicImage) -> image::ImageResult<Vec<u8>> {
    use image::DynamicImage;
    use image::codecs::jpeg::JpegEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut out = Vec::new();
    match kind {
        ImageKind::Png => picture.write_with_encoder(PngEncoder::new_with_quality(
            &mut out,
            CompressionType::Default,
            FilterType::Adaptive,
        ))?,
        ImageKind::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            match picture {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => picture.write_with_encoder(encoder)?,
                other => DynamicImage::ImageRgb8(other.to_rgb8()).write_with_encoder(encoder)?,
            }
        }
    }
    Ok(out)
}

/// PNG chunks kept: the critical ones and ancillary ones that only affect
/// how pixels render. Everything else (tEXt, zTXt, iTXt, eXIf, tIME, iCCP
/// profile names, private chunks) is dropped.
const PNG_KEEP: [&[u8; 4]; 10] =
    [b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD"];

fn clean_png(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), ImageRefusal> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&PNG_SIGNATURE);
    let mut pos = PNG_SIGNATURE.len();
    let mut dims = None;
    let mut seen_idat = false;
    loop {
        let header = bytes.get(pos..pos + 8).ok_or(ImageRefusal::Damaged)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        let end = pos.checked_add(12).and_then(|p| p.checked_add(len)).ok_or(ImageRefusal::Damaged)?;
        let chunk = bytes.get(pos..end).ok_or(ImageRefusal::Damaged)?;
        let data = &chunk[8..8 + len];
        let crc = u32::from_be_bytes([chunk[8 + len], chunk[9 + len], chunk[10 + len], chunk[11 + len]]);
        if crc32(&chunk[4..8 + len]) != crc {
            return Err(ImageRefusal::Damaged);
        }
        if dims.is_none() {
            // IHDR must come first and be 13 bytes long.
            if &kind != b"IHDR" || len != 13 {
                return Err(ImageRefusal::Damaged);
            }
            let w = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let h = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            dims = Some((w, h));
        }
        let critical = kind[0].is_ascii_uppercase();
        if critical && !PNG_KEEP.contains(&&kind) {
            // A critical chunk we do not know: a reader could not show the image.
            return Err(ImageRefusal::Damaged);
        }
        seen_idat |= &kind == b"IDAT";
        if PNG_KEEP.contains(&&kind) {
            out.extend_from_slice(chunk);
        }
        pos = end;
        if &kind == b"IEND" {
            break;
        }
    }
    if !seen_idat {
        return Err(ImageRefusal::Damaged);
    }
    let (w, h) = dims.ok_or(ImageRefusal::Damaged)?;
    Ok((w, h, out))
}

/// CRC-32 (ISO 3309, as PNG uses it), bitwise: images are checked once.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

/// Whether a JPEG marker starts a frame (SOF0-SOF15, but not DHT, JPG, DAC).
fn is_sof(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Walks the JPEG segments up to the end of image. APP0 (JFIF) and APP14
/// (Adobe colour transform flags) are kept because they change how pixels
/// decode and hold no personal data; every other APPn (EXIF, GPS, XMP, ICC,
/// IPTC, vendor notes) and every comment is dropped. Bytes after EOI are
/// dropped too (a common place to hide data).
fn clean_jpeg(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), ImageRefusal> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut pos = 2;
    let mut dims = None;
    loop {
        // Markers may be preceded by fill bytes (0xFF).
        if bytes.get(pos) != Some(&0xFF) {
            return Err(ImageRefusal::Damaged);
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or(ImageRefusal::Damaged)?;
        pos += 1;
        match marker {
            EOI => {
                // EOI before any scan: no picture in it.
                return Err(ImageRefusal::Damaged);
            }
            0x01 | 0xD0..=0xD7 => return Err(ImageRefusal::Damaged),
            _ => {}
        }
        let len_bytes = bytes.get(pos..pos + 2).ok_or(ImageRefusal::Damaged)?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(ImageRefusal::Damaged);
        }
        let segment = bytes.get(pos..pos + len).ok_or(ImageRefusal::Damaged)?;
        if is_sof(marker) {
            // length(2) precision(1) height(2) width(2) ...
            if len < 8 {
                return Err(ImageRefusal::Damaged);
            }
            let h = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
            let w = u32::from(u16::from_be_bytes([segment[5], segment[6]]));
            dims = Some((w, h));
        }
        if !is_jpeg_metadata(marker) {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(segment);
        }
        pos += len;
        if marker == SOS {
            copy_scans(bytes, pos, &mut out)?;
            break;
        }
    }
    let (w, h) = dims.ok_or(ImageRefusal::Damaged)?;
    Ok((w, h, out))
}

/// Whether a JPEG segment carries metadata rather than picture: every APPn
/// but APP0 (JFIF) and APP14 (Adobe), and comments.
fn is_jpeg_metadata(marker: u8) -> bool {
    ((0xE1..=0xEF).contains(&marker) && marker != APP14) || marker == COM
}

/// Copies entropy-coded data (and the tables and further scans of a
/// progressive JPEG) up to and including EOI.
fn copy_scans(bytes: &[u8], from: usize, out: &mut Vec<u8>) -> Result<(), ImageRefusal> {
    let mut kept_from = from;
    let mut pos = from;
    loop {
        let rel = bytes.get(pos..).and_then(|rest| rest.iter().position(|&b| b == 0xFF));
        let ff = pos + rel.ok_or(ImageRefusal::Damaged)?;
        let next = *bytes.get(ff + 1).ok_or(ImageRefusal::Damaged)?;
        match next {
            // A stuffed zero or a restart marker belongs to the scan.
            0x00 | 0xD0..=0xD7 => pos = ff + 2,
            // Fill byte before a marker.
            0xFF => pos = ff + 1,
            EOI => {
                out.extend_from_slice(&bytes[kept_from..ff + 2]);
                return Ok(());
            }
            marker => {
                out.extend_from_slice(&bytes[kept_from..ff]);
                let len_bytes = bytes.get(ff + 2..ff + 4).ok_or(ImageRefusal::Damaged)?;
                let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
                if len < 2 {
                    return Err(ImageRefusal::Damaged);
                }
                let segment = bytes.get(ff + 2..ff + 2 + len).ok_or(ImageRefusal::Damaged)?;
                if !is_jpeg_metadata(marker) {
                    out.extend_from_slice(&[0xFF, marker]);
                    out.extend_from_slice(segment);
                }
                pos = ff + 2 + len;
                kept_from = pos;
            }
        }
    }
}

/// ISO 3166-1 alpha-2 codes in use.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR \
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI \
FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS \
IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO \
MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT \
TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// An ISO 3166-1 alpha-2 country code, upper-cased.
pub fn normalize_country(input: &str) -> Result<String, DomainError> {
    let code = input.trim().to_ascii_uppercase();
    if code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code) {
        Ok(code)
    } else {
        Err(DomainError::invalid("country", "must be an ISO 3166-1 alpha-2 code, e.g. GB"))
    }
}

/// The kinds of identity document accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdType {
    Passport,
    NationalId,
    DriversLicense,
}

impl IdType {
    pub fn as_str(self) -> &'static str {
        match self {
            IdType::Passport => "passport",
            IdType::NationalId => "national_id",
            IdType::DriversLicense => "drivers_license",
        }
    }

    /// A passport has one photo page; the other documents have two sides.
    pub fn needs_back(self) -> bool {
        self != IdType::Passport
    }
}

impl TryFrom<&str> for IdType {
    type Error = DomainError;

    fn try_from(s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "passport" => Ok(IdType::Passport),
            "national_id" => Ok(IdType::NationalId),
            "drivers_license" => Ok(IdType::DriversLicense),
            _ => Err(DomainError::invalid("id_type", "must be passport, national_id or drivers_license")),
        }
    }
}

/// The image slots of an identity submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentSlot {
    Front,
    Back,
    Selfie,
}

impl DocumentSlot {
    pub const ALL: [DocumentSlot; 3] = [DocumentSlot::Front, DocumentSlot::Back, DocumentSlot::Selfie];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentSlot::Front => "front",
            DocumentSlot::Back => "back",
            DocumentSlot::Selfie => "selfie",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let crc = crc32(&c[4..]);
        c.extend_from_slice(&crc.to_be_bytes());
        c
    }

    /// A structurally valid PNG (the pixel data is not decoded here).
    fn png(w: u32, h: u32, extra: &[Vec<u8>]) -> Vec<u8> {
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut out = PNG_SIGNATURE.to_vec();
        out.extend(chunk(b"IHDR", &ihdr));
        for e in extra {
            out.extend_from_slice(e);
        }
        out.extend(chunk(b"IDAT", &[0x78, 0x01, 0x00]));
        out.extend(chunk(b"IEND", &[]));
        out
    }

    fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(data);
        s
    }

    fn jpeg(w: u16, h: u16, exif: bool) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        if exif {
            out.extend(segment(0xE1, b"Exif\0\0GPS 51.5N 0.1W"));
            out.extend(segment(0xFE, b"taken at home"));
        }
        let mut sof = vec![8];
        sof.extend_from_slice(&h.to_be_bytes());
        sof.extend_from_slice(&w.to_be_bytes());
        sof.extend_from_slice(&[1, 1, 0x11, 0]);
        out.extend(segment(0xC0, &sof));
        out.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        out.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    /// A real, decodable PNG with `extra` chunks after its header.
    fn real_png(w: u32, h: u32, extra: &[Vec<u8>]) -> Vec<u8> {
        let mut encoded = Vec::new();
        let picture = image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x + y) % 256) as u8]));
        image::DynamicImage::ImageLuma8(picture)
            .write_to(&mut std::io::Cursor::new(&mut encoded), image::ImageFormat::Png)
            .unwrap();
        let after_ihdr = PNG_SIGNATURE.len() + 25;
        let mut out = encoded[..after_ihdr].to_vec();
        for e in extra {
            out.extend_from_slice(e);
        }
        out.extend_from_slice(&encoded[after_ihdr..]);
        out
    }

    /// A real, decodable JPEG; with `exif`, an EXIF segment naming a place
    /// and a comment follow its start.
    fn real_jpeg(w: u32, h: u32, exif: bool) -> Vec<u8> {
        let mut encoded = Vec::new();
        let picture = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        image::DynamicImage::ImageRgb8(picture)
            .write_to(&mut std::io::Cursor::new(&mut encoded), image::ImageFormat::Jpeg)
            .unwrap();
        let mut out = encoded[..2].to_vec();
        if exif {
            out.extend(segment(0xE1, b"Exif\0\0MM\0*\0\0\0\x08GPS 51.5N 0.1W"));
            out.extend(segment(0xFE, b"taken at home"));
        }
        out.extend_from_slice(&encoded[2..]);
        out
    }

    #[test]
    fn png_dimensions_and_metadata_stripped() {
        let text = chunk(b"tEXt", b"Comment\0secret place");
        let exif = chunk(b"eXIf", b"MM\0*GPS");
        let gamma = chunk(b"gAMA", &45455u32.to_be_bytes());
        // The walk keeps the chunks that affect rendering, drops the rest.
        let (w, h, walked) = clean_png(&png(640, 480, &[text.clone(), exif.clone(), gamma.clone()])).unwrap();
        assert_eq!((w, h, walked), (640, 480, png(640, 480, std::slice::from_ref(&gamma))));
        let img = real_png(640, 480, &[text, exif, gamma]);
        let clean = clean_image(&img).unwrap();
        assert_eq!((clean.kind, clean.width, clean.height), (ImageKind::Png, 640, 480));
        assert!(!clean.bytes.windows(6).any(|w| w == b"secret" || w == b"eXIf\0\0" || w == b"tEXtCo"));
        // The re-encoded image is itself acceptable, with the same pixels.
        let again = clean_image(&clean.bytes).unwrap();
        assert_eq!((again.width, again.height), (640, 480));
        let pixels = |b: &[u8]| image::load_from_memory(b).unwrap().to_luma8().into_raw();
        assert_eq!(pixels(&clean.bytes), pixels(&img));
    }

    #[test]
    fn png_refusals() {
        assert_eq!(clean_image(&png(299, 800, &[])), Err(ImageRefusal::TooSmall { width: 299, height: 800 }));
        assert_eq!(clean_image(&real_png(300, 300, &[])).unwrap().width, 300);
        assert!(matches!(clean_image(&png(30_000, 300, &[])), Err(ImageRefusal::TooLarge { .. })));
        // Within the sides, over the pixels: refused from the header.
        assert!(matches!(clean_image(&png(9_000, 9_000, &[])), Err(ImageRefusal::TooLarge { .. })));
        // Whole as a container, but its pixel data does not decode.
        assert_eq!(clean_image(&png(400, 400, &[])), Err(ImageRefusal::Damaged));
        let whole = real_png(400, 400, &[]);
        for cut in [8, 20, whole.len() - 1, whole.len() - 12] {
            assert_eq!(clean_image(&whole[..cut]), Err(ImageRefusal::Damaged), "cut at {cut}");
        }
        let mut bad_crc = whole.clone();
        bad_crc[20] ^= 1;
        assert_eq!(clean_image(&bad_crc), Err(ImageRefusal::Damaged));
        let unknown_critical = real_png(400, 400, &[chunk(b"ABCD", b"")]);
        assert_eq!(clean_image(&unknown_critical), Err(ImageRefusal::Damaged));
        let mut huge_len = whole.clone();
        huge_len[33..37].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(clean_image(&huge_len), Err(ImageRefusal::Damaged));
    }

    #[test]
    fn jpeg_dimensions_and_metadata_stripped() {
        // The walk drops metadata segments and what follows the image.
        let (w, h, walked) = clean_jpeg(&jpeg(1024, 768, true)).unwrap();
        assert_eq!((w, h, walked), (1024, 768, jpeg(1024, 768, false)));
        let img = real_jpeg(1024, 768, true);
        let clean = clean_image(&img).unwrap();
        assert_eq!((clean.kind, clean.width, clean.height), (ImageKind::Jpeg, 1024, 768));
        assert!(!clean.bytes.windows(4).any(|w| w == b"Exif" || w == b"GPS " || w == b"home"));
        // Anything after the end of the image is dropped.
        let mut trailing = img.clone();
        trailing.extend_from_slice(b"hidden");
        let clean = clean_image(&trailing).unwrap();
        assert!(clean.bytes.ends_with(&[0xFF, 0xD9]) && !clean.bytes.windows(6).any(|w| w == b"hidden"));
    }

    #[test]
    fn jpeg_refusals() {
        let whole = jpeg(400, 400, true);
        for cut in [3, 10, 40, whole.len() - 1] {
            assert_eq!(clean_image(&whole[..cut]), Err(ImageRefusal::Damaged), "cut at {cut}");
        }
        assert_eq!(clean_image(&jpeg(200, 400, false)), Err(ImageRefusal::TooSmall { width: 200, height: 400 }));
        // No frame header at all.
        let mut no_sof = vec![0xFF, 0xD8];
        no_sof.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        no_sof.extend_from_slice(&[0x12, 0xFF, 0xD9]);
        assert_eq!(clean_image(&no_sof), Err(ImageRefusal::Damaged));
    }

    #[test]
    fn the_content_decides_not_the_name() {
        assert_eq!(sniff(b"GIF89a...."), None);
        assert_eq!(clean_image(b"GIF89a...."), Err(ImageRefusal::NotAnImage));
        assert_eq!(clean_image(b"<svg/>"), Err(ImageRefusal::NotAnImage));
        assert_eq!(clean_image(b""), Err(ImageRefusal::NotAnImage));
        assert_eq!(sniff(&png(1, 1, &[])), Some(ImageKind::Png));
        assert_eq!(sniff(&jpeg(1, 1, false)), Some(ImageKind::Jpeg));
    }

    #[test]
    fn crc_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn identity_fields() {
        assert_eq!(normalize_country(" gb "), Ok("GB".into()));
        assert!(normalize_country("XX").is_err());
        assert!(normalize_country("GBR").is_err());
        assert_eq!(IdType::try_from("passport"), Ok(IdType::Passport));
        assert!(!IdType::Passport.needs_back());
        assert!(IdType::NationalId.needs_back() && IdType::DriversLicense.needs_back());
        assert!(IdType::try_from("library_card").is_err());
        assert_eq!(DocumentSlot::from_name("selfie"), Some(DocumentSlot::Selfie));
        assert_eq!(DocumentSlot::from_name("x"), None);
    }
}
