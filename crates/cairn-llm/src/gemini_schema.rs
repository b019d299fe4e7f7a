//! Tool schemas as Gemini takes them.
//!
//! Gemini's `functionDeclarations[].parameters` is a subset of the OpenAPI 3.0 schema
//! object (ai.google.dev/api/caching#Schema), not JSON Schema: a request holding
//! `additionalProperties`, `$schema`, `$ref`, `const`, a type array or a format it does
//! not know is refused with HTTP 400. MCP servers send any JSON Schema, so every tool
//! schema is converted here: local `$ref`s are inlined, `["T", "null"]` becomes
//! `T` + `nullable`, `oneOf` becomes `anyOf`, `const` a one-value `enum`, and every
//! keyword outside the subset is left out.

use serde_json::{Map, Value, json};

/// Keywords of Gemini's `Schema` kept as they are (scalars only; nested schemas are
/// converted below).
const KEPT: &[&str] = &[
    "description",
    "nullable",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "title",
    "default",
    "example",
];

/// `format` values Gemini accepts, by type (others are dropped: `uri`, `email`, …).
fn format_allowed(kind: &str, format: &str) -> bool {
    match kind {
        "string" => matches!(format, "enum" | "date-time"),
        "number" => matches!(format, "float" | "double"),
        "integer" => matches!(format, "int32" | "int64"),
        _ => false,
    }
}

/// How deep `$ref`s are followed: a recursive schema stops here (as a plain object).
const MAX_DEPTH: usize = 12;

/// The `parameters` of a function declaration for a tool's JSON Schema, or `None`
/// when the tool takes no arguments (Gemini refuses an OBJECT with no properties).
pub(crate) fn parameters(input_schema: &Value) -> Option<Value> {
    let converted = convert(input_schema, input_schema, 0);
    let has_properties = converted
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    has_properties.then_some(converted)
}

fn convert(schema: &Value, root: &Value, depth: usize) -> Value {
    let Some(map) = schema.as_object() else {
        // `true` / `{}`: any value. Gemini needs a type; a string is what a model can
        // always write.
        return json!({"type": "string"});
    };
    if let Some(target) = map.get("$ref").and_then(Value::as_str) {
        let resolved = (depth < MAX_DEPTH).then(|| resolve(root, target)).flatten();
        let mut out = match resolved {
            Some(target) => convert(target, root, depth + 1),
            None => json!({"type": "object"}),
        };
        if let (Some(description), Some(out)) = (map.get("description"), out.as_object_mut()) {
            out.insert("description".into(), description.clone());
        }
        return out;
    }
    let mut out = Map::new();
    for key in KEPT {
        if let Some(value) = map.get(*key).filter(|v| !v.is_null()) {
            out.insert((*key).into(), value.clone());
        }
    }
    // A type array: `["string", "null"]` is a nullable string; several real types
    // become `anyOf`.
    let mut kind: Option<String> = None;
    match map.get("type") {
        Some(Value::String(t)) => kind = Some(t.clone()),
        Some(Value::Array(types)) => {
            let real: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            if real.len() < types.len() {
                out.insert("nullable".into(), json!(true));
            }
            match real.as_slice() {
                [one] => kind = Some((*one).to_owned()),
                [] => {}
                many => {
                    let any: Vec<Value> = many.iter().map(|t| json!({"type": t})).collect();
                    out.insert("anyOf".into(), Value::Array(any));
                }
            }
        }
        _ => {}
    }
    if kind.as_deref() == Some("null") {
        out.insert("nullable".into(), json!(true));
        kind = None;
    }
    // `const` is a one-value enum; Gemini's enums are strings.
    let values = map
        .get("enum")
        .and_then(Value::as_array)
        .cloned()
        .or_else(|| map.get("const").map(|c| vec![c.clone()]));
    if let Some(values) = values {
        let strings: Vec<Value> = values.iter().filter(|v| v.is_string()).cloned().collect();
        if !strings.is_empty() && strings.len() == values.len() {
            out.insert("enum".into(), Value::Array(strings));
            kind.get_or_insert_with(|| "string".to_owned());
        } else if !values.is_empty() {
            // Numbers or mixed values: say them in words rather than lose them.
            let listed: Vec<String> = values.iter().map(Value::to_string).collect();
            let note = format!("one of: {}", listed.join(", "));
            append_description(&mut out, &note);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = map.get(key).and_then(Value::as_array) {
            let (nullable, rest): (Vec<&Value>, Vec<&Value>) = options
                .iter()
                .partition(|o| o.get("type").and_then(Value::as_str) == Some("null"));
            if !nullable.is_empty() {
                out.insert("nullable".into(), json!(true));
            }
            match rest.as_slice() {
                [only] => merge_into(&mut out, convert(only, root, depth + 1)),
                [] => {}
                many => {
                    let converted: Vec<Value> =
                        many.iter().map(|o| convert(o, root, depth + 1)).collect();
                    out.insert("anyOf".into(), Value::Array(converted));
                }
            }
        }
    }
    // `allOf`: the parts describe one value; their properties are merged.
    if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
        for part in parts {
            merge_into(&mut out, convert(part, root, depth + 1));
        }
    }
    if kind.is_none() && !out.contains_key("anyOf") && !out.contains_key("type") {
        kind = if map.contains_key("properties") {
            Some("object".into())
        } else if map.contains_key("items") {
            Some("array".into())
        } else {
            None
        };
    }
    if let Some(kind) = &kind {
        out.insert("type".into(), json!(kind));
        if let Some(format) = map.get("format").and_then(Value::as_str)
            && format_allowed(kind, format)
        {
            out.insert("format".into(), json!(format));
        }
    }
    if let Some(properties) = map.get("properties").and_then(Value::as_object) {
        let converted: Map<String, Value> = properties
            .iter()
            .map(|(name, sub)| (name.clone(), convert(sub, root, depth + 1)))
            .collect();
        if !converted.is_empty() {
            let names: Vec<&String> = converted.keys().collect();
            // Only names that exist: Gemini refuses a `required` naming no property.
            if let Some(required) = map.get("required").and_then(Value::as_array) {
                let required: Vec<Value> = required
                    .iter()
                    .filter(|r| r.as_str().is_some_and(|r| names.iter().any(|n| *n == r)))
                    .cloned()
                    .collect();
                if !required.is_empty() {
                    out.insert("required".into(), Value::Array(required));
                }
            }
            out.insert("properties".into(), Value::Object(converted));
        }
    }
    match map.get("items") {
        Some(items @ Value::Object(_)) => {
            out.insert("items".into(), convert(items, root, depth + 1));
        }
        // Tuple form (`items: [...]`, draft 4-2019): the first item's schema.
        Some(Value::Array(items)) => {
            if let Some(first) = items.first() {
                out.insert("items".into(), convert(first, root, depth + 1));
            }
        }
        _ if out.get("type").and_then(Value::as_str) == Some("array") => {
            // Gemini needs `items` for an ARRAY.
            out.insert("items".into(), json!({"type": "string"}));
        }
        _ => {}
    }
    if out.is_empty() {
        return json!({"type": "string"});
    }
    Value::Object(out)
}

/// A local reference (`#/$defs/X`, `#/definitions/X`, any JSON pointer into the root).
fn resolve<'a>(root: &'a Value, target: &str) -> Option<&'a Value> {
    let pointer = target.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

fn merge_into(out: &mut Map<String, Value>, part: Value) {
    let Value::Object(part) = part else {
        return;
    };
    for (key, value) in part {
        match (key.as_str(), out.get_mut(&key)) {
            ("properties", Some(Value::Object(existing))) => {
                if let Value::Object(more) = value {
                    existing.extend(more);
                }
            }
            ("required", Some(Value::Array(existing))) => {
                if let Value::Array(more) = value {
                    existing.extend(more);
                }
            }
            // The outer schema's own words win over a part's.
            (_, Some(_)) => {}
            (_, None) => {
                out.insert(key, value);
            }
        }
    }
}

fn append_description(out: &mut Map<String, Value>, note: &str) {
    let text = match out.get("description").and_then(Value::as_str) {
        Some(existing) if !existing.is_empty() => format!("{existing} ({note})"),
        _ => note.to_owned(),
    };
    out.insert("description".into(), json!(text));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key used anywhere in a converted schema.
    fn keys(value: &Value, out: &mut Vec<String>) {
        if let Value::Object(map) = value {
            for (k, v) in map {
                out.push(k.clone());
                if k == "properties" {
                    for sub in v.as_object().into_iter().flat_map(|m| m.values()) {
                        keys(sub, out);
                    }
                } else {
                    keys(v, out);
                }
            }
        } else if let Value::Array(items) = value {
            items.iter().for_each(|i| keys(i, out));
        }
    }

    #[test]
    fn refused_keywords_are_converted_or_dropped() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "$defs": {"Mode": {"type": "string", "enum": ["fast", "slow"]}},
            "properties": {
                "url": {"type": "string", "format": "uri"},
                "when": {"type": "string", "format": "date-time"},
                "count": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
                "mode": {"$ref": "#/$defs/Mode", "description": "how"},
                "kind": {"const": "file"},
                "level": {"enum": [1, 2, 3], "type": "integer"},
                "either": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "tags": {"type": "array"},
                "meta": {"type": "object", "additionalProperties": {"type": "string"}}
            },
            "required": ["url", "ghost"]
        });
        let p = parameters(&schema).unwrap();
        let mut all = Vec::new();
        keys(&p, &mut all);
        for refused in [
            "$schema",
            "additionalProperties",
            "$defs",
            "$ref",
            "const",
            "oneOf",
        ] {
            assert!(!all.iter().any(|k| k == refused), "{refused} in {p}");
        }
        let props = &p["properties"];
        assert_eq!(props["url"], json!({"type": "string"}));
        assert_eq!(props["when"]["format"], "date-time");
        assert_eq!(
            props["count"],
            json!({"type": "integer", "nullable": true, "minimum": 0})
        );
        assert_eq!(
            props["mode"],
            json!({"type": "string", "enum": ["fast", "slow"], "description": "how"})
        );
        assert_eq!(props["kind"], json!({"type": "string", "enum": ["file"]}));
        assert_eq!(props["level"]["type"], "integer");
        assert!(props["level"].get("enum").is_none());
        assert!(
            props["level"]["description"]
                .as_str()
                .unwrap()
                .contains("1, 2, 3")
        );
        assert_eq!(
            props["either"]["anyOf"],
            json!([{"type": "string"}, {"type": "number"}])
        );
        assert_eq!(props["maybe"], json!({"nullable": true, "type": "string"}));
        assert_eq!(props["tags"]["items"], json!({"type": "string"}));
        assert_eq!(props["meta"], json!({"type": "object"}));
        assert_eq!(p["required"], json!(["url"]));
    }

    #[test]
    fn no_arguments_means_no_parameters_and_recursion_stops() {
        assert_eq!(
            parameters(&json!({"type": "object", "properties": {}})),
            None
        );
        assert_eq!(parameters(&json!({"type": "object"})), None);
        let recursive = json!({
            "type": "object",
            "properties": {"node": {"$ref": "#"}}
        });
        let p = parameters(&recursive).unwrap();
        assert_eq!(p["properties"]["node"]["type"], "object");
    }
}
