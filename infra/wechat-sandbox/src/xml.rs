//! WeChat's callback XML: building the messages the phone sends and reading the replies.

use quick_xml::Reader;
use quick_xml::events::Event;
use std::collections::BTreeMap;

/// One child element of a callback message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Text, written as CDATA.
    Text(String),
    /// Number, written bare (CreateTime, MsgId, MsgID...).
    Num(String),
    /// Already-built XML (nested lists of subscription events).
    Raw(String),
}

/// A callback message: the common header plus message-specific fields, in WeChat's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlMessage {
    /// ToUserName: the account's original id.
    pub to: String,
    /// FromUserName: the user's openid.
    pub from: String,
    /// CreateTime (Unix seconds).
    pub create_time: i64,
    /// MsgType (`event`, `text`...).
    pub msg_type: String,
    /// Further fields.
    pub fields: Vec<(String, Field)>,
}

impl XmlMessage {
    /// Adds a CDATA text field.
    pub fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.fields
            .push((name.to_string(), Field::Text(value.into())));
        self
    }

    /// Adds a bare numeric field.
    pub fn num(mut self, name: &str, value: impl ToString) -> Self {
        self.fields
            .push((name.to_string(), Field::Num(value.to_string())));
        self
    }

    /// Adds pre-built XML.
    pub fn raw(mut self, xml: String) -> Self {
        self.fields.push((String::new(), Field::Raw(xml)));
        self
    }

    /// The XML document.
    pub fn to_xml(&self) -> String {
        let mut s = String::with_capacity(256);
        s.push_str("<xml>");
        push_text(&mut s, "ToUserName", &self.to);
        push_text(&mut s, "FromUserName", &self.from);
        push_num(&mut s, "CreateTime", &self.create_time.to_string());
        push_text(&mut s, "MsgType", &self.msg_type);
        for (name, f) in &self.fields {
            match f {
                Field::Text(v) => push_text(&mut s, name, v),
                Field::Num(v) => push_num(&mut s, name, v),
                Field::Raw(v) => s.push_str(v),
            }
        }
        s.push_str("</xml>");
        s
    }
}

/// `<name><![CDATA[value]]></name>`.
pub fn push_text(s: &mut String, name: &str, value: &str) {
    s.push('<');
    s.push_str(name);
    s.push('>');
    s.push_str(&cdata(value));
    s.push_str("</");
    s.push_str(name);
    s.push('>');
}

/// `<name>value</name>` for numbers.
pub fn push_num(s: &mut String, name: &str, value: &str) {
    s.push_str(&format!("<{name}>{value}</{name}>"));
}

/// Wraps text in CDATA, splitting any `]]>` inside it so the section cannot be closed early.
pub fn cdata(value: &str) -> String {
    format!("<![CDATA[{}]]>", value.replace("]]>", "]]]]><![CDATA[>"))
}

/// Safe-mode body: only `ToUserName` and `Encrypt`.
pub fn safe_envelope(to: &str, encrypt: &str) -> String {
    let mut s = String::from("<xml>");
    push_text(&mut s, "ToUserName", to);
    push_text(&mut s, "Encrypt", encrypt);
    s.push_str("</xml>");
    s
}

/// Compatible-mode body: the plain message with `Encrypt` added before `</xml>`.
pub fn compatible_envelope(plain_xml: &str, encrypt: &str) -> String {
    let body = plain_xml.strip_suffix("</xml>").unwrap_or(plain_xml);
    let mut s = String::with_capacity(plain_xml.len() + encrypt.len() + 32);
    s.push_str(body);
    push_text(&mut s, "Encrypt", encrypt);
    s.push_str("</xml>");
    s
}

/// The text of each top-level child of the root element (nested elements yield their
/// concatenated text). Errors on malformed XML.
pub fn parse_flat(xml: &str) -> Result<BTreeMap<String, String>, String> {
    let mut reader = Reader::from_str(xml);
    let mut out = BTreeMap::new();
    let mut depth = 0usize;
    let mut current: Option<(String, String)> = None;
    let mut saw_root = false;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                depth += 1;
                if depth == 1 {
                    saw_root = true;
                } else if depth == 2 {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    current = Some((name, String::new()));
                }
            }
            Event::Empty(e) if depth == 1 => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                out.insert(name, String::new());
            }
            Event::End(_) => {
                if depth == 2
                    && let Some((k, v)) = current.take()
                {
                    out.insert(k, v);
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) if depth >= 2 => {
                if let Some((_, v)) = current.as_mut() {
                    v.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) if depth >= 2 => {
                if let Some((_, v)) = current.as_mut() {
                    v.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) if depth >= 2 => {
                if let Some((_, v)) = current.as_mut() {
                    v.push_str(&resolve_entity(&r).ok_or("unknown entity")?);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root || depth != 0 {
        return Err("not a complete XML document".into());
    }
    Ok(out)
}

fn resolve_entity(r: &quick_xml::events::BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Some(c.to_string());
    }
    let s = match r.as_ref() {
        b"amp" => "&",
        b"lt" => "<",
        b"gt" => ">",
        b"quot" => "\"",
        b"apos" => "'",
        _ => return None,
    };
    Some(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> XmlMessage {
        XmlMessage {
            to: "gh_abc".into(),
            from: "oUser".into(),
            create_time: 1_700_000_000,
            msg_type: "event".into(),
            fields: Vec::new(),
        }
    }

    #[test]
    fn builds_wechat_shaped_xml() {
        let x = msg()
            .text("Event", "subscribe")
            .text("EventKey", "qrscene_123")
            .to_xml();
        assert_eq!(
            x,
            "<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>\
             <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
             <Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_123]]></EventKey></xml>"
        );
    }

    #[test]
    fn round_trips_through_parser() {
        let x = msg()
            .text("Content", "a ]]> b & <c>")
            .num("MsgId", 42)
            .to_xml();
        let m = parse_flat(&x).unwrap_or_default();
        assert_eq!(m.get("Content").map(String::as_str), Some("a ]]> b & <c>"));
        assert_eq!(m.get("MsgId").map(String::as_str), Some("42"));
        assert_eq!(m.get("CreateTime").map(String::as_str), Some("1700000000"));
    }

    #[test]
    fn parses_escaped_text_and_rejects_garbage() {
        let m = parse_flat("<xml><A>x &amp; y &#65;</A><B/></xml>").unwrap_or_default();
        assert_eq!(m.get("A").map(String::as_str), Some("x & y A"));
        assert_eq!(m.get("B").map(String::as_str), Some(""));
        assert!(parse_flat("success").is_err());
        assert!(parse_flat("<xml><A>").is_err());
    }

    #[test]
    fn envelopes() {
        let plain = msg().to_xml();
        let c = compatible_envelope(&plain, "ENC");
        assert!(c.ends_with("<Encrypt><![CDATA[ENC]]></Encrypt></xml>"));
        assert!(c.contains("<MsgType>"));
        assert_eq!(
            safe_envelope("gh_abc", "ENC"),
            "<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><Encrypt><![CDATA[ENC]]></Encrypt></xml>"
        );
    }
}
