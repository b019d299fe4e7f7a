//! The JSON Schemas the tools declare (`inputSchema`, `outputSchema`), made
//! from the `cairn_app::inputs` types and the result types of `cairn-app`'s operations.
//!
//! schemars marks Rust integer widths with `format: "uint64"`, `"int32"`, …,
//! which are not JSON Schema formats: TypeScript clients warn about them on
//! every call. They are written as plain `integer`s here, unsigned ones with
//! `minimum: 0`.

use std::sync::Arc;

use rmcp::handler::server::tool::{schema_for_input, schema_for_output};
use rmcp::model::JsonObject;
use serde_json::{Value, json};

/// The input schema of a tool.
pub(crate) fn input_schema<T: schemars::JsonSchema + 'static>() -> Arc<JsonObject> {
    // The schemas are fixed types with object roots (checked by a test); the
    // fallback only keeps a bad schema from taking the server down.
    let schema = schema_for_input::<T>().unwrap_or_else(|_| Arc::new(JsonObject::new()));
    plain(schema)
}

/// The output schema of a tool.
pub(crate) fn output_schema<T: schemars::JsonSchema + 'static>() -> Arc<JsonObject> {
    plain(schema_for_output::<T>())
}

fn plain(schema: Arc<JsonObject>) -> Arc<JsonObject> {
    let mut schema = Arc::unwrap_or_clone(schema);
    for value in schema.values_mut() {
        plain_integers(value);
    }
    plain_integers_in(&mut schema);
    Arc::new(schema)
}

/// Replace integer-width formats in every (sub)schema below `value`.
fn plain_integers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            plain_integers_in(map);
            for child in map.values_mut() {
                plain_integers(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(plain_integers),
        _ => {}
    }
}

fn plain_integers_in(map: &mut JsonObject) {
    let Some(Value::String(format)) = map.get("format") else {
        return;
    };
    let unsigned = format.starts_with("uint");
    if !(unsigned || format.starts_with("int")) {
        return;
    }
    map.remove("format");
    if unsigned {
        let at_least_zero = map
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| m >= 0.0);
        if !at_least_zero {
            map.insert("minimum".into(), json!(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_formats_become_plain_integers() {
        let mut value = json!({
            "type": "object",
            "properties": {
                "count": { "type": "integer", "format": "uint64", "minimum": 0 },
                "id": { "type": ["integer", "null"], "format": "int64" },
                "small": { "type": "integer", "format": "uint8", "minimum": 3 },
                "when": { "type": "string", "format": "date-time" },
                "items": { "type": "array", "items": { "type": "integer", "format": "uint32" } }
            }
        });
        plain_integers(&mut value);
        assert_eq!(
            value["properties"],
            json!({
                "count": { "type": "integer", "minimum": 0 },
                "id": { "type": ["integer", "null"] },
                "small": { "type": "integer", "minimum": 3 },
                "when": { "type": "string", "format": "date-time" },
                "items": { "type": "array", "items": { "type": "integer", "minimum": 0 } }
            })
        );
    }
}
