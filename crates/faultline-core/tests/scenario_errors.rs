//! Bad scenarios get precise messages (field path, what was expected, the line) and never a
//! panic; good ones round-trip.

use faultline_core::scenario::{Scenario, ScenarioErrors};

const BASE: &str = include_str!("../../../tests/scenarios/client-server.json");
const FAULTS: &str = include_str!("../../../tests/scenarios/faults.json");

fn errors(text: &str) -> ScenarioErrors {
    Scenario::parse(text).expect_err("the scenario should be refused")
}

fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "the base scenario contains {from}");
    BASE.replacen(from, to, 1)
}

fn one(text: &str) -> (String, String, Option<usize>) {
    let e = errors(text);
    let first = &e.0[0];
    (first.path.clone(), first.message.clone(), first.line)
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_misspelt_field_is_named_with_its_path_and_line() {
    let (path, msg, line) = one(&with("\"timeout_ms\"", "\"timout_ms\""));
    assert_eq!(path, "nodes[0].model");
    assert!(msg.contains("unknown field `timout_ms`"), "{msg}");
    assert_eq!(line, Some(8));
}

/// In pretty text (one field a line, as the page's editor and exports write it), each error
/// points at the line to fix: the misspelt field's own, the bad value's, the object missing a
/// field; and a syntax error keeps its column.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn errors_in_pretty_text_point_at_the_line_to_fix() {
    let pretty = Scenario::parse(BASE).expect("valid").to_json();
    let line_of = |needle: &str| {
        1 + pretty
            .lines()
            .position(|l| l.contains(needle))
            .expect("in the text")
    };
    let (path, msg, line) = one(&pretty.replacen("\"queue_limit\"", "\"queue_limt\"", 1));
    assert_eq!(path, "nodes[1].model");
    assert!(msg.contains("unknown field `queue_limt`"), "{msg}");
    assert_eq!(line, Some(line_of("\"queue_limit\"")));

    let (path, msg, line) = one(&pretty.replacen("\"seed\": 1,", "\"seed\": \"one\",", 1));
    assert_eq!(path, "seed", "{msg}");
    assert!(msg.contains("invalid type"), "{msg}");
    assert_eq!(line, Some(line_of("\"seed\"")));

    let (path, msg, line) = one(&pretty.replacen("\"id\": \"server\",", "", 1));
    assert_eq!(path, "nodes[1]");
    assert!(msg.contains("missing field `id`"), "{msg}");
    let node = pretty
        .lines()
        .position(|l| l.contains("\"service\""))
        .expect("the server");
    assert!(
        line.is_some_and(|l| l < node + 1 && l > line_of("\"nodes\"")),
        "{line:?}"
    );

    let e = errors(&pretty.replacen("\"seed\": 1,", "\"seed\": 1", 1));
    assert_eq!(e.0[0].line, Some(line_of("\"seed\"") + 1), "{e}");
    assert!(e.0[0].column.is_some(), "{e}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn unknown_top_level_and_link_fields_are_refused() {
    let (path, msg, _) = one(&BASE.replacen("\"seed\": 1,", "\"seed\": 1, \"sed\": 2,", 1));
    assert!(msg.contains("unknown field `sed`"), "{path}: {msg}");
    let (path, _, _) = one(&with(
        "\"b\": \"server\"",
        "\"b\": \"server\", \"los\": 0.1",
    ));
    assert_eq!(path, "links[0].los");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn references_to_missing_nodes_point_at_their_line() {
    let (path, msg, line) = one(&with("\"target\": \"server\"", "\"target\": \"nowhere\""));
    assert_eq!(path, "nodes[0].model.target");
    assert!(msg.contains("'nowhere'"), "{msg}");
    assert_eq!(line, Some(8));
    let (path, _, line) = one(&with(
        "{\"a\": \"client\", \"b\": \"server\"",
        "{\"a\": \"client\", \"b\": \"db\"",
    ));
    assert_eq!(path, "links[0].b");
    assert_eq!(line, Some(12));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn duplicate_ids_and_bad_ids_are_refused() {
    let e = errors(&with("{\"id\": \"server\"", "{\"id\": \"client\""));
    assert!(
        e.0.iter()
            .any(|e| e.path == "nodes[1].id" && e.message.contains("used by another node")),
        "{e}"
    );
    let e = errors(&with("{\"id\": \"server\"", "{\"id\": \"<script>\""));
    assert!(
        e.0.iter()
            .any(|e| e.path == "nodes[1].id" && e.message.contains("not a valid id")),
        "{e}"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn out_of_range_values_name_the_limit() {
    let (path, msg, _) = one(&with("\"min_ms\": 30", "\"min_ms\": -30"));
    assert_eq!(path, "links[0].latency.min_ms");
    assert!(msg.contains(">= 0"), "{msg}");
    let (path, msg, _) = one(&with(
        "\"b\": \"server\"",
        "\"b\": \"server\", \"loss\": 1.5",
    ));
    assert_eq!(path, "links[0].loss");
    assert!(msg.contains("0 to 1"), "{msg}");
    let (path, msg, _) = one(&with(
        "\"duration_ms\": 60000",
        "\"duration_ms\": 999999999",
    ));
    assert_eq!(path, "duration_ms", "{msg}");
    assert!(msg.contains("604800000"), "{msg}");
    let (path, msg, _) = one(&with("\"concurrency\": 4", "\"concurrency\": 0"));
    assert_eq!(path, "nodes[1].model.concurrency");
    assert!(msg.contains("1 to 10000"), "{msg}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn too_many_nodes_are_refused() {
    let nodes: Vec<String> = (0..65)
        .map(|i| format!("{{\"id\": \"s{i}\", \"model\": {{\"type\": \"service\"}}}}"))
        .collect();
    let text = format!("{{\"version\": 1, \"nodes\": [{}]}}", nodes.join(","));
    let (path, msg, _) = one(&text);
    assert_eq!(path, "nodes");
    assert!(msg.contains("1 to 64"), "{msg}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn bad_interventions_are_explained() {
    let add = |iv: &str| {
        BASE.replacen(
            "\n  \"view\"",
            &format!("\n  \"interventions\": [{iv}],\n  \"view\""),
            1,
        )
    };
    let (path, msg, _) = one(&add(r#"{"do": "crash", "at_ms": 5, "node": "zz"}"#));
    assert_eq!(
        (path.as_str(), msg.contains("'zz'")),
        ("interventions[0].node", true)
    );
    let (_, msg, _) = one(&add(
        r#"{"do": "cut", "at_ms": 5, "a": "client", "b": "client"}"#,
    ));
    assert!(msg.contains("no link"), "{msg}");
    let (path, msg, _) = one(&add(
        r#"{"do": "set", "at_ms": 5, "node": "client", "param": "timeout_ms", "value": "x"}"#,
    ));
    assert_eq!(path, "interventions[0].value");
    assert!(msg.contains("timeout_ms"), "{msg}");
    let (_, msg, _) = one(&add(
        r#"{"do": "set", "at_ms": 5, "node": "client", "param": "speed", "value": 1}"#,
    ));
    assert!(msg.contains("unknown setting 'speed'"), "{msg}");
    assert!(msg.contains("timeout_ms") && !msg.contains("type"), "{msg}");
    // The model's `type` travels with its settings but is not one: a node stays its model.
    let (path, msg, _) = one(&add(
        r#"{"do": "set", "at_ms": 5, "node": "server", "param": "type", "value": "client"}"#,
    ));
    assert_eq!(path, "interventions[0].value");
    assert!(msg.contains("'type' is the model itself"), "{msg}");
    let (path, _, _) = one(&add(
        r#"{"do": "crash", "at_ms": 999999, "node": "server"}"#,
    ));
    assert_eq!(path, "interventions[0].at_ms");
    let (_, msg, _) = one(&add(r#"{"do": "explode", "at_ms": 1}"#));
    assert!(msg.contains("unknown variant `explode`"), "{msg}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_newer_format_says_so() {
    let (path, msg, line) = one(&with("\"version\": 1", "\"version\": 2"));
    assert_eq!(path, "version");
    assert!(msg.contains("newer Faultline"), "{msg}");
    assert_eq!(line, Some(2));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn broken_documents_never_panic() {
    for cut in [0, 1, 10, 100, BASE.len() / 2, BASE.len() - 2] {
        let e = errors(&BASE[..cut]);
        assert!(!e.0.is_empty());
    }
    for junk in [
        "",
        "null",
        "[]",
        "42",
        "{\"version\": 1}",
        "{\"version\": 1, \"nodes\": []}",
        "\u{0}\u{1}",
    ] {
        assert!(Scenario::parse(junk).is_err(), "{junk:?}");
    }
    let deep = "[".repeat(100_000);
    assert!(Scenario::parse(&deep).is_err());
    let huge = format!(
        "{{\"version\": 1, \"title\": \"{}\", \"nodes\": []}}",
        "x".repeat(2 << 20)
    );
    let (_, msg, _) = one(&huge);
    assert!(msg.contains("limit"), "{msg}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn samples_round_trip_through_the_canonical_text() {
    for text in [BASE, FAULTS] {
        let s = Scenario::parse(text).expect("valid");
        let again = Scenario::parse(&s.to_json()).expect("its own output is valid");
        assert_eq!(s, again);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn breaker_and_budget_settings_are_range_checked() {
    let (path, msg, _) = one(&with(
        "\"timeout_ms\": 1000",
        "\"timeout_ms\": 1000, \"breaker\": {\"failure_rate_threshold\": 150}",
    ));
    assert_eq!(path, "nodes[0].model.breaker.failure_rate_threshold");
    assert!(msg.contains("at most 100"), "{msg}");
    let (path, _, _) = one(&with(
        "\"timeout_ms\": 1000",
        "\"timeout_ms\": 1000, \"breaker\": {\"window\": {\"type\": \"count\", \"size\": 0}}",
    ));
    assert_eq!(path, "nodes[0].model.breaker.window.size");
    let (path, msg, _) = one(&with(
        "\"timeout_ms\": 1000",
        "\"timeout_ms\": 1000, \"retry\": {\"max_attempts\": 3, \"budget\": {\"type\": \"ratio\", \"ratio\": 2}}",
    ));
    assert_eq!(path, "nodes[0].model.retry.budget.ratio");
    assert!(msg.contains("0 to 1"), "{msg}");
}

/// A setting left out of the JSON because it is off (a link's `bandwidth_per_s`) can still be
/// set by an intervention; a name that no setting has is still refused with the known names.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn an_unset_optional_setting_can_be_set_and_a_misspelt_one_cannot() {
    let add = |iv: &str| {
        BASE.replacen(
            "\n  \"view\"",
            &format!("\n  \"interventions\": [{iv}],\n  \"view\""),
            1,
        )
    };
    let ok = add(
        r#"{"do": "set_link", "at_ms": 5, "a": "client", "b": "server", "param": "bandwidth_per_s", "value": 15}"#,
    );
    let s = Scenario::parse(&ok).expect("bandwidth is a setting of every link");
    s.build(None).expect("builds");
    // The way a lesson's `changes` set a link: through its JSON, where an unset bandwidth is
    // not written at all.
    let link = &s.links[0];
    assert!(link.bandwidth_per_s.is_none());
    let set = faultline_core::scenario::set_config_field(link, "bandwidth_per_s", &15.into())
        .expect("an unset bandwidth can be set");
    assert_eq!(set.bandwidth_per_s, Some(15.0));
    let err =
        faultline_core::scenario::set_config_field(link, "bandwith_per_s", &15.into()).unwrap_err();
    assert!(err.contains("unknown setting 'bandwith_per_s'"), "{err}");
    let (_, msg, _) = one(&add(
        r#"{"do": "set_link", "at_ms": 5, "a": "client", "b": "server", "param": "bandwith_per_s", "value": 15}"#,
    ));
    assert!(
        msg.contains("unknown link setting 'bandwith_per_s'"),
        "{msg}"
    );
    let (_, msg, _) = one(&add(
        r#"{"do": "set", "at_ms": 5, "node": "client", "param": "hedge_after_ms", "value": -1}"#,
    ));
    assert!(
        !msg.contains("unknown setting"),
        "a known setting with a bad value: {msg}"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_misspelt_or_missing_model_type_lists_the_models() {
    let (path, msg, line) = one(&with("\"type\": \"client\"", "\"type\": \"clinet\""));
    assert_eq!(path, "nodes[0].model");
    assert!(
        msg.contains("unknown variant `clinet`") && msg.contains("`kv_client`"),
        "{msg}"
    );
    assert_eq!(line, Some(8));
    let (path, msg, _) = one(&with("\"type\": \"client\", ", ""));
    assert_eq!(path, "nodes[0].model");
    assert!(msg.contains("missing field `type`"), "{msg}");
    let (path, msg, _) = one(&with("\"concurrency\": 4", "\"concurrency\": \"four\""));
    assert_eq!(path, "nodes[1].model");
    assert!(msg.contains("invalid type: string \"four\""), "{msg}");
    let (_, msg, _) = one(&with(
        "\"model\": {\"type\": \"client\", \"target\": \"server\", \"workload\": {\"type\": \"open\", \"rate_per_s\": 10}, \"timeout_ms\": 1000}",
        "\"model\": 7",
    ));
    assert!(msg.contains("invalid type: integer `7`"), "{msg}");
}
