//! Sandbox edits: add and remove nodes and links. Each edit makes a new scenario (the run starts
//! again from zero), checked by the core like any other; a refused edit changes nothing and
//! says why.
//!
//! Plain Rust with no browser types, so its rules are unit-tested natively.

use faultline_core::dist::Dist;
use faultline_core::limits::MAX_NODES;
use faultline_core::scenario::{Intervention, LinkSpec, NodeSpec, Scenario};

/// The kinds a learner can add, as the scenario names them.
pub const KINDS: &[&str] = &["client", "service", "payment"];

fn targets(s: &Scenario) -> impl Iterator<Item = &NodeSpec> {
    s.nodes
        .iter()
        .filter(|n| !matches!(n.model, faultline_core::models::ModelSpec::Client(_)))
}

fn linked(s: &Scenario, a: &str, b: &str) -> bool {
    s.links
        .iter()
        .any(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a))
}

fn checked(s: Scenario) -> Result<Scenario, String> {
    s.validate().map(|_| s).map_err(|e| e.to_string())
}

/// Adds a node of `kind` with its defaults, placed at `at`. A client is aimed at the first
/// service or payment node and linked to it. Returns the scenario and the new node's id.
pub fn add_node(s: &Scenario, kind: &str, at: [f64; 2]) -> Result<(Scenario, String), String> {
    if !KINDS.contains(&kind) {
        return Err(format!("There is no node kind '{kind}'."));
    }
    if s.nodes.len() >= MAX_NODES {
        return Err(format!("A scenario has at most {MAX_NODES} nodes."));
    }
    let id = (1..)
        .map(|i| format!("{kind}{i}"))
        .find(|id| s.nodes.iter().all(|n| &n.id != id))
        .expect("an unused name exists");
    let mut next = s.clone();
    let model = if kind == "client" {
        let target = targets(s)
            .next()
            .ok_or("Add a service first: a client needs something to call.")?
            .id
            .clone();
        next.links
            .push(LinkSpec::between(&id, &target, Dist::constant_ms(10.0)));
        serde_json::json!({"type": "client", "target": target})
    } else {
        serde_json::json!({"type": kind})
    };
    next.nodes.push(NodeSpec {
        id: id.clone(),
        model: serde_json::from_value(model).map_err(|e| e.to_string())?,
    });
    next.view.positions.insert(id.clone(), at);
    Ok((checked(next)?, id))
}

/// Removes a node, its links, and the interventions that name it. A client that calls it must
/// go first: silently dropping the caller would surprise more than the refusal.
pub fn remove_node(s: &Scenario, id: &str) -> Result<Scenario, String> {
    if s.nodes.len() == 1 {
        return Err("A scenario needs at least one node.".into());
    }
    if let Some(caller) = s.nodes.iter().find(
        |n| matches!(&n.model, faultline_core::models::ModelSpec::Client(c) if c.target == id),
    ) {
        return Err(format!(
            "{} sends its requests to {id}: remove {} first.",
            caller.id, caller.id
        ));
    }
    let mut next = s.clone();
    next.nodes.retain(|n| n.id != id);
    next.links.retain(|l| l.a != id && l.b != id);
    next.view.positions.remove(id);
    next.interventions.retain(|i| !names(i, id));
    checked(next)
}

/// Whether an intervention names a node.
fn names(i: &Intervention, id: &str) -> bool {
    match i {
        Intervention::Cut { a, b, .. }
        | Intervention::Heal { a, b, .. }
        | Intervention::SetLink { a, b, .. } => a == id || b == id,
        Intervention::Crash { node, .. }
        | Intervention::Restart { node, .. }
        | Intervention::Pause { node, .. }
        | Intervention::Resume { node, .. }
        | Intervention::Set { node, .. } => node == id,
        Intervention::Partition { groups, .. } => groups.iter().flatten().any(|n| n == id),
        Intervention::HealAll { .. }
        | Intervention::DropMessage { .. }
        | Intervention::DelayMessage { .. } => false,
    }
}

/// Links two nodes with a 10 ms link.
pub fn add_link(s: &Scenario, a: &str, b: &str) -> Result<Scenario, String> {
    if a == b {
        return Err("A link joins two different nodes.".into());
    }
    if linked(s, a, b) {
        return Err(format!("{a} and {b} are already linked."));
    }
    let mut next = s.clone();
    next.links
        .push(LinkSpec::between(a, b, Dist::constant_ms(10.0)));
    checked(next)
}

/// Removes the link between two nodes, and the interventions on it.
pub fn remove_link(s: &Scenario, a: &str, b: &str) -> Result<Scenario, String> {
    if !linked(s, a, b) {
        return Err(format!("{a} and {b} are not linked."));
    }
    let mut next = s.clone();
    next.links
        .retain(|l| !((l.a == a && l.b == b) || (l.a == b && l.b == a)));
    next.interventions.retain(|i| match i {
        Intervention::Cut { a: x, b: y, .. }
        | Intervention::Heal { a: x, b: y, .. }
        | Intervention::SetLink { a: x, b: y, .. } => !((x == a && y == b) || (x == b && y == a)),
        _ => true,
    });
    checked(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        Scenario::parse(crate::templates::DEFAULT_SCENARIO).unwrap()
    }

    #[test]
    fn a_new_client_calls_a_service_over_a_new_link_and_runs() {
        let (s, id) = add_node(&base(), "client", [200.0, 300.0]).unwrap();
        assert_eq!(id, "client1");
        assert!(linked(&s, "client1", "server"));
        let (s, svc) = add_node(&s, "service", [400.0, 300.0]).unwrap();
        assert_eq!(svc, "service1");
        let mut world = s.build(None).unwrap();
        world.run_until(2_000_000, u64::MAX);
        let r = faultline_core::report::Report::of(&world);
        assert!(
            r.nodes
                .iter()
                .find(|n| n.id == "client1")
                .unwrap()
                .successes
                > 0
        );
    }

    #[test]
    fn edits_that_would_break_the_scenario_are_refused_with_a_reason() {
        let only_client = Scenario::parse(
            r#"{"version": 1, "nodes": [{"id": "a", "model": {"type": "service"}}]}"#,
        )
        .unwrap();
        assert!(
            remove_node(&only_client, "a")
                .unwrap_err()
                .contains("at least one")
        );
        let e = remove_node(&base(), "server").unwrap_err();
        assert!(e.contains("client sends its requests to server"), "{e}");
        assert!(
            add_link(&base(), "client", "server")
                .unwrap_err()
                .contains("already")
        );
        assert!(add_link(&base(), "client", "client").is_err());
        assert!(add_node(&base(), "database", [0.0, 0.0]).is_err());
        let lonely = Scenario::parse(
            r#"{"version": 1, "nodes": [{"id": "c", "model": {"type": "client", "target": "s"}},
                                        {"id": "s", "model": {"type": "service"}}]}"#,
        )
        .unwrap();
        let lonely = remove_node(&remove_node(&lonely, "c").unwrap(), "s");
        assert!(lonely.is_err());
    }

    #[test]
    fn removing_a_node_takes_its_links_and_interventions_with_it() {
        let mut s = base();
        s.interventions.push(Intervention::Crash {
            at_ms: 100.0,
            node: "client".into(),
        });
        let s = remove_node(&s, "client").unwrap();
        assert_eq!(s.nodes.len(), 1);
        assert!(s.links.is_empty());
        assert!(s.interventions.is_empty());
        assert!(!s.view.positions.contains_key("client"));
        let s = remove_link(&base(), "server", "client").unwrap();
        assert!(s.links.is_empty());
    }

    #[test]
    fn the_node_limit_holds() {
        let mut s = base();
        for i in 0..MAX_NODES {
            match add_node(&s, "service", [0.0, 0.0]) {
                Ok((next, _)) => s = next,
                Err(e) => {
                    assert_eq!(s.nodes.len(), MAX_NODES, "refused at {i}: {e}");
                    return;
                }
            }
        }
        panic!("no limit");
    }
}
