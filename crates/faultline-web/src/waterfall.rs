//! The waterfall of one request: its spans (the request, each attempt, the server's work for
//! each attempt) as bars on one time axis. The spans are the OpenTelemetry export's own
//! (`faultline_core::export::otel_spans`), read back and filtered by the request's trace id, so
//! the page and the export never disagree.

use faultline_core::scenario::Scenario;

/// One span of the waterfall.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The span's name ("attempt 2").
    pub name: String,
    /// The node it ran on.
    pub node: String,
    /// Nesting depth (0 for the request).
    pub depth: usize,
    /// Start, virtual microseconds.
    pub start_us: u64,
    /// End, virtual microseconds.
    pub end_us: u64,
    /// The error, if it failed (or got no answer by now).
    pub error: Option<String>,
}

/// The spans of the request `trace_id` of the client at node index `client`, up to `until_us`,
/// in start order (parents before children at equal times).
pub fn bars(s: &Scenario, until_us: u64, client: usize, trace_id: u64) -> Result<Vec<Bar>, String> {
    let (text, _) = faultline_core::export::otel_spans(s, until_us)?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let want = faultline_core::export::otel_trace_id(client, trace_id);
    struct Raw {
        id: String,
        parent: Option<String>,
        bar: Bar,
    }
    let mut raw: Vec<Raw> = Vec::new();
    let num =
        |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<u64>().ok()).unwrap_or(0) / 1000;
    for rs in doc["resourceSpans"].as_array().into_iter().flatten() {
        let node = rs["resource"]["attributes"][0]["value"]["stringValue"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for sp in rs["scopeSpans"][0]["spans"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if sp["traceId"].as_str() != Some(want.as_str()) {
                continue;
            }
            raw.push(Raw {
                id: sp["spanId"].as_str().unwrap_or_default().to_string(),
                parent: sp["parentSpanId"].as_str().map(str::to_string),
                bar: Bar {
                    name: sp["name"].as_str().unwrap_or_default().to_string(),
                    node: node.clone(),
                    depth: 0,
                    start_us: num(&sp["startTimeUnixNano"]),
                    end_us: num(&sp["endTimeUnixNano"]),
                    error: (sp["status"]["code"] == 2).then(|| {
                        sp["status"]["message"]
                            .as_str()
                            .unwrap_or("error")
                            .to_string()
                    }),
                },
            });
        }
    }
    let depth_of = |r: &Raw| {
        let mut d = 0;
        let mut p = r.parent.clone();
        while let Some(id) = p {
            d += 1;
            p = raw
                .iter()
                .find(|x| x.id == id)
                .and_then(|x| x.parent.clone());
            if d > 8 {
                break;
            }
        }
        d
    };
    let depths: Vec<usize> = raw.iter().map(depth_of).collect();
    let mut out: Vec<Bar> = raw
        .into_iter()
        .zip(depths)
        .map(|(r, d)| Bar { depth: d, ..r.bar })
        .collect();
    faultline_core::order::sort_by_key(&mut out, |b| (b.start_us, b.depth));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_request_shows_its_attempts_under_it_and_the_server_under_each() {
        let s = Scenario::parse(crate::templates::TEMPLATES[3]).expect("valid");
        let mut w = s.build(None).expect("builds");
        w.run_until(10_000_000, u64::MAX);
        let reqs = crate::spacetime::recent_requests(&w, 200);
        // A request with a retry: more than one attempt.
        let found = reqs.iter().find_map(|&(c, t)| {
            let b = bars(&s, 10_000_000, c, t).expect("spans");
            (b.iter().filter(|b| b.name.starts_with("attempt")).count() > 1).then_some(b)
        });
        let b = found.expect("some request was retried in 10 s");
        assert_eq!(b[0].depth, 0);
        assert!(b[0].name.starts_with("request to"));
        assert!(b.iter().any(|x| x.depth == 1 && x.node == "checkout"));
        assert!(b.iter().any(|x| x.depth == 2 && x.node == "payments"));
        assert!(
            b.iter()
                .all(|x| x.end_us >= x.start_us && x.start_us >= b[0].start_us)
        );
    }
}
