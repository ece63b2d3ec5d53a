//! Paging a push's audience: who gets it, page by page, with a cursor the plan checkpoints.

use livenotify::domain::{Audience, Channel, Follower, Push, Timestamp, now};
use livenotify::notification::{WECOM_ALL, WECOM_PARTY_PREFIX, WECOM_TAG_PREFIX};
use livenotify::platform::Platform;
use livenotify::store::{FollowerFilter, PageRequest, StoreError};
use std::collections::HashMap;

/// Longest openid accepted from an uploaded list (WeChat's are 28 characters).
const MAX_OPENID_LEN: usize = 64;
/// Bytes of an uploaded list read per page.
const LIST_CHUNK_BYTES: u64 = 64 * 1024;

/// Why the audience could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AudienceError {
    /// Table trouble, or a checkpointed cursor the table refuses.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The uploaded list could not be read.
    #[error("读取上传的 openid 列表失败（{key}）：{detail}")]
    List {
        /// S3 key.
        key: String,
        /// What failed.
        detail: String,
    },
}

/// One page of recipients.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AudiencePage {
    /// Openids to send to.
    pub recipients: Vec<String>,
    /// Left out on purpose (muted, unfollowed, malformed list lines).
    pub skipped: u64,
    /// Cursor of the next page; `None` when this was the last.
    pub next: Option<String>,
}

/// How long after a user's last interaction customer-service messages may be sent.
const SERVICE_WINDOW: chrono::Duration = chrono::Duration::hours(48);

/// Whether a known follower may get the push's notification at `at`: they follow, did not
/// mute notifications, and for customer-service messages wrote or acted within 48 hours
/// (WeChat would refuse with 45015; the window is checked again by WeChat at send time).
fn reachable(follower: &Follower, channel: Channel, at: Timestamp) -> bool {
    follower.subscribed
        && !follower.muted
        && (channel != Channel::CustomerService
            || follower
                .last_interaction_at
                .is_some_and(|last| at - last < SERVICE_WINDOW))
}

/// The page of `push`'s audience after `cursor`.
pub async fn page(
    platform: &Platform,
    push: &Push,
    cursor: Option<String>,
    size: u32,
) -> Result<AudiencePage, AudienceError> {
    if push.channel == Channel::Wecom {
        // WeCom apps have members, departments and tags, not followers.
        match &push.audience {
            Audience::AllFollowers => return Ok(single(WECOM_ALL.to_string())),
            Audience::Tag { tag_id } => {
                return Ok(single(format!("{WECOM_TAG_PREFIX}{tag_id}")));
            }
            _ => {}
        }
    }
    match &push.audience {
        Audience::AllFollowers => followers(platform, push, None, cursor, size).await,
        Audience::Tag { tag_id } => followers(platform, push, Some(*tag_id), cursor, size).await,
        Audience::SignedUp => signed_up(platform, push, cursor, size).await,
        Audience::OpenidList { s3_key, .. } => uploaded(platform, push, s3_key, cursor).await,
    }
}

/// A one-entry audience (a whole WeCom app range or tag).
fn single(entry: String) -> AudiencePage {
    AudiencePage {
        recipients: vec![entry],
        skipped: 0,
        next: None,
    }
}

async fn followers(
    platform: &Platform,
    push: &Push,
    tag_id: Option<u32>,
    cursor: Option<String>,
    size: u32,
) -> Result<AudiencePage, AudienceError> {
    let filter = FollowerFilter {
        subscribed: Some(true),
        tag_id,
        ..FollowerFilter::default()
    };
    let page = platform
        .store
        .list_followers(
            &push.account_id,
            &filter,
            &PageRequest::new(Some(size), cursor)?,
        )
        .await?;
    let mut out = AudiencePage {
        next: page.next_cursor,
        ..AudiencePage::default()
    };
    let at = now();
    for follower in page.items {
        if reachable(&follower, push.channel, at) {
            out.recipients.push(follower.openid);
        } else {
            out.skipped += 1;
        }
    }
    Ok(out)
}

/// Keeps openids whose follower record allows the message; unknown openids are kept (the
/// follower may not be synced yet; WeChat answers 43004 if they do not follow).
fn honour_preferences(
    openids: Vec<String>,
    known: &HashMap<String, Follower>,
    channel: Channel,
    out: &mut AudiencePage,
) {
    let at = now();
    for openid in openids {
        match known.get(&openid) {
            Some(f) if !reachable(f, channel, at) => out.skipped += 1,
            _ => out.recipients.push(openid),
        }
    }
}

async fn signed_up(
    platform: &Platform,
    push: &Push,
    cursor: Option<String>,
    size: u32,
) -> Result<AudiencePage, AudienceError> {
    let page = platform
        .store
        .list_signups_by_course(push.course_id, &PageRequest::new(Some(size), cursor)?)
        .await?;
    let openids: Vec<String> = page
        .items
        .into_iter()
        .filter(|s| s.account_id == push.account_id)
        .map(|s| s.openid)
        .collect();
    let known = platform
        .store
        .find_followers(&push.account_id, &openids)
        .await?;
    let mut out = AudiencePage {
        next: page.next_cursor,
        ..AudiencePage::default()
    };
    honour_preferences(openids, &known, push.channel, &mut out);
    Ok(out)
}

/// Splits a chunk of an uploaded list into complete lines; returns them and the bytes
/// consumed (up to the last newline, or everything at the end of the object).
fn complete_lines(chunk: &[u8], at_end: bool) -> (Vec<String>, usize) {
    let consumed = if at_end {
        chunk.len()
    } else {
        chunk.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1)
    };
    // Invalid UTF-8 becomes U+FFFD, which fails the openid check and is counted as skipped.
    let text = String::from_utf8_lossy(&chunk[..consumed]);
    (text.lines().map(str::to_string).collect(), consumed)
}

fn valid_openid(line: &str) -> bool {
    !line.is_empty()
        && line.len() <= MAX_OPENID_LEN
        && line
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A line of a WeCom push's list: a member id (letters, digits, `_ - . @`), `party:<id>`,
/// `tag:<id>` or `@all`.
fn valid_wecom_entry(line: &str) -> bool {
    let numeric =
        |id: &str| !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
    if let Some(id) = line.strip_prefix(WECOM_PARTY_PREFIX) {
        return numeric(id);
    }
    if let Some(id) = line.strip_prefix(WECOM_TAG_PREFIX) {
        return numeric(id);
    }
    line == WECOM_ALL
        || (!line.is_empty()
            && line.len() <= MAX_OPENID_LEN
            && !line.starts_with('@')
            && line
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')))
}

async fn uploaded(
    platform: &Platform,
    push: &Push,
    key: &str,
    cursor: Option<String>,
) -> Result<AudiencePage, AudienceError> {
    let list_error = |detail: String| AudienceError::List {
        key: key.to_string(),
        detail,
    };
    let offset: u64 = match cursor {
        Some(c) => c
            .parse()
            .map_err(|_| list_error(format!("bad list cursor {c:?}")))?,
        None => 0,
    };
    let out = platform
        .s3
        .get_object()
        .bucket(&platform.config.bucket)
        .key(key)
        .range(format!("bytes={offset}-{}", offset + LIST_CHUNK_BYTES - 1))
        .send()
        .await
        .map_err(|e| list_error(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
    let total = out
        .content_range()
        .and_then(|r| r.rsplit('/').next())
        .and_then(|t| t.parse::<u64>().ok());
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| list_error(e.to_string()))?
        .into_bytes();
    let end = offset + bytes.len() as u64;
    let at_end = total.is_none_or(|t| end >= t);
    let (lines, consumed) = complete_lines(&bytes, at_end);
    if consumed == 0 && !at_end {
        return Err(list_error(format!(
            "a line longer than {LIST_CHUNK_BYTES} bytes at byte {offset}"
        )));
    }
    let mut page = AudiencePage {
        next: (!at_end).then(|| (offset + consumed as u64).to_string()),
        ..AudiencePage::default()
    };
    let mut openids = Vec::with_capacity(lines.len());
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let valid = if push.channel == Channel::Wecom {
            valid_wecom_entry(line)
        } else {
            valid_openid(line)
        };
        if valid {
            openids.push(line.to_string());
        } else {
            page.skipped += 1;
        }
    }
    let known = platform
        .store
        .find_followers(&push.account_id, &openids)
        .await?;
    honour_preferences(openids, &known, push.channel, &mut page);
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_stop_at_the_last_newline_unless_at_the_end() {
        let (lines, used) = complete_lines(b"o1\no2\no3", false);
        assert_eq!(lines, ["o1", "o2"]);
        assert_eq!(used, 6);
        let (lines, used) = complete_lines(b"o1\r\no2", true);
        assert_eq!(lines, ["o1", "o2"]);
        assert_eq!(used, 6);
        assert_eq!(complete_lines(b"o1o2", false).1, 0);
    }

    #[test]
    fn wecom_entries_are_checked() {
        for ok in ["user000001", "zhang.san@corp", "party:2", "tag:17", "@all"] {
            assert!(valid_wecom_entry(ok), "{ok}");
        }
        for bad in ["party:", "party:x", "tag:-1", "@everyone", "a b", ""] {
            assert!(!valid_wecom_entry(bad), "{bad}");
        }
    }

    #[test]
    fn customer_service_needs_an_interaction_within_48_hours() {
        let at = now();
        let mut f = Follower {
            account_id: livenotify::domain::AccountId::new("wxcs").unwrap(),
            openid: "o1".into(),
            unionid: None,
            subscribed: true,
            subscribe_time: None,
            unsubscribed_at: None,
            remark: String::new(),
            tag_ids: Vec::new(),
            subscribe_scene: None,
            qr_scene: None,
            language: None,
            last_interaction_at: None,
            muted: false,
            synced_at: None,
            updated_at: at,
        };
        assert!(reachable(&f, Channel::Template, at));
        assert!(!reachable(&f, Channel::CustomerService, at));
        f.last_interaction_at = Some(at - chrono::Duration::hours(47));
        assert!(reachable(&f, Channel::CustomerService, at));
        f.last_interaction_at = Some(at - chrono::Duration::hours(49));
        assert!(!reachable(&f, Channel::CustomerService, at));
        f.muted = true;
        assert!(!reachable(&f, Channel::Template, at));
    }

    #[test]
    fn openid_shape_is_checked() {
        assert!(valid_openid("oHtology_0000000000000000001"));
        assert!(!valid_openid("o 1"));
        assert!(!valid_openid(&"o".repeat(65)));
        assert!(!valid_openid("o1;drop"));
    }
}
