//! Reading internally tagged enums, `{"type": "uniform", "min_ms": 1, "max_ms": 2}`, by hand
//! from a `serde_json::Value`.
//!
//! Why not serde's derive (`#[serde(tag = "type")]`): it buffers each object into serde's
//! private `Content` and compiles, for every variant, a reader of that buffer, plus a buffering
//! visitor for every deserialiser the enum is read through. For the scenario's tagged enums
//! (distributions, interventions, chaos rules, workloads, retry budgets, breaker windows) that
//! was about 150 KB of the page's wasm. Here each enum lists its variants and fields once, and
//! every field is read by `serde_json::from_value`, whose readers of numbers, strings and lists
//! the page carries anyway.
//!
//! The messages are serde's own (`missing field`, `unknown variant`, `unknown field`,
//! `invalid type`), so a learner's typo reads the same as anywhere else in a scenario.

use serde::de::{DeserializeOwned, Error as _};
use serde_json::{Error, Map, Value};

/// An enum's variants as the scenario writes them: (tag value, its fields).
pub(crate) type Variants = [(&'static str, &'static [&'static str])];

/// Reads a `T` through a `Value` with `read`: the body of a hand-written `Deserialize`.
pub(crate) fn deserialize<'de, D, T>(
    d: D,
    read: fn(Value) -> Result<T, Error>,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize as _;
    let value = Value::deserialize(d)?;
    read(value).map_err(D::Error::custom)
}

/// The fields of one tagged object, taken one by one.
pub(crate) struct Fields(Map<String, Value>);

/// Opens a tagged object: checks that it is an object, takes its `tag`, finds the variant in
/// `variants` (whose names are `names`, the same order), and refuses a field the variant does
/// not have. Returns the variant's index and its fields. `what` names the enum in an "invalid
/// type" message ("a distribution").
pub(crate) fn open(
    value: Value,
    tag: &'static str,
    names: &'static [&'static str],
    variants: &'static Variants,
    what: &'static str,
) -> Result<(usize, Fields), Error> {
    debug_assert!(names.iter().eq(variants.iter().map(|(n, _)| n)));
    let Value::Object(mut o) = value else {
        return Err(Error::invalid_type(unexpected(&value), &what));
    };
    let kind = match o.remove(tag) {
        Some(Value::String(s)) => s,
        Some(other) => return Err(Error::invalid_type(unexpected(&other), &"a variant name")),
        None => return Err(Error::missing_field(tag)),
    };
    let Some(i) = names.iter().position(|n| *n == kind) else {
        return Err(Error::unknown_variant(&kind, names));
    };
    let fields = variants[i].1;
    if let Some(k) = o.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(Error::unknown_field(k, fields));
    }
    Ok((i, Fields(o)))
}

impl Fields {
    /// A required field.
    pub(crate) fn req<T: DeserializeOwned>(&mut self, k: &'static str) -> Result<T, Error> {
        let v = self.0.remove(k).ok_or_else(|| Error::missing_field(k))?;
        serde_json::from_value(v)
    }

    /// A field that may be left out, `or` when it is.
    pub(crate) fn or<T: DeserializeOwned>(&mut self, k: &'static str, or: T) -> Result<T, Error> {
        match self.0.remove(k) {
            Some(v) => serde_json::from_value(v),
            None => Ok(or),
        }
    }
}

/// How serde names a JSON value's type in an "invalid type" message.
pub(crate) fn unexpected(v: &Value) -> serde::de::Unexpected<'_> {
    use serde::de::Unexpected as U;
    match v {
        Value::Null => U::Unit,
        Value::Bool(b) => U::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => U::Unsigned(u),
            (_, Some(i), _) => U::Signed(i),
            (_, _, Some(f)) => U::Float(f),
            _ => U::Other("number"),
        },
        Value::String(s) => U::Str(s),
        Value::Array(_) => U::Seq,
        Value::Object(_) => U::Map,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["one", "two"];
    const VARIANTS: &Variants = &[("one", &["a"]), ("two", &["a", "b"])];

    fn read(text: &str) -> Result<(usize, u32, u32), String> {
        let v: Value = serde_json::from_str(text).unwrap();
        let (i, mut f) =
            open(v, "kind", NAMES, VARIANTS, "a test enum").map_err(|e| e.to_string())?;
        let a = f.req("a").map_err(|e| e.to_string())?;
        let b = if i == 1 {
            f.or("b", 7).map_err(|e| e.to_string())?
        } else {
            0
        };
        Ok((i, a, b))
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn reads_variants_and_names_each_mistake_as_serde_does() {
        assert_eq!(read(r#"{"kind": "one", "a": 1}"#), Ok((0, 1, 0)));
        assert_eq!(read(r#"{"a": 2, "kind": "two", "b": 3}"#), Ok((1, 2, 3)));
        assert_eq!(read(r#"{"kind": "two", "a": 2}"#), Ok((1, 2, 7)));
        let err = |t| read(t).unwrap_err();
        assert_eq!(err(r#"{"a": 1}"#), "missing field `kind`");
        assert_eq!(
            err(r#"{"kind": 3}"#),
            "invalid type: integer `3`, expected a variant name"
        );
        assert_eq!(
            err(r#"{"kind": "three"}"#),
            "unknown variant `three`, expected `one` or `two`"
        );
        assert_eq!(
            err(r#"{"kind": "one", "b": 1}"#),
            "unknown field `b`, expected `a`"
        );
        assert_eq!(err(r#"{"kind": "one"}"#), "missing field `a`");
        assert_eq!(
            err(r#"{"kind": "one", "a": -1}"#),
            "invalid value: integer `-1`, expected u32"
        );
        assert_eq!(
            err(r#"[1]"#),
            "invalid type: sequence, expected a test enum"
        );
    }
}

/// The scenario's tagged enums read through this module: defaults where a field is left out,
/// and each reads back what it writes.
#[cfg(test)]
mod scenario_enums {
    use crate::chaos::ChaosRule;
    use crate::models::breaker::Window;
    use crate::models::client::{RetryBudget, Workload};
    use crate::scenario::Intervention;

    fn both<T>(text: &str, want: T)
    where
        T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
    {
        let got: T = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got, want, "{text}");
        let again: T = serde_json::from_str(&serde_json::to_string(&got).unwrap()).unwrap();
        assert_eq!(again, want, "{text} written and read back");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn defaults_and_round_trips() {
        both(
            r#"{"fault": "cut", "every": {"type": "constant", "ms": 5}, "down": {"type": "constant", "ms": 1}}"#,
            ChaosRule::Cut {
                links: None,
                every: crate::dist::Dist::constant_ms(5.0),
                down: crate::dist::Dist::constant_ms(1.0),
                max: 100,
            },
        );
        both(
            r#"{"do": "cut", "at_ms": 10, "a": "x", "b": "y"}"#,
            Intervention::Cut {
                at_ms: 10.0,
                a: "x".into(),
                b: "y".into(),
                one_way: false,
            },
        );
        both(
            r#"{"do": "set", "at_ms": 1, "node": "c", "param": "timeout_ms", "value": null}"#,
            Intervention::Set {
                at_ms: 1.0,
                node: "c".into(),
                param: "timeout_ms".into(),
                value: serde_json::Value::Null,
            },
        );
        both(
            r#"{"type": "ratio"}"#,
            RetryBudget::Ratio {
                ratio: 0.1,
                window_ms: 60_000.0,
            },
        );
        both(
            r#"{"type": "closed", "users": 3, "think_ms": 0}"#,
            Workload::Closed {
                users: 3,
                think_ms: 0.0,
            },
        );
        both(
            r#"{"type": "time", "seconds": 10}"#,
            Window::Time { seconds: 10 },
        );
        let err =
            serde_json::from_str::<Intervention>(r#"{"do": "crash", "at_ms": 1}"#).unwrap_err();
        assert!(err.to_string().starts_with("missing field `node`"), "{err}");
    }
}
