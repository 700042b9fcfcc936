//! The JSON Schema in docs/ agrees with the simulator: every sample is valid under it, and
//! documents the simulator refuses for their shape are refused by it too.
//!
//! A small validator for the subset of draft 2020-12 the schema uses (type, const, enum,
//! properties, required, additionalProperties, items, min/maxItems, minimum, maximum,
//! exclusiveMinimum, maxLength, pattern as an id check, oneOf, $ref), so the schema cannot drift.

use faultline_core::scenario::Scenario;
use serde_json::Value;

struct Validator<'a> {
    root: &'a Value,
}

impl Validator<'_> {
    fn check(&self, schema: &Value, v: &Value, path: &str) -> Result<(), String> {
        let Some(s) = schema.as_object() else {
            return Ok(());
        };
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            return self.check(&self.root["$defs"][name], v, path);
        }
        if let Some(variants) = s.get("oneOf").and_then(Value::as_array) {
            let ok = variants
                .iter()
                .filter(|x| self.check(x, v, path).is_ok())
                .count();
            if ok != 1 {
                return Err(format!("{path}: matches {ok} of the oneOf variants"));
            }
        }
        if let Some(c) = s.get("const")
            && c != v
        {
            return Err(format!("{path}: expected {c}"));
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            return Err(format!("{path}: {v} is not one of {e:?}"));
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(x) => vec![x.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let fits = types.iter().any(|t| match *t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "number" => v.is_number(),
                "integer" => {
                    v.is_u64() || v.is_i64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
                }
                "boolean" => v.is_boolean(),
                "null" => v.is_null(),
                _ => false,
            });
            if !fits {
                return Err(format!("{path}: expected {types:?}, got {v}"));
            }
        }
        if let Some(x) = v.as_f64() {
            if s.get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| x < m)
            {
                return Err(format!("{path}: {x} below the minimum"));
            }
            if s.get("maximum")
                .and_then(Value::as_f64)
                .is_some_and(|m| x > m)
            {
                return Err(format!("{path}: {x} above the maximum"));
            }
            if s.get("exclusiveMinimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| x <= m)
            {
                return Err(format!("{path}: {x} not above the minimum"));
            }
        }
        if let Some(text) = v.as_str() {
            if s.get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| text.chars().count() as u64 > m)
            {
                return Err(format!("{path}: too long"));
            }
            if s.contains_key("pattern") && !(1..=40).contains(&text.len())
                || s.contains_key("pattern")
                    && !text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!("{path}: not an id"));
            }
        }
        if let Some(items) = v.as_array() {
            if s.get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| (items.len() as u64) < m)
            {
                return Err(format!("{path}: too few items"));
            }
            if s.get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| items.len() as u64 > m)
            {
                return Err(format!("{path}: too many items"));
            }
            if let Some(each) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    self.check(each, item, &format!("{path}[{i}]"))?;
                }
            }
        }
        if let Some(obj) = v.as_object() {
            let props = s.get("properties").and_then(Value::as_object);
            for req in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !obj.contains_key(req.as_str().unwrap_or_default()) {
                    return Err(format!("{path}: {req} is required"));
                }
            }
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(sub) => self.check(sub, val, &format!("{path}.{k}"))?,
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            return Err(format!("{path}: unknown field {k}"));
                        }
                        Some(sub @ Value::Object(_)) => {
                            self.check(sub, val, &format!("{path}.{k}"))?
                        }
                        _ => {}
                    },
                }
            }
        }
        Ok(())
    }
}

fn schema() -> Value {
    let text = include_str!("../../../docs/scenario.schema.json");
    serde_json::from_str(text).expect("the schema is JSON")
}

#[test]
fn every_sample_is_valid_under_the_schema() {
    let schema = schema();
    let v = Validator { root: &schema };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/scenarios");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            v.check(&schema, &doc, "")
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }
}

#[test]
fn shape_errors_are_refused_by_both_the_schema_and_the_simulator() {
    let schema = schema();
    let v = Validator { root: &schema };
    let base: Value =
        serde_json::from_str(include_str!("../../../tests/scenarios/faults.json")).unwrap();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        (
            "unknown top-level field",
            Box::new(|d| d["sead"] = 1.into()),
        ),
        (
            "misspelt model field",
            Box::new(|d| d["nodes"][0]["model"]["timout_ms"] = 5.into()),
        ),
        (
            "unknown model",
            Box::new(|d| d["nodes"][0]["model"]["type"] = "toaster".into()),
        ),
        (
            "loss above 1",
            Box::new(|d| d["links"][0]["loss"] = 1.5.into()),
        ),
        (
            "negative latency",
            Box::new(|d| {
                d["links"][0]["latency"] = serde_json::json!({"type": "constant", "ms": -1})
            }),
        ),
        (
            "unknown intervention",
            Box::new(|d| d["interventions"][0]["do"] = "explode".into()),
        ),
        (
            "bad backoff",
            Box::new(|d| d["nodes"][0]["model"]["retry"]["backoff"]["type"] = "random".into()),
        ),
        ("version 2", Box::new(|d| d["version"] = 2.into())),
        ("no nodes", Box::new(|d| d["nodes"] = serde_json::json!([]))),
    ];
    for (what, mutate) in mutations {
        let mut doc = base.clone();
        mutate(&mut doc);
        assert!(
            v.check(&schema, &doc, "").is_err(),
            "the schema accepts: {what}"
        );
        assert!(
            Scenario::parse(&doc.to_string()).is_err(),
            "the simulator accepts: {what}"
        );
    }
}
