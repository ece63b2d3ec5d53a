//! The course page's HTML: mobile-first, Chinese, no framework, one small script for the
//! countdown.

use crate::events::texts::china_time;
use livenotify::domain::{Course, CoursePhase};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the page shows below the course details.
#[derive(Debug, Clone)]
pub enum Body {
    /// The way into the live room.
    Enter,
    /// The course is over.
    Ended,
    /// The course was called off.
    Cancelled,
    /// Follow `account_name` first; `qr_svg` is its code, if one is configured.
    FollowFirst {
        /// Name of the required account.
        account_name: String,
        /// Its QR code.
        qr_svg: Option<String>,
        /// Why the platform asks (not following, or cannot tell).
        reason: GateReason,
    },
}

/// Why the gate is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateReason {
    /// Known not to follow.
    NotFollowing,
    /// Outside WeChat, or WeChat gave no unionid: cannot tell.
    Unknown,
}

fn phase_badge(phase: CoursePhase) -> (&'static str, &'static str) {
    match phase {
        CoursePhase::Upcoming => ("upcoming", "即将开始"),
        CoursePhase::Live => ("live", "直播中"),
        CoursePhase::Ended => ("ended", "已结束"),
    }
}

/// The whole page.
pub fn course_page(course: &Course, phase: CoursePhase, body: &Body) -> String {
    let (badge_class, badge) = phase_badge(phase);
    let title = escape(&course.title);
    let speaker = if course.speaker.is_empty() {
        String::new()
    } else {
        format!("<p class=\"meta\">讲者：{}</p>", escape(&course.speaker))
    };
    let description = if course.description.is_empty() {
        String::new()
    } else {
        format!("<p class=\"desc\">{}</p>", escape(&course.description))
    };
    let cover = course
        .cover_url
        .as_deref()
        .map(|url| format!("<img class=\"cover\" src=\"{}\" alt=\"\">", escape(url)))
        .unwrap_or_default();
    let countdown = if phase == CoursePhase::Upcoming {
        format!(
            "<p class=\"countdown\" data-start=\"{}\">距开播还有 <span id=\"cd\">--</span></p>",
            course.starts_at.timestamp_millis()
        )
    } else {
        String::new()
    };
    let live_url = escape(&course.live_url);
    let action = match body {
        Body::Enter => format!("<a class=\"button\" href=\"{live_url}\">进入直播间</a>"),
        Body::Ended => "<p class=\"notice\">本场直播已结束，感谢关注。</p>".to_string(),
        Body::Cancelled => "<p class=\"notice\">很抱歉，本场直播已取消。</p>".to_string(),
        Body::FollowFirst {
            account_name,
            qr_svg,
            reason,
        } => {
            let name = escape(account_name);
            let why = match reason {
                GateReason::NotFollowing => {
                    format!(
                        "观看本课程需先关注公众号「{name}」。长按识别下方二维码关注后，即可进入直播。"
                    )
                }
                GateReason::Unknown => format!(
                    "观看本课程需关注公众号「{name}」。我们暂时无法确认您的关注状态（请在微信中打开本页面）。尚未关注的用户请长按识别下方二维码关注。"
                ),
            };
            let qr = match qr_svg {
                Some(svg) => format!("<div class=\"qr\">{svg}</div>"),
                None => format!("<p class=\"notice\">请在微信中搜索公众号「{name}」并关注。</p>"),
            };
            let escape_hatch = match reason {
                GateReason::Unknown => {
                    format!("<a class=\"link\" href=\"{live_url}\">我已关注，进入直播间</a>")
                }
                GateReason::NotFollowing => String::new(),
            };
            format!(
                "<div class=\"gate\"><p>{why}</p>{qr}<a class=\"button\" href=\"\">我已关注，刷新页面</a>{escape_hatch}</div>"
            )
        }
    };
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{margin:0;font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f5f6f8;color:#1f2329}}
main{{max-width:560px;margin:0 auto;padding:16px}}
.card{{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.06)}}
.cover{{width:100%;border-radius:8px;margin-bottom:12px}}
h1{{font-size:20px;margin:8px 0}}
.badge{{display:inline-block;font-size:12px;padding:2px 8px;border-radius:10px;color:#fff}}
.badge.upcoming{{background:#1677ff}}.badge.live{{background:#f5222d}}.badge.ended{{background:#8c8c8c}}
.meta{{color:#646a73;margin:4px 0}}.desc{{color:#3c4048;line-height:1.6}}
.countdown{{font-size:16px;color:#1677ff}}
.button{{display:block;text-align:center;background:#07c160;color:#fff;text-decoration:none;padding:12px;border-radius:8px;margin-top:16px;font-size:16px}}
.link{{display:block;text-align:center;margin-top:12px;color:#646a73}}
.gate p{{line-height:1.6}}.qr{{text-align:center;margin:12px 0}}.qr svg{{width:220px;height:220px}}
.notice{{color:#646a73;text-align:center}}
</style></head>
<body><main><div class="card">
{cover}<span class="badge {badge_class}">{badge}</span>
<h1>{title}</h1>
<p class="meta">开播时间：{start}（北京时间）</p>
{speaker}{countdown}{description}
{action}
</div></main>
<script>
(function(){{var el=document.querySelector('.countdown');if(!el)return;var t=+el.dataset.start,s=document.getElementById('cd');
function tick(){{var d=Math.max(0,Math.floor((t-Date.now())/1000));if(d===0){{location.reload();return;}}
var h=Math.floor(d/3600),m=Math.floor(d%3600/60),x=d%60;s.textContent=(h>23?Math.floor(h/24)+'天'+(h%24)+'小时':h+'小时')+m+'分'+x+'秒';}}
tick();setInterval(tick,1000);}})();
</script>
</body></html>"#,
        start = china_time(course.starts_at),
    )
}

/// A short page for errors (unknown course).
pub fn message_page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title></head><body style=\"font-family:sans-serif;text-align:center;padding:48px 16px;color:#646a73\"><h1 style=\"font-size:20px;color:#1f2329\">{}</h1><p>{}</p></body></html>",
        escape(title),
        escape(title),
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
