//! The space-time diagram: a lane per node, time to the right, a line per message from its send
//! to its arrival, an x where one was lost. Drawn from the trace ring's recent window as a
//! self-contained SVG (colours inline), so the charts' SVG and PNG downloads save it as is.

use std::collections::HashMap;
use std::fmt::Write;

use faultline_core::msg::Payload;
use faultline_core::trace::TraceKind;
use faultline_core::world::World;

/// The window shown, in virtual microseconds.
pub const WINDOW_US: u64 = 2_000_000;
/// The most messages drawn (the newest).
pub const MAX_LINES: usize = 600;
const W: f64 = 600.0;
const LEFT: f64 = 90.0;
const LANE: f64 = 26.0;
const TOP: f64 = 22.0;

/// A message's colour by its kind (the canvas's palette).
fn colour(kind: &str) -> &'static str {
    match kind {
        "request" => "#0072b2",
        "response" => "#009e73",
        "error" => "#d55e00",
        _ => "#6b4c9a",
    }
}

/// Which request a message belongs to, as (client node, trace id): the client sends the
/// request and receives the response.
pub fn request_of(from: usize, to: usize, payload: &Payload) -> Option<(usize, u64)> {
    if let Payload::Request(r) = payload {
        Some((from, r.trace_id))
    } else if let Payload::Response(r) = payload {
        Some((to, r.trace_id))
    } else {
        None
    }
}

/// A request: (client node index, trace id).
pub type RequestKey = (usize, u64);

/// One drawn message.
struct Line {
    from: usize,
    to: usize,
    sent_us: u64,
    end_us: u64,
    kind: &'static str,
    lost: bool,
    request: Option<RequestKey>,
}

/// The diagram of the last [`WINDOW_US`] up to the world's moment (shorter when more than
/// [`MAX_LINES`] messages would be drawn), and how many messages it draws. `highlight` is a request (client node, trace id) drawn thicker.
pub fn svg(world: &World, highlight: Option<(usize, u64)>) -> (String, usize) {
    let now = world.now_us();
    let mut start = now.saturating_sub(WINDOW_US);
    let names = world.names();
    // Newest first, until the window's start or the quota: a busy run shows a shorter window
    // rather than costing a frame. A message's kind comes from its send, met later going back.
    let mut lines: Vec<Line> = Vec::new();
    let mut waiting: HashMap<u64, usize> = HashMap::new();
    let quota = MAX_LINES - MAX_LINES / 3;
    for e in world.trace().events().iter().rev() {
        let full = lines.len() >= quota;
        if (full || e.time_us < start) && waiting.is_empty() {
            break;
        }
        if e.time_us < start.saturating_sub(WINDOW_US) {
            break; // a send so old is not worth the search
        }
        match &e.kind {
            TraceKind::Sent {
                id,
                from,
                to,
                payload,
                ..
            } => {
                if let Some(i) = waiting.remove(&id.0) {
                    lines[i].kind = payload.kind();
                    lines[i].request = request_of(from.index(), to.index(), payload);
                }
            }
            TraceKind::Delivered {
                id,
                from,
                to,
                sent_us,
            }
            | TraceKind::Dropped {
                id,
                from,
                to,
                sent_us,
                ..
            } if !full && e.time_us >= start => {
                waiting.insert(id.0, lines.len());
                lines.push(Line {
                    from: from.index(),
                    to: to.index(),
                    sent_us: *sent_us,
                    end_us: e.time_us,
                    kind: "message",
                    lost: matches!(e.kind, TraceKind::Dropped { .. }),
                    request: None,
                });
            }
            _ => {}
        }
    }
    if lines.len() >= quota
        && let Some(oldest) = lines.last()
    {
        start = oldest.end_us.min(now.saturating_sub(1));
    }
    // Still in flight: a line to where it is now.
    for m in world.in_flight().take(MAX_LINES - quota) {
        lines.push(Line {
            from: m.from.index(),
            to: m.to.index(),
            sent_us: m.sent_us,
            end_us: now.min(m.deliver_us),
            kind: m.payload.kind(),
            lost: false,
            request: request_of(m.from.index(), m.to.index(), &m.payload),
        });
    }
    let window = (now - start).max(1);
    let h = TOP + LANE * names.len() as f64 + 8.0;
    let x = |t: u64| LEFT + (W - LEFT - 10.0) * (t.saturating_sub(start) as f64 / window as f64);
    let y = |lane: usize| TOP + LANE * lane as f64 + LANE / 2.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="spacetime-svg" viewBox="0 0 {W} {h}" width="{W}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="13" fill="#444">{}</text><text x="{}" y="13" fill="#444" text-anchor="end">{}</text>"##,
        faultline_core::fmt_time(start),
        W - 10.0,
        faultline_core::fmt_time(now)
    );
    for (i, n) in names.iter().enumerate() {
        let yy = y(i);
        let _ = write!(
            out,
            r##"<text x="4" y="{:.1}" fill="#222">{}</text><line x1="{LEFT}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#bbb" stroke-width="1"/>"##,
            yy + 4.0,
            escape(n),
            W - 10.0
        );
    }
    for l in &lines {
        let (x1, y1, y2) = (x(l.sent_us.max(start)), y(l.from), y(l.to));
        // A lost message stops where it was lost: part of the way, at its time.
        let x2 = x(l.end_us);
        let y2 = if l.lost {
            let span = (l.end_us.saturating_sub(l.sent_us)).max(1) as f64;
            let f = (l.end_us.saturating_sub(l.sent_us.max(start)) as f64 / span).clamp(0.3, 1.0);
            y1 + (y2 - y1) * f
        } else {
            y2
        };
        let hot = highlight.is_some() && l.request == highlight;
        let data = l
            .request
            .map(|(c, t)| format!(r#" data-client="{c}" data-trace="{t}""#))
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<line class="st-msg {}{}"{data} x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{}" stroke-width="{}"/>"#,
            l.kind,
            if hot { " hot" } else { "" },
            colour(l.kind),
            if hot { 3.5 } else { 1.4 }
        );
        if l.lost {
            let _ = write!(
                out,
                r##"<path class="st-drop" d="M{:.1} {:.1}l8 8m0 -8l-8 8" stroke="#d55e00" stroke-width="2"/>"##,
                x2 - 4.0,
                y2 - 4.0
            );
        }
    }
    out.push_str("</svg>");
    (out, lines.len())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Recent requests in the trace ring, newest first, at most `n`: (client node, trace id).
pub fn recent_requests(world: &World, n: usize) -> Vec<(usize, u64)> {
    let mut out: Vec<(usize, u64)> = Vec::new();
    for e in world.trace().events().iter().rev() {
        if let TraceKind::Sent {
            from, to, payload, ..
        } = &e.kind
            && let Some(r) = request_of(from.index(), to.index(), payload)
            && !out.contains(&r)
        {
            out.push(r);
            if out.len() >= n {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::scenario::Scenario;

    #[test]
    fn messages_are_lines_and_losses_are_marked() {
        let s = Scenario::parse(crate::templates::TEMPLATES[3]).expect("valid");
        let mut w = s.build(None).expect("builds");
        w.run_until(20_000_000, u64::MAX);
        let (svg, n) = svg(&w, None);
        assert!(n > 20, "{n} lines");
        assert_eq!(svg.matches("<line class=\"st-msg").count(), n);
        assert!(svg.contains("checkout") && svg.contains("payments"));
        let recent = recent_requests(&w, 5);
        assert_eq!(recent.len(), 5);
        let (hot, _) = self::svg(&w, Some(recent[0]));
        assert!(hot.contains(" hot\""));
    }
}
