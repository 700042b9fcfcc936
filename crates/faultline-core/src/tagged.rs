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

/// An internally tagged enum as the scenario writes it: the tag's key, the variants (the tag's
/// value and the variant's fields), and how an "invalid type" message names it.
pub(crate) struct Shape<const N: usize> {
    tag: &'static str,
    what: &'static str,
    variants: [(&'static str, &'static [&'static str]); N],
    /// The variants' names alone, for serde's "unknown variant" message.
    names: [&'static str; N],
}

impl<const N: usize> Shape<N> {
    /// The shape of an enum tagged by `tag`, named `what` in messages ("a distribution").
    pub(crate) const fn new(
        tag: &'static str,
        what: &'static str,
        variants: [(&'static str, &'static [&'static str]); N],
    ) -> Self {
        let mut names = [""; N];
        let mut i = 0;
        while i < N {
            names[i] = variants[i].0;
            i += 1;
        }
        Shape {
            tag,
            what,
            variants,
            names,
        }
    }

    /// Opens a tagged object: checks that it is an object, takes the tag, finds the variant and
    /// refuses a field the variant does not have. Returns the variant's name and its fields.
    pub(crate) fn open(&'static self, value: Value) -> Result<(&'static str, Fields), Error> {
        let (kind, o) = split(value, self.tag, self.what, "a variant name")?;
        let Some(&(name, fields)) = self.variants.iter().find(|(n, _)| *n == kind) else {
            return Err(self.unknown(&kind));
        };
        if let Some(k) = o.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(Error::unknown_field(k, fields));
        }
        Ok((name, Fields(o)))
    }

    /// serde's "unknown variant" error: also what a reader answers for a variant it lists but
    /// has no arm for, rather than panic.
    pub(crate) fn unknown(&'static self, kind: &str) -> Error {
        Error::unknown_variant(kind, &self.names)
    }
}

/// Splits a tagged object into the value of its `tag` and its other fields: the first step of
/// every enum read here and of a node's model (`ModelSpec::from_value`). `what` names the
/// object and `naming` the tag's value in an "invalid type" message.
pub(crate) fn split(
    value: Value,
    tag: &'static str,
    what: &'static str,
    naming: &'static str,
) -> Result<(String, Map<String, Value>), Error> {
    let Value::Object(mut o) = value else {
        return Err(Error::invalid_type(unexpected(&value), &what));
    };
    match o.remove(tag) {
        Some(Value::String(s)) => Ok((s, o)),
        Some(other) => Err(Error::invalid_type(unexpected(&other), &naming)),
        None => Err(Error::missing_field(tag)),
    }
}

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
fn unexpected(v: &Value) -> serde::de::Unexpected<'_> {
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

    static SHAPE: Shape<2> = Shape::new(
        "kind",
        "a test enum",
        [("one", &["a"]), ("two", &["a", "b"])],
    );

    fn read(text: &str) -> Result<(&'static str, u32, u32), String> {
        let v: Value = serde_json::from_str(text).unwrap();
        let (name, mut f) = SHAPE.open(v).map_err(|e| e.to_string())?;
        let a = f.req("a").map_err(|e| e.to_string())?;
        let b = if name == "two" {
            f.or("b", 7).map_err(|e| e.to_string())?
        } else {
            0
        };
        Ok((name, a, b))
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn reads_variants_and_names_each_mistake_as_serde_does() {
        assert_eq!(read(r#"{"kind": "one", "a": 1}"#), Ok(("one", 1, 0)));
        assert_eq!(
            read(r#"{"a": 2, "kind": "two", "b": 3}"#),
            Ok(("two", 2, 3))
        );
        assert_eq!(read(r#"{"kind": "two", "a": 2}"#), Ok(("two", 2, 7)));
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
        // Every variant, written by serde's derive and read back here: a field missing from a
        // shape's list would be refused as unknown.
        let (s, n, v) = (String::from("x"), 3u64, serde_json::json!({"k": [1, 2.5]}));
        let d = crate::dist::Dist::constant_ms(1.0);
        let interventions = [
            Intervention::Cut {
                at_ms: 1.0,
                a: s.clone(),
                b: s.clone(),
                one_way: true,
            },
            Intervention::Heal {
                at_ms: 1.0,
                a: s.clone(),
                b: s.clone(),
            },
            Intervention::HealAll { at_ms: 1.0 },
            Intervention::Partition {
                at_ms: 1.0,
                groups: vec![vec![s.clone()]],
            },
            Intervention::Crash {
                at_ms: 1.0,
                node: s.clone(),
            },
            Intervention::Restart {
                at_ms: 1.0,
                node: s.clone(),
            },
            Intervention::Pause {
                at_ms: 1.0,
                node: s.clone(),
            },
            Intervention::Resume {
                at_ms: 1.0,
                node: s.clone(),
            },
            Intervention::Set {
                at_ms: 1.0,
                node: s.clone(),
                param: s.clone(),
                value: v.clone(),
            },
            Intervention::SetLink {
                at_ms: 1.0,
                a: s.clone(),
                b: s.clone(),
                param: s.clone(),
                value: v.clone(),
            },
            Intervention::DropMessage {
                at_ms: 1.0,
                message: n,
            },
            Intervention::DelayMessage {
                at_ms: 1.0,
                message: n,
                delay_ms: 2.0,
            },
        ];
        for i in interventions {
            both(&serde_json::to_string(&i).unwrap(), i);
        }
        let links = Some(vec![[s.clone(), s.clone()]]);
        let rules = [
            ChaosRule::Crash {
                nodes: vec![s.clone()],
                every: d.clone(),
                down: d.clone(),
                max: 5,
            },
            ChaosRule::Pause {
                nodes: vec![s.clone()],
                every: d.clone(),
                down: d.clone(),
                max: 5,
            },
            ChaosRule::Cut {
                links: links.clone(),
                every: d.clone(),
                down: d.clone(),
                max: 5,
            },
            ChaosRule::Latency {
                links,
                latency: d.clone(),
                every: d.clone(),
                down: d,
                max: 5,
            },
        ];
        for r in rules {
            both(&serde_json::to_string(&r).unwrap(), r);
        }
        both(
            r#"{"type": "token_bucket", "max_tokens": 10, "token_ratio": 0.1}"#,
            RetryBudget::TokenBucket {
                max_tokens: 10.0,
                token_ratio: 0.1,
            },
        );
        both(
            r#"{"type": "open", "rate_per_s": 5}"#,
            Workload::Open { rate_per_s: 5.0 },
        );
        both(
            r#"{"type": "at", "times_ms": [1, 2]}"#,
            Workload::At {
                times_ms: vec![1.0, 2.0],
            },
        );
        both(
            r#"{"type": "count", "size": 10}"#,
            Window::Count { size: 10 },
        );
        let err =
            serde_json::from_str::<Intervention>(r#"{"do": "crash", "at_ms": 1}"#).unwrap_err();
        assert!(err.to_string().starts_with("missing field `node`"), "{err}");
    }
}
