//! The S3 bucket: where each kind of object lives, and time-limited links to them.
//! Keys are built here only, so producers and readers cannot disagree.

use crate::domain::{AccountId, Course, CourseId, QrImage, SyncRunId, Timestamp};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a presigned download link works by default.
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(15 * 60);

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The link's lifetime is outside what S3 accepts (1 s to 7 days).
    #[error("presigned link lifetime {0:?} is not accepted by S3")]
    LinkLifetime(Duration),
    /// S3 refused or could not be reached.
    #[error("S3 {operation} failed: {detail}")]
    S3 {
        /// Operation.
        operation: &'static str,
        /// What S3 said.
        detail: String,
    },
}

/// Which QR image of a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrTarget<'a> {
    /// The landing-page code.
    Landing,
    /// The parametric code of one service account.
    Account(&'a AccountId),
}

/// `qr/<course>/<landing|account>.<ext>`: every image of a course under one prefix, so a
/// course's codes are listed or removed together.
pub fn qr_key(course: CourseId, target: QrTarget<'_>, extension: &str) -> String {
    match target {
        QrTarget::Landing => format!("qr/{course}/landing.{extension}"),
        QrTarget::Account(account) => format!("qr/{course}/account-{account}.{extension}"),
    }
}

/// Prefix of every QR image of a course.
pub fn qr_prefix(course: CourseId) -> String {
    format!("qr/{course}/")
}

/// The two formats every QR code is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrFormat {
    /// Print-resolution PNG.
    Png,
    /// Vector SVG (scales to any poster size).
    Svg,
}

impl QrFormat {
    /// Both formats.
    pub const ALL: [Self; 2] = [Self::Png, Self::Svg];

    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Svg => "svg",
        }
    }

    /// `Content-Type` of the stored object.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Svg => "image/svg+xml",
        }
    }
}

/// `Cache-Control` of stored QR images. Keys are stable per course and code while a renewed
/// ticket changes the image behind a key, so caches may keep one for as long as a presigned
/// link lives and no longer.
pub const QR_CACHE_CONTROL: &str = "private, max-age=900";

/// Presigned GET links to one QR code's images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QrLinks {
    /// The text the code encodes.
    pub content: String,
    /// PNG download link.
    pub png_url: String,
    /// SVG download link.
    pub svg_url: String,
    /// When a temporary code stops working; `None` = never.
    pub expires_at: Option<Timestamp>,
}

/// Presigned GET links to every QR code of a course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CourseQrLinks {
    /// The landing-page code.
    pub landing: QrLinks,
    /// The parametric code per service account.
    pub accounts: BTreeMap<AccountId, QrLinks>,
    /// When the codes were rendered.
    pub generated_at: Timestamp,
}

/// Presigned GET links (valid for `ttl`, e.g. [`DEFAULT_LINK_TTL`]) to the QR images of
/// `course`; `None` while it has none yet. Downloads are named after the course title, e.g.
/// `<标题>-课程页二维码.png` and `<标题>-<account>-关注二维码.svg`. Signing is local: no S3 call.
pub async fn qr_links(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    course: &Course,
    ttl: Duration,
) -> Result<Option<CourseQrLinks>, BlobError> {
    let Some(codes) = &course.qr else {
        return Ok(None);
    };
    let landing = image_links(
        s3,
        bucket,
        &codes.landing,
        ttl,
        &format!("{}-课程页二维码", course.title),
    )
    .await?;
    let mut accounts = BTreeMap::new();
    for (account, image) in &codes.accounts {
        let name = format!("{}-{account}-关注二维码", course.title);
        accounts.insert(
            account.clone(),
            image_links(s3, bucket, image, ttl, &name).await?,
        );
    }
    Ok(Some(CourseQrLinks {
        landing,
        accounts,
        generated_at: codes.generated_at,
    }))
}

async fn image_links(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    image: &QrImage,
    ttl: Duration,
    download_stem: &str,
) -> Result<QrLinks, BlobError> {
    let png = format!("{download_stem}.{}", QrFormat::Png.extension());
    let svg = format!("{download_stem}.{}", QrFormat::Svg.extension());
    Ok(QrLinks {
        content: image.content.clone(),
        png_url: presign_get(s3, bucket, &image.png_key, ttl, Some(&png)).await?,
        svg_url: presign_get(s3, bucket, &image.svg_key, ttl, Some(&svg)).await?,
        expires_at: image.expires_at,
    })
}

/// `sync/<account>/<run>/<page>.txt`: one sync run's copy of WeChat's follower list, one
/// openid a line, zero-padded so the pages list in order.
pub fn sync_page_key(account: &AccountId, run: SyncRunId, number: u64) -> String {
    format!("sync/{account}/{run}/{number:06}.txt")
}

/// `exports/<id>.<ext>`: the bucket's lifecycle rule expires this prefix after 7 days.
pub fn export_key(export_id: &str, extension: &str) -> String {
    format!("exports/{export_id}.{extension}")
}

/// `uploads/openids/<id>.txt`: an uploaded recipient list (one openid per line).
pub fn openid_list_key(upload_id: &str) -> String {
    format!("uploads/openids/{upload_id}.txt")
}

/// A time-limited GET link to `key`; with `download_name`, browsers save it under that name.
pub async fn presign_get(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    ttl: Duration,
    download_name: Option<&str>,
) -> Result<String, BlobError> {
    let config = PresigningConfig::expires_in(ttl).map_err(|_| BlobError::LinkLifetime(ttl))?;
    let mut request = s3.get_object().bucket(bucket).key(key);
    if let Some(name) = download_name {
        request = request.response_content_disposition(content_disposition(name));
    }
    let presigned = request.presigned(config).await.map_err(|e| BlobError::S3 {
        operation: "PresignGetObject",
        detail: DisplayErrorContext(&e).to_string(),
    })?;
    Ok(presigned.uri().to_string())
}

/// `attachment` with an ASCII fallback and the UTF-8 name (RFC 6266), so Chinese file names
/// survive every browser.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_grouped_per_course() {
        let course = CourseId::generate();
        let account = AccountId::new("wx123").unwrap();
        let landing = qr_key(course, QrTarget::Landing, "png");
        let account_svg = qr_key(course, QrTarget::Account(&account), "svg");
        assert!(landing.starts_with(&qr_prefix(course)));
        assert!(account_svg.starts_with(&qr_prefix(course)));
        assert!(account_svg.ends_with("account-wx123.svg"));
        assert_ne!(landing, qr_key(course, QrTarget::Landing, "svg"));
        assert_eq!(export_key("01J", "csv"), "exports/01J.csv");
    }

    #[test]
    fn download_names_keep_chinese() {
        let header = content_disposition("直播课程.csv");
        assert!(header.starts_with("attachment; filename=\"____.csv\""));
        assert!(header.contains("filename*=UTF-8''%E7%9B%B4"));
    }
}
