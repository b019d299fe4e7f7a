//! A [`ContentBlock`]'s JSON form: `{"type":"text","text":"…"}` and the other
//! known types; any other `type` is kept whole as [`ContentBlock::Other`].
//!
//! A resume decodes every block of the live context, so the usual shape — `type`
//! first, as cairn and the providers write it — is read in one pass straight into
//! its variant. A block whose `type` comes later is read into a map first and then
//! converted, which accepts the same input and gives the same value.

use std::fmt;

use serde::de::{Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::event::{ContentBlock, MediaBlock, ToolResultContent};

/// The known block types, as written: borrowed from the block, so writing one
/// copies nothing.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownRef<'a> {
    Text {
        text: &'a str,
    },
    Thinking {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        signature: &'a Option<String>,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a ToolResultContent,
        is_error: bool,
    },
    Image(&'a MediaBlock),
    Video(&'a MediaBlock),
}

impl Serialize for ContentBlock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let known = match self {
            ContentBlock::Text { text } => KnownRef::Text { text },
            ContentBlock::Thinking { text, signature } => KnownRef::Thinking { text, signature },
            ContentBlock::ToolUse { id, name, input } => KnownRef::ToolUse { id, name, input },
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => KnownRef::ToolResult {
                tool_use_id,
                content,
                is_error: *is_error,
            },
            ContentBlock::Image(m) => KnownRef::Image(m),
            ContentBlock::Video(m) => KnownRef::Video(m),
            ContentBlock::Other(map) => return map.serialize(serializer),
        };
        known.serialize(serializer)
    }
}

/// The known types.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Thinking,
    ToolUse,
    ToolResult,
    Image,
    Video,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "text" => Kind::Text,
            "thinking" => Kind::Thinking,
            "tool_use" => Kind::ToolUse,
            "tool_result" => Kind::ToolResult,
            "image" => Kind::Image,
            "video" => Kind::Video,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Thinking => "thinking",
            Kind::ToolUse => "tool_use",
            Kind::ToolResult => "tool_result",
            Kind::Image => "image",
            Kind::Video => "video",
        }
    }
}

const NO_TYPE: &str = "content block has no string field \"type\"";

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BlockVisitor)
    }
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = ContentBlock;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a content block (an object with a string field \"type\")")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<ContentBlock, A::Error> {
        let Some(first) = access.next_key::<String>()? else {
            return Err(A::Error::custom(NO_TYPE));
        };
        if first != "type" {
            let mut map = Map::new();
            let value = access.next_value()?;
            map.insert(first, value);
            while let Some((key, value)) = access.next_entry::<String, Value>()? {
                map.insert(key, value);
            }
            return from_map(map);
        }
        let kind = match access.next_value::<Value>()? {
            Value::String(kind) => kind,
            _ => return Err(A::Error::custom(NO_TYPE)),
        };
        match Kind::parse(&kind) {
            Some(known) => Fields::default().read(known, access),
            None => {
                // Kept whole, `type` first as it came.
                let mut map = Map::new();
                map.insert("type".into(), Value::String(kind));
                while let Some((key, value)) = access.next_entry::<String, Value>()? {
                    map.insert(key, value);
                }
                // A later `type` may have replaced this one, as in a map read whole.
                from_map(map)
            }
        }
    }
}

/// A block read whole into `map`: an unknown type is kept as it is, a known one
/// read into its variant by the same [`Fields`] as the one-pass path.
fn from_map<E: serde::de::Error>(mut map: Map<String, Value>) -> Result<ContentBlock, E> {
    let kind = match map.get("type").and_then(Value::as_str).map(Kind::parse) {
        None => return Err(E::custom(NO_TYPE)),
        Some(None) => return Ok(ContentBlock::Other(map)),
        Some(Some(kind)) => kind,
    };
    map.remove("type");
    let fields = serde::de::value::MapDeserializer::new(map.into_iter());
    Fields::default()
        .read(kind, fields)
        .map_err(|e: serde_json::Error| E::custom(e))
}

/// The fields of a known block after its `type`; a field given twice keeps its
/// last value, fields no type of block has are skipped.
#[derive(Default)]
struct Fields {
    text: Option<String>,
    signature: Option<String>,
    id: Option<String>,
    name: Option<String>,
    input: Option<Value>,
    tool_use_id: Option<String>,
    content: Option<ToolResultContent>,
    is_error: Option<bool>,
    sha256: Option<String>,
    mime: Option<String>,
    data_base64: Option<String>,
}

impl Fields {
    fn read<'de, A: MapAccess<'de>>(
        mut self,
        kind: Kind,
        mut access: A,
    ) -> Result<ContentBlock, A::Error> {
        let context =
            |e: A::Error| A::Error::custom(format!("content block \"{}\": {e}", kind.name()));
        while let Some(key) = access.next_key::<String>()? {
            match (kind, key.as_str()) {
                (_, "type") => {
                    // The map path reads the last `type`, which may name another kind.
                    return Err(A::Error::custom(format!(
                        "content block \"{}\": field \"type\" given twice",
                        kind.name()
                    )));
                }
                (Kind::Text | Kind::Thinking, "text") => {
                    self.text = Some(access.next_value().map_err(context)?);
                }
                (Kind::Thinking, "signature") => {
                    self.signature = access.next_value().map_err(context)?;
                }
                (Kind::ToolUse, "id") => self.id = Some(access.next_value().map_err(context)?),
                (Kind::ToolUse, "name") => self.name = Some(access.next_value().map_err(context)?),
                (Kind::ToolUse, "input") => {
                    self.input = Some(access.next_value().map_err(context)?);
                }
                (Kind::ToolResult, "tool_use_id") => {
                    self.tool_use_id = Some(access.next_value().map_err(context)?);
                }
                (Kind::ToolResult, "content") => {
                    self.content = Some(access.next_value().map_err(context)?);
                }
                (Kind::ToolResult, "is_error") => {
                    self.is_error = Some(access.next_value().map_err(context)?);
                }
                (Kind::Image | Kind::Video, "sha256") => {
                    self.sha256 = Some(access.next_value().map_err(context)?);
                }
                (Kind::Image | Kind::Video, "mime") => {
                    self.mime = Some(access.next_value().map_err(context)?);
                }
                (Kind::Image | Kind::Video, "data_base64") => {
                    self.data_base64 = access.next_value().map_err(context)?;
                }
                _ => {
                    access.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.into_block(kind).map_err(|field| {
            A::Error::custom(format!(
                "content block \"{}\": missing field `{field}`",
                kind.name()
            ))
        })
    }

    /// The variant, or the name of the first required field that was missing.
    fn into_block(self, kind: Kind) -> Result<ContentBlock, &'static str> {
        let media = |sha256: Option<String>, mime: Option<String>, data_base64| {
            Ok::<_, &'static str>(MediaBlock {
                sha256: sha256.ok_or("sha256")?,
                mime: mime.ok_or("mime")?,
                data_base64,
            })
        };
        Ok(match kind {
            Kind::Text => ContentBlock::Text {
                text: self.text.ok_or("text")?,
            },
            Kind::Thinking => ContentBlock::Thinking {
                text: self.text.ok_or("text")?,
                signature: self.signature,
            },
            Kind::ToolUse => ContentBlock::ToolUse {
                id: self.id.ok_or("id")?,
                name: self.name.ok_or("name")?,
                input: self.input.ok_or("input")?,
            },
            Kind::ToolResult => ContentBlock::ToolResult {
                tool_use_id: self.tool_use_id.ok_or("tool_use_id")?,
                content: self.content.ok_or("content")?,
                is_error: self.is_error.unwrap_or(false),
            },
            Kind::Image => ContentBlock::Image(media(self.sha256, self.mime, self.data_base64)?),
            Kind::Video => ContentBlock::Video(media(self.sha256, self.mime, self.data_base64)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(json: &str) -> Result<ContentBlock, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    /// Each shape read through the map path (as when `type` is not the first field).
    fn through_map(json: &str) -> Result<ContentBlock, String> {
        let map: Map<String, Value> = serde_json::from_str(json).map_err(|e| e.to_string())?;
        from_map::<serde_json::Error>(map).map_err(|e| e.to_string())
    }

    #[test]
    fn type_first_reads_as_the_map_path_does() {
        let cases = [
            r#"{"type":"text","text":"hi"}"#,
            r#"{"type":"thinking","text":"hm","signature":"sig"}"#,
            r#"{"type":"thinking","text":"hm","signature":null}"#,
            r#"{"type":"tool_use","id":"t1","name":"read_file","input":{"path":"a.rs"}}"#,
            r#"{"type":"tool_result","tool_use_id":"t1","content":"ok"}"#,
            r#"{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"x"}],"is_error":true}"#,
            r#"{"type":"image","sha256":"ab","mime":"image/png"}"#,
            r#"{"type":"video","sha256":"ab","mime":"video/mp4","data_base64":"AAAA"}"#,
            r#"{"type":"text","text":"first","text":"last","extra":[1,2]}"#,
            r#"{"type":"server_tool_use","id":"s1","input":{}}"#,
            r#"{"type":"text"}"#,
            r#"{"type":"tool_use","id":"t1","input":{}}"#,
            r#"{"type":"text","text":null}"#,
            r#"{"type":"image","sha256":"ab"}"#,
            r#"{"type":7,"text":"x"}"#,
            r#"{}"#,
        ];
        for json in cases {
            let fast = block(json);
            let slow = through_map(json);
            match (&fast, &slow) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{json}"),
                (Err(a), Err(b)) => {
                    // The same rule named; the fast path adds where in the line.
                    let rule = b.split(" at line").next().unwrap_or(b);
                    assert!(a.starts_with(rule), "{json}: {a} / {b}");
                }
                _ => panic!("{json}: {fast:?} against {slow:?}"),
            }
        }
    }

    #[test]
    fn what_each_shape_reads_as() {
        assert_eq!(
            block(r#"{"type":"text","text":"first","text":"last","extra":[1,2]}"#),
            Ok(ContentBlock::text("last"))
        );
        assert_eq!(
            block(r#"{"text":"hm","signature":null,"type":"thinking"}"#),
            Ok(ContentBlock::Thinking {
                text: "hm".into(),
                signature: None
            })
        );
        assert_eq!(
            block(r#"{"tool_use_id":"t1","content":"ok","type":"tool_result"}"#),
            Ok(ContentBlock::ToolResult {
                tool_use_id: "t1".into(),
                content: ToolResultContent::Text("ok".into()),
                is_error: false
            })
        );
        for json in [
            r#"{"type":"tool_use","id":"t1","input":{}}"#,
            r#"{"id":"t1","input":{},"type":"tool_use"}"#,
        ] {
            let err = block(json).unwrap_err();
            assert!(
                err.starts_with("content block \"tool_use\": missing field `name`"),
                "{json}: {err}"
            );
        }
    }

    #[test]
    fn unknown_types_are_kept_whole_in_order_and_written_back_as_read() {
        for json in [
            r#"{"type":"server_tool_use","id":"s1","input":{"q":"x"},"z":1,"a":2}"#,
            r#"{"id":"s1","type":"web_search_result","a":[1]}"#,
        ] {
            let read = block(json).unwrap();
            assert!(matches!(read, ContentBlock::Other(_)), "{json}");
            assert_eq!(serde_json::to_string(&read).unwrap(), json);
        }
    }

    #[test]
    fn type_after_other_fields_is_read_as_before() {
        let read = block(r#"{"text":"hi","type":"text"}"#).unwrap();
        assert_eq!(read, ContentBlock::text("hi"));
        // An unknown type first and a known one later: the last one counts.
        let read = block(r#"{"type":"custom","text":"hi","type":"text"}"#).unwrap();
        assert_eq!(read, ContentBlock::text("hi"));
    }

    #[test]
    fn a_second_type_after_a_known_one_is_refused() {
        let err = block(r#"{"type":"text","text":"hi","type":"image"}"#).unwrap_err();
        assert!(err.contains("field \"type\" given twice"), "{err}");
    }

    #[test]
    fn known_blocks_write_type_first_and_round_trip() {
        let blocks = [
            ContentBlock::text("hi"),
            ContentBlock::Thinking {
                text: "hm".into(),
                signature: None,
            },
            ContentBlock::ToolResult {
                tool_use_id: "t1".into(),
                content: ToolResultContent::Text("ok".into()),
                is_error: false,
            },
        ];
        for b in blocks {
            let json = serde_json::to_string(&b).unwrap();
            assert!(json.starts_with(r#"{"type":""#), "{json}");
            assert_eq!(block(&json).unwrap(), b);
        }
        assert_eq!(
            serde_json::to_string(&ContentBlock::Thinking {
                text: "hm".into(),
                signature: None
            })
            .unwrap(),
            r#"{"type":"thinking","text":"hm"}"#
        );
    }
}
