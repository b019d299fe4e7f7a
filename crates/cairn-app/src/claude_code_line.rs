//! The few fields of a Claude Code transcript line that place it in the
//! conversation tree, read without building the rest: message bodies and tool
//! outputs are skipped by the parser, not copied. A field of an unexpected type
//! reads as absent, as `Value::as_str` would have it, and a repeated key keeps its
//! last value, as a `serde_json::Map` would.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

#[derive(Default)]
pub(crate) struct LineMeta {
    pub kind: Option<String>,
    pub uuid: Option<String>,
    pub parent: Option<String>,
    pub logical_parent: Option<String>,
    pub is_sidechain: Option<bool>,
    pub session_id: Option<String>,
    pub cwd: Option<String>,
    pub timestamp: Option<String>,
    /// `message.id`: the API response an assistant line belongs to.
    pub message_id: Option<String>,
    pub custom_title: Option<String>,
    pub summary: Option<String>,
    pub title: Option<String>,
}

impl<'de> Deserialize<'de> for LineMeta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LineVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = LineMeta;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LineMeta, A::Error> {
        let mut meta = LineMeta::default();
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::Type => &mut meta.kind,
                Key::Uuid => &mut meta.uuid,
                Key::ParentUuid => &mut meta.parent,
                Key::LogicalParentUuid => &mut meta.logical_parent,
                Key::SessionId => &mut meta.session_id,
                Key::Cwd => &mut meta.cwd,
                Key::Timestamp => &mut meta.timestamp,
                Key::CustomTitle => &mut meta.custom_title,
                Key::Summary => &mut meta.summary,
                Key::Title => &mut meta.title,
                Key::IsSidechain => {
                    meta.is_sidechain = map.next_value::<Lenient<bool>>()?.0;
                    continue;
                }
                Key::Message => {
                    meta.message_id = map.next_value::<MessageId>()?.0;
                    continue;
                }
                Key::Id | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<Lenient<String>>()?.0;
        }
        Ok(meta)
    }
}

/// The keys read, recognised without copying them.
enum Key {
    Type,
    Uuid,
    ParentUuid,
    LogicalParentUuid,
    IsSidechain,
    SessionId,
    Cwd,
    Timestamp,
    Message,
    CustomTitle,
    Summary,
    Title,
    /// `id`, within `message`.
    Id,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "type" => Key::Type,
            "uuid" => Key::Uuid,
            "parentUuid" => Key::ParentUuid,
            "logicalParentUuid" => Key::LogicalParentUuid,
            "isSidechain" => Key::IsSidechain,
            "sessionId" => Key::SessionId,
            "cwd" => Key::Cwd,
            "timestamp" => Key::Timestamp,
            "message" => Key::Message,
            "customTitle" => Key::CustomTitle,
            "summary" => Key::Summary,
            "title" => Key::Title,
            "id" => Key::Id,
            _ => Key::Other,
        })
    }
}

/// `T` when the value is one, else nothing (the value is skipped).
struct Lenient<T>(Option<T>);

impl<'de> Deserialize<'de> for Lenient<String> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor::<String>(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for Lenient<bool> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor::<bool>(std::marker::PhantomData))
    }
}

struct LenientVisitor<T>(std::marker::PhantomData<T>);

/// Skips a value of any other shape than the one wanted.
macro_rules! skip_others {
    ($t:ty) => {
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Lenient<$t>, E> {
            Ok(Lenient(None))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Lenient<$t>, E> {
            Ok(Lenient(None))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Lenient<$t>, E> {
            Ok(Lenient(None))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Lenient<$t>, E> {
            Ok(Lenient(None))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient<$t>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Lenient(None))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient<$t>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Lenient(None))
        }
    };
}

impl<'de> Visitor<'de> for LenientVisitor<String> {
    type Value = Lenient<String>;
    skip_others!(String);
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient<String>, E> {
        Ok(Lenient(Some(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Lenient<String>, E> {
        Ok(Lenient(Some(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Lenient<String>, E> {
        Ok(Lenient(None))
    }
}

impl<'de> Visitor<'de> for LenientVisitor<bool> {
    type Value = Lenient<bool>;
    skip_others!(bool);
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Lenient<bool>, E> {
        Ok(Lenient(Some(v)))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Lenient<bool>, E> {
        Ok(Lenient(None))
    }
}

/// `message.id` when `message` is an object with a string `id`; the rest of the
/// message (its content, the bulk of the line) is skipped.
struct MessageId(Option<String>);

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MessageIdVisitor)
    }
}

struct MessageIdVisitor;

impl<'de> Visitor<'de> for MessageIdVisitor {
    type Value = MessageId;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MessageId, A::Error> {
        let mut id = None;
        while let Some(key) = map.next_key::<Key>()? {
            if matches!(key, Key::Id) {
                id = map.next_value::<Lenient<String>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(MessageId(id))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessageId, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MessageId(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<MessageId, E> {
        Ok(MessageId(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<MessageId, E> {
        Ok(MessageId(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<MessageId, E> {
        Ok(MessageId(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<MessageId, E> {
        Ok(MessageId(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<MessageId, E> {
        Ok(MessageId(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<MessageId, E> {
        Ok(MessageId(None))
    }
}

#[cfg(test)]
mod tests {
    use super::LineMeta;

    #[test]
    fn reads_the_tree_fields_and_skips_the_rest() {
        let line = r#"{"type":"assistant","uuid":"u2","parentUuid":"u1","isSidechain":false,
            "message":{"content":[{"type":"text","text":"{\"id\":\"no\"}"}],"id":"msg_1"},
            "sessionId":"s","cwd":"/p","timestamp":"2026-01-05T09:00:00Z"}"#;
        let meta: LineMeta = serde_json::from_str(line).unwrap();
        assert_eq!(meta.kind.as_deref(), Some("assistant"));
        assert_eq!(meta.uuid.as_deref(), Some("u2"));
        assert_eq!(meta.parent.as_deref(), Some("u1"));
        assert_eq!(meta.is_sidechain, Some(false));
        assert_eq!(meta.message_id.as_deref(), Some("msg_1"));
        assert_eq!(meta.cwd.as_deref(), Some("/p"));
    }

    #[test]
    fn fields_of_another_type_read_as_absent_and_the_last_repeat_wins() {
        let line = r#"{"type":"user","type":"system","uuid":7,"parentUuid":null,
            "isSidechain":"yes","message":"text","cwd":["/a"]}"#;
        let meta: LineMeta = serde_json::from_str(line).unwrap();
        assert_eq!(meta.kind.as_deref(), Some("system"));
        assert_eq!(meta.uuid, None);
        assert_eq!(meta.parent, None);
        assert_eq!(meta.is_sidechain, None);
        assert_eq!(meta.message_id, None);
        assert_eq!(meta.cwd, None);
    }

    #[test]
    fn json_that_is_not_an_object_is_a_data_error_and_bad_json_a_syntax_error() {
        let array = serde_json::from_str::<LineMeta>("[1,2]").err().unwrap();
        assert_eq!(array.classify(), serde_json::error::Category::Data);
        let broken = serde_json::from_str::<LineMeta>(r#"{"type": "#)
            .err()
            .unwrap();
        assert_ne!(broken.classify(), serde_json::error::Category::Data);
    }
}
