//! The moments worth marking on the time line and the charts: crashes, restarts, cuts, heals,
//! a breaker's transitions, Raft's leader changes, and (from the invariants' list) violations.
//!
//! The trace is a bounded ring, so the page keeps the moments itself, as `verdicts.rs` keeps
//! verdicts: read as the run goes (`observed.rs`), carried in every snapshot of the time line,
//! restored with the world by a seek. The session also keeps the moments of the furthest point
//! the run reached, so after a seek back the time line still marks what comes ahead (the same
//! run); a fork forgets them.
//!
//! Where they come from in the trace: faults are `TraceKind::Fault`; a breaker's transition is a
//! `TraceKind::State` line "breaker CLOSED -> OPEN: why" (a service's downstream breaker prefixes
//! "breaker to call i: "); a Raft server's is "candidate -> leader, term 3" or
//! "leader -> follower, term 4".

use faultline_core::NodeId;
use faultline_core::trace::{Fault, TraceEvent, TraceKind};
use faultline_core::world::World;

/// Moments kept; past it the oldest are dropped (the band then starts at the oldest kept).
pub const MAX_MOMENTS: usize = 500;

/// What kind of moment. Each has a name (for `data-moment-kind`), a glyph (colour is never the
/// only cue) and a sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A node crashed.
    Crash,
    /// A crashed node restarted.
    Restart,
    /// Links were cut.
    Cut,
    /// Links were healed.
    Heal,
    /// A breaker opened.
    Open,
    /// A breaker half-opened (trial calls).
    HalfOpen,
    /// A breaker closed.
    Closed,
    /// A Raft server became leader.
    Leader,
    /// A Raft leader stepped down.
    StepDown,
    /// An invariant turned violated.
    Violated,
}

impl Kind {
    /// The kind's name, as `data-moment-kind` carries it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Crash => "crash",
            Kind::Restart => "restart",
            Kind::Cut => "cut",
            Kind::Heal => "heal",
            Kind::Open => "breaker-open",
            Kind::HalfOpen => "breaker-half-open",
            Kind::Closed => "breaker-closed",
            Kind::Leader => "leader",
            Kind::StepDown => "step-down",
            Kind::Violated => "violated",
        }
    }

    /// One character drawn on the marker.
    pub fn glyph(self) -> &'static str {
        match self {
            Kind::Crash => "✕",
            Kind::Restart => "↻",
            Kind::Cut => "✂",
            Kind::Heal => "↔",
            Kind::Open => "O",
            Kind::HalfOpen => "H",
            Kind::Closed => "C",
            Kind::Leader => "★",
            Kind::StepDown => "☆",
            Kind::Violated => "!",
        }
    }

    /// A colour from Okabe and Ito's palette (colour-blind safe; the glyph says it too).
    pub fn colour(self) -> &'static str {
        match self {
            Kind::Crash | Kind::Open | Kind::Violated => "#d55e00",
            Kind::Restart | Kind::Closed => "#009e73",
            Kind::Cut => "#cc79a7",
            Kind::Heal => "#56b4e9",
            Kind::HalfOpen => "#e69f00",
            Kind::Leader | Kind::StepDown => "#0072b2",
        }
    }

    fn breaker_state(to: &str) -> Option<Kind> {
        match to {
            "OPEN" => Some(Kind::Open),
            "HALF_OPEN" => Some(Kind::HalfOpen),
            "CLOSED" => Some(Kind::Closed),
            _ => None,
        }
    }
}

/// One breaker: its node, and for a service's downstream call, which call.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BreakerId {
    /// The node.
    pub node: NodeId,
    /// A service's downstream call (`None`: a client's own breaker).
    pub call: Option<u32>,
}

/// One marked moment.
// Eq: an `Rc` of it compares by pointer first, so a panel with equal props is skipped cheaply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moment {
    /// The trace event that made it (the first, for merged cuts).
    pub seq: u64,
    /// When.
    pub time_us: u64,
    /// What kind.
    pub kind: Kind,
    /// What happened, for people ("payments crashed").
    pub what: String,
    /// For a breaker's transition: which breaker and the state it left.
    pub breaker: Option<(BreakerId, Kind)>,
    /// For cuts and heals: the directions, merged when they share a moment.
    dirs: Vec<(NodeId, NodeId)>,
}

impl Moment {
    /// The marker's accessible name: "t = 10.200 s: payments crashed".
    pub fn label(&self) -> String {
        format!(
            "t = {}: {}",
            faultline_core::fmt_time(self.time_us),
            self.what
        )
    }
}

/// One span of a breaker's state on the band.
// Eq: an `Rc` of it compares by pointer first, so a panel with equal props is skipped cheaply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// From.
    pub from_us: u64,
    /// To (`None`: the playhead).
    pub to_us: Option<u64>,
    /// Open, half-open or closed.
    pub state: Kind,
}

/// A breaker's states over time.
// Eq: an `Rc` of it compares by pointer first, so a panel with equal props is skipped cheaply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Band {
    /// "checkout's breaker".
    pub label: String,
    /// In time order, covering the run up to the playhead.
    pub segments: Vec<Segment>,
}

/// What [`Moments::sync`] found.
#[derive(Debug, PartialEq)]
pub enum Sync {
    /// Up to date; whether a moment was added.
    Fresh(bool),
    /// The ring no longer holds events the list has not read: it cannot follow this world.
    Gap,
}

/// The moments of one run, up to the moment read.
#[derive(Clone, Default)]
pub struct Moments {
    moments: Vec<Moment>,
    /// Trace events read so far (the next `seq` to read).
    seen: u64,
    /// Moments before this time were dropped: the bands start here.
    floor_us: u64,
}

fn name(names: &[String], n: NodeId) -> String {
    names
        .get(n.index())
        .cloned()
        .unwrap_or_else(|| format!("n{}", n.0))
}

/// The cut or healed links as words: "checkout–payments", "a → b (one way)", at most three.
fn links_text(names: &[String], dirs: &[(NodeId, NodeId)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (i, &(a, b)) in dirs.iter().enumerate() {
        if dirs[..i].contains(&(b, a)) {
            continue; // the other direction is already listed
        }
        parts.push(if dirs.contains(&(b, a)) {
            format!("{}–{}", name(names, a), name(names, b))
        } else {
            format!("{} → {} (one way)", name(names, a), name(names, b))
        });
    }
    let n = parts.len();
    let mut s = parts.into_iter().take(3).collect::<Vec<_>>().join(", ");
    if n > 3 {
        s.push_str(&format!(" and {} more", n - 3));
    }
    let noun = if n == 1 { "link" } else { "links" };
    format!("{noun} {s}")
}

/// A breaker's transition in a state line: (call, from, to, why).
fn breaker_line(text: &str) -> Option<(Option<u32>, Kind, Kind, &str)> {
    let (call, rest) = match text.strip_prefix("breaker to call ") {
        Some(r) => {
            let (i, rest) = r.split_once(": ")?;
            (Some(i.parse().ok()?), rest)
        }
        None => (None, text),
    };
    let rest = rest.strip_prefix("breaker ")?;
    let (change, why) = rest.split_once(": ").unwrap_or((rest, ""));
    let (from, to) = change.split_once(" -> ")?;
    Some((
        call,
        Kind::breaker_state(from)?,
        Kind::breaker_state(to)?,
        why,
    ))
}

/// A Raft server's leader change in a state line: (kind, term).
fn leader_line(text: &str) -> Option<(Kind, &str)> {
    fn term(s: &str) -> Option<&str> {
        s.split_once(", term ").map(|(_, t)| t)
    }
    if let Some(rest) = text.strip_prefix("candidate -> leader") {
        return Some((Kind::Leader, term(rest)?));
    }
    if let Some(rest) = text.strip_prefix("leader -> ") {
        return Some((Kind::StepDown, term(rest)?));
    }
    None
}

/// The moment a trace event makes, if any.
fn moment_of(e: &TraceEvent, names: &[String]) -> Option<Moment> {
    let m = |kind, what: String| Moment {
        seq: e.seq,
        time_us: e.time_us,
        kind,
        what,
        breaker: None,
        dirs: Vec::new(),
    };
    match &e.kind {
        TraceKind::Fault { fault } => match fault {
            Fault::Crash { node } => {
                Some(m(Kind::Crash, format!("{} crashed", name(names, *node))))
            }
            Fault::Restart { node } => Some(m(
                Kind::Restart,
                format!("{} restarted", name(names, *node)),
            )),
            Fault::Cut { from, to } | Fault::Heal { from, to } => {
                let kind = if matches!(fault, Fault::Cut { .. }) {
                    Kind::Cut
                } else {
                    Kind::Heal
                };
                let dirs = vec![(*from, *to)];
                let verb = if kind == Kind::Cut { "cut" } else { "healed" };
                let mut mo = m(kind, format!("{} {verb}", links_text(names, &dirs)));
                mo.dirs = dirs;
                Some(mo)
            }
            _ => None,
        },
        TraceKind::State { node, text } => {
            let who = name(names, *node);
            if let Some((call, from, to, why)) = breaker_line(text) {
                let whose = match call {
                    Some(i) => format!("{who}'s breaker to call {i}"),
                    None => format!("{who}'s breaker"),
                };
                let verb = match to {
                    Kind::Open => "opened",
                    Kind::HalfOpen => "half-opened",
                    _ => "closed",
                };
                let why = if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                };
                let mut mo = m(to, format!("{whose} {verb}{why}"));
                mo.breaker = Some((BreakerId { node: *node, call }, from));
                return Some(mo);
            }
            let (kind, term) = leader_line(text)?;
            Some(m(
                kind,
                match kind {
                    Kind::Leader => format!("{who} became leader (term {term})"),
                    _ => format!("{who} stepped down as leader (term {term})"),
                },
            ))
        }
        _ => None,
    }
}

impl Moments {
    /// Reads one event; whether it made (or extended) a moment.
    pub fn observe(&mut self, e: &TraceEvent, names: &[String]) -> bool {
        self.seen = self.seen.max(e.seq + 1);
        let Some(m) = moment_of(e, names) else {
            return false;
        };
        // Both directions of a cut (or a partition's many) are one moment.
        if let Some(last) = self.moments.last_mut()
            && last.kind == m.kind
            && last.time_us == m.time_us
            && !m.dirs.is_empty()
        {
            last.dirs.extend(m.dirs);
            let verb = if m.kind == Kind::Cut { "cut" } else { "healed" };
            last.what = format!("{} {verb}", links_text(names, &last.dirs));
            return true;
        }
        self.moments.push(m);
        if self.moments.len() > MAX_MOMENTS {
            let gone = self.moments.remove(0);
            self.floor_us = self.floor_us.max(gone.time_us + 1);
        }
        true
    }

    /// Reads the world's new trace events.
    pub fn sync(&mut self, world: &World) -> Sync {
        let trace = world.trace();
        if trace.len_total() <= self.seen {
            return Sync::Fresh(false);
        }
        if trace.evicted() > self.seen {
            return Sync::Gap;
        }
        let names = world.names();
        let mut added = false;
        for e in trace.since(self.seen) {
            added |= self.observe(e, names);
        }
        self.seen = trace.len_total();
        Sync::Fresh(added)
    }

    /// Gives up on the events before `seq` (the ring lost them unread): reads on from there.
    pub fn skip_to(&mut self, seq: u64) {
        self.seen = self.seen.max(seq);
    }

    /// The moments in time order, with the invariants' violations merged in; at most
    /// [`MAX_MOMENTS`], the newest.
    pub fn list<'a>(
        &self,
        violations: impl IntoIterator<Item = &'a crate::verdicts::Transition>,
        names: &[String],
    ) -> Vec<Moment> {
        let mut all = self.moments.clone();
        all.extend(violations.into_iter().map(|t| Moment {
            seq: t.seq,
            time_us: t.time_us,
            kind: Kind::Violated,
            what: format!("{} violated ({})", t.name, name(names, t.node)),
            breaker: None,
            dirs: Vec::new(),
        }));
        faultline_core::order::sort_by_key(&mut all, |m| (m.time_us, m.seq));
        let extra = all.len().saturating_sub(MAX_MOMENTS);
        all.drain(..extra);
        all
    }

    /// Each breaker's states from the start (or the oldest kept moment) to the playhead.
    pub fn bands(&self, names: &[String]) -> Vec<Band> {
        let mut ids: Vec<&BreakerId> = self
            .moments
            .iter()
            .filter_map(|m| m.breaker.as_ref().map(|(b, _)| b))
            .collect();
        faultline_core::order::sort(&mut ids);
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let mut segments: Vec<Segment> = Vec::new();
                for m in &self.moments {
                    let Some((b, from)) = &m.breaker else {
                        continue;
                    };
                    if b != id {
                        continue;
                    }
                    match segments.last_mut() {
                        Some(s) => s.to_us = Some(m.time_us),
                        None => segments.push(Segment {
                            from_us: self.floor_us,
                            to_us: Some(m.time_us),
                            state: *from,
                        }),
                    }
                    segments.push(Segment {
                        from_us: m.time_us,
                        to_us: None,
                        state: m.kind,
                    });
                }
                let who = name(names, id.node);
                Band {
                    label: match id.call {
                        Some(i) => format!("{who}'s breaker to call {i}"),
                        None => format!("{who}'s breaker"),
                    },
                    segments,
                }
            })
            .collect()
    }

    /// Whether the list is empty.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.moments.len()
    }
}

#[cfg(test)]
#[path = "moments_tests.rs"]
mod tests;
