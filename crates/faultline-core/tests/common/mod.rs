//! What the model tests share: a sample's JSON edited in place, a run to a moment, a node's
//! counters by name, and the verdicts on a property. Each test file uses some of these, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::BTreeMap;

use faultline_core::scenario::Scenario;
use faultline_core::trace::TraceKind;
use faultline_core::world::{RunStatus, World};
use serde_json::Value;

/// The model of the node with this id, to edit a setting.
pub fn model<'a>(s: &'a mut Value, id: &str) -> &'a mut Value {
    s["nodes"]
        .as_array_mut()
        .expect("nodes")
        .iter_mut()
        .find(|n| n["id"] == id)
        .map(|n| &mut n["model"])
        .unwrap_or_else(|| panic!("no node {id}"))
}

/// Builds the scenario (with its own seed, or this one) and runs it to `until_us`.
pub fn run_to(s: &Value, seed: Option<u64>, until_us: u64) -> World {
    let scenario = Scenario::parse(&s.to_string()).expect("valid scenario");
    let mut w = scenario.build(seed).expect("builds");
    while w.run_until(until_us, 1_000_000) == RunStatus::Budget {}
    w
}

/// Every counter of a node, by name.
pub fn counters(w: &World, node: &str) -> BTreeMap<&'static str, i64> {
    let id = w.node_id(node).unwrap_or_else(|| panic!("no node {node}"));
    w.node(id).counters().into_iter().collect()
}

/// One counter of a node; a name the node does not count fails the test.
pub fn counter(w: &World, node: &str, name: &str) -> i64 {
    *counters(w, node)
        .get(name)
        .unwrap_or_else(|| panic!("{node} has no counter {name}"))
}

/// Every verdict on the property `name` in the world's trace, in order: (answer, detail).
pub fn verdicts(w: &World, name: &str) -> Vec<(Option<bool>, String)> {
    w.trace()
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Verdict {
                name: n,
                holds,
                detail,
                ..
            } if n == name => Some((*holds, detail.clone())),
            _ => None,
        })
        .collect()
}
