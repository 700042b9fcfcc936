//! The world: the one owner of time, the event queue, the network and every node.
//!
//! Everything nondeterministic lives here and nowhere else. Events are ordered by
//! (time, sequence number), the sequence number a counter, so two events at the same microsecond
//! always run in the order they were scheduled. Each call to [`World::step`] handles exactly one
//! event; [`World::run_until`] is bounded both by virtual time and by an event budget, so the
//! page can never be frozen by a run that schedules faster than time advances.

use crate::idhash::PendingSet;

use crate::dist::Dist;
use crate::events::{EventKind, EventQueue, Scheduled};
use crate::limits::{
    MAX_EVENTS_PER_INSTANT, MAX_EVENTS_PER_RUN, MAX_IN_FLIGHT, MAX_TIMERS_PER_NODE,
};
use crate::metrics::NodeMetrics;
use crate::models::checks::Checks;
use crate::msg::{MsgId, Payload};
use crate::node::{Ctx, Node, NodeId, TimerId};
use crate::rng::{SimRng, Stream};
use crate::trace::{DropReason, Fault, Trace, TraceKind};

/// One direction of a link, as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct DirConfig {
    /// One-way latency.
    pub latency: Dist,
    /// Probability of loss, parts per million.
    pub loss_ppm: u32,
    /// Probability that the network delivers a second copy, parts per million.
    pub duplicate_ppm: u32,
    /// When false (the default) the direction is FIFO, like a TCP connection: a message never
    /// overtakes an earlier one. When true each message's latency is independent.
    pub reorder: bool,
    /// Messages per second the direction can carry; 0 is unlimited.
    pub bandwidth_per_s: u32,
    /// Messages that may wait for the wire when bandwidth is limited; more are dropped.
    pub queue_limit: u32,
}

impl Default for DirConfig {
    fn default() -> Self {
        DirConfig {
            latency: Dist::constant_ms(1.0),
            loss_ppm: 0,
            duplicate_ppm: 0,
            reorder: false,
            bandwidth_per_s: 0,
            queue_limit: 1_000,
        }
    }
}

#[derive(Clone, Debug)]
struct Dir {
    cfg: DirConfig,
    cut: bool,
    rng: SimRng,
    last_deliver_us: u64,
    busy_until_us: u64,
}

/// A link between two nodes, with a state per direction.
#[derive(Clone, Debug)]
pub struct Link {
    /// One end.
    pub a: NodeId,
    /// The other end.
    pub b: NodeId,
    dirs: [Dir; 2],
}

impl Link {
    /// Whether the direction `a -> b` (`0`) or `b -> a` (`1`) is cut.
    pub fn is_cut(&self, dir: usize) -> bool {
        self.dirs[dir & 1].cut
    }

    /// The configuration of one direction.
    pub fn config(&self, dir: usize) -> &DirConfig {
        &self.dirs[dir & 1].cfg
    }
}

/// Whether a node is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// Handling events.
    Up,
    /// Down: its volatile state is gone and messages to it are dropped.
    Crashed,
    /// Stopped (a long GC pause, a frozen VM): what arrives waits, timers fire late on resume.
    Paused,
}

/// A fault or a change of setting, applied at one moment. Interventions in a scenario name nodes
/// by id; these name them by index.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Cut `a -> b`, and `b -> a` unless `one_way`.
    Cut {
        /// One end.
        a: NodeId,
        /// The other end.
        b: NodeId,
        /// Only `a -> b`.
        one_way: bool,
    },
    /// Heal both directions between `a` and `b`.
    Heal {
        /// One end.
        a: NodeId,
        /// The other end.
        b: NodeId,
    },
    /// Heal every link.
    HealAll,
    /// Cut every link between nodes of different groups (nodes in no group form one more).
    Partition {
        /// The sides.
        groups: Vec<Vec<NodeId>>,
    },
    /// Crash a node.
    Crash(NodeId),
    /// Restart a crashed node.
    Restart(NodeId),
    /// Pause a node.
    Pause(NodeId),
    /// Resume a paused node.
    Resume(NodeId),
    /// Change a node's setting.
    Set {
        /// The node.
        node: NodeId,
        /// The setting's name, dotted for nested ones (`retry.max_attempts`).
        param: String,
        /// The new value.
        value: serde_json::Value,
    },
    /// Change both directions of a link: `latency` (a distribution), `loss`, `duplicate`
    /// (0 to 1) or `reorder` (bool).
    SetLink {
        /// One end.
        a: NodeId,
        /// The other end.
        b: NodeId,
        /// The setting.
        param: String,
        /// The new value.
        value: serde_json::Value,
    },
    /// Drop one message in flight.
    DropMessage(MsgId),
    /// Delay one message in flight.
    DelayMessage(MsgId, u64),
}

/// A message on the wire (or waiting at a paused node).
#[derive(Clone, Debug)]
pub struct InFlight {
    /// Its id.
    pub id: MsgId,
    /// Sender.
    pub from: NodeId,
    /// Destination.
    pub to: NodeId,
    /// When it was sent.
    pub sent_us: u64,
    /// When it is due.
    pub deliver_us: u64,
    /// Contents.
    pub payload: Payload,
    /// Decided at send: it will be dropped on arrival for this reason (a lost packet still
    /// travels part of the way on the canvas).
    pub doomed: Option<DropReason>,
    /// It arrived at a paused node and waits there.
    pub held: bool,
    link: (u16, u8),
}

#[derive(Clone, Debug)]
enum Deferred {
    Message(u32, MsgId),
    Timer(TimerId, u64),
}

#[derive(Clone, Debug)]
struct NodeSlot {
    node: Box<dyn Node>,
    rng: SimRng,
    epoch: u32,
    liveness: Liveness,
    deferred: Vec<Deferred>,
}

/// Everything but the nodes themselves: what a [`Ctx`] reaches.
#[derive(Clone, Debug)]
pub(crate) struct Core {
    pub(crate) now_us: u64,
    seq: u64,
    queue: EventQueue,
    n: usize,
    links: Vec<Link>,
    route: Vec<Option<(u16, u8)>>,
    inflight: Vec<Option<InFlight>>,
    free: Vec<u32>,
    inflight_count: usize,
    next_msg: u64,
    next_timer: u64,
    pending: PendingSet,
    timers_live: Vec<u32>,
    pub(crate) trace: Trace,
    pub(crate) metrics: Vec<NodeMetrics>,
    actions: Vec<(u64, Action)>,
    events: u64,
    /// Events handled so far at `now_us`, to catch loops in which time stands still.
    events_at_now: u64,
    halted: Option<String>,
    overload_noticed: bool,
    counts: Counts,
    /// The cross-node checkers (`models::checks`): nodes report to them through `Ctx`.
    pub(crate) checks: Checks,
}

/// Totals the engine keeps about messages, for invariants and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Messages put on the wire (duplicates included).
    pub sent: u64,
    /// Messages handled by their destination.
    pub delivered: u64,
    /// Messages lost, for any reason.
    pub dropped: u64,
}

impl Core {
    // Inline: through a call, the kind went by memory, written field by field by the caller
    // and read back here by wide loads, which wait for narrow stores to retire (store
    // forwarding fails across stores of different widths). Inlining it was worth about 4% of
    // the M/M/1 station's speed.
    #[inline(always)]
    fn schedule(&mut self, time_us: u64, kind: EventKind) {
        self.seq += 1;
        // Interventions run after every other event of their microsecond. Then an intervention
        // the learner makes while paused at t (after everything up to t has run) and the same
        // intervention replayed from a share link (scheduled at build time) land at the same
        // point of the order, and both give the same trace.
        let late = if matches!(kind, EventKind::Intervention { .. }) {
            1 << 63
        } else {
            0
        };
        self.queue.push(Scheduled {
            time_us,
            seq: self.seq | late,
            kind: kind.pack(),
        });
    }

    fn notice(&mut self, text: String) {
        let now = self.now_us;
        self.trace.push(now, TraceKind::Notice { text });
    }

    fn halt(&mut self, why: String) {
        if self.halted.is_none() {
            self.notice(why.clone());
            self.halted = Some(why);
        }
    }

    fn drop_now(&mut self, id: MsgId, from: NodeId, to: NodeId, sent_us: u64, reason: DropReason) {
        self.counts.dropped += 1;
        let now = self.now_us;
        self.trace.push(
            now,
            TraceKind::Dropped {
                id,
                from,
                to,
                sent_us,
                reason,
            },
        );
    }

    pub(crate) fn send(&mut self, from: NodeId, to: NodeId, payload: Payload) -> MsgId {
        let route = self.route[from.index() * self.n + to.index()];
        let may_duplicate = route.is_some_and(|(l, d)| {
            self.links[usize::from(l)].dirs[usize::from(d)]
                .cfg
                .duplicate_ppm
                > 0
        });
        if !may_duplicate {
            return self.put_on_wire(from, to, payload, None);
        }
        // The copy is only made where the link duplicates; the draw comes after the original's
        // own draws, as it always has, so traces do not depend on this shortcut.
        let id = self.put_on_wire(from, to, payload.clone(), None);
        if let Some((l, d)) = route {
            let dir = &mut self.links[usize::from(l)].dirs[usize::from(d)];
            let ppm = dir.cfg.duplicate_ppm;
            if dir.rng.chance_ppm(ppm) {
                self.put_on_wire(from, to, payload, Some(id));
            }
        }
        id
    }

    fn put_on_wire(
        &mut self,
        from: NodeId,
        to: NodeId,
        payload: Payload,
        duplicate_of: Option<MsgId>,
    ) -> MsgId {
        let id = MsgId(self.next_msg);
        self.next_msg += 1;
        self.counts.sent += 1;
        let now = self.now_us;
        let route = self
            .route
            .get(from.index() * self.n + to.index())
            .copied()
            .flatten();
        let Some((l, d)) = route else {
            self.trace.push(
                now,
                TraceKind::Sent {
                    id,
                    from,
                    to,
                    deliver_us: now,
                    duplicate_of,
                    payload,
                },
            );
            self.drop_now(id, from, to, now, DropReason::NoLink);
            return id;
        };
        if self.inflight_count >= MAX_IN_FLIGHT {
            self.trace.push(
                now,
                TraceKind::Sent {
                    id,
                    from,
                    to,
                    deliver_us: now,
                    duplicate_of,
                    payload,
                },
            );
            self.drop_now(id, from, to, now, DropReason::Overload);
            if !self.overload_noticed {
                self.overload_noticed = true;
                self.notice(format!(
                    "more than {MAX_IN_FLIGHT} messages in flight: new ones are dropped until some arrive"
                ));
            }
            return id;
        }
        let dir = &mut self.links[usize::from(l)].dirs[usize::from(d)];
        let mut depart_us = now;
        if dir.cfg.bandwidth_per_s > 0 {
            let tx_us = (1_000_000 / u64::from(dir.cfg.bandwidth_per_s)).max(1);
            let start = dir.busy_until_us.max(now);
            let waiting = (start - now) / tx_us;
            if waiting >= u64::from(dir.cfg.queue_limit) {
                self.trace.push(
                    now,
                    TraceKind::Sent {
                        id,
                        from,
                        to,
                        deliver_us: now,
                        duplicate_of,
                        payload,
                    },
                );
                self.drop_now(id, from, to, now, DropReason::QueueFull);
                return id;
            }
            dir.busy_until_us = start + tx_us;
            depart_us = dir.busy_until_us;
        }
        let mut deliver_us = depart_us.saturating_add(dir.cfg.latency.sample_us(&mut dir.rng));
        if !dir.cfg.reorder {
            deliver_us = deliver_us.max(dir.last_deliver_us);
            dir.last_deliver_us = deliver_us;
        }
        let lost = dir.cfg.loss_ppm > 0 && dir.rng.chance_ppm(dir.cfg.loss_ppm);
        let doomed = if dir.cut {
            Some(DropReason::LinkCut)
        } else if lost {
            Some(DropReason::Loss)
        } else {
            None
        };
        if self.trace.is_recording() {
            let p = payload.clone();
            self.trace.push(
                now,
                TraceKind::Sent {
                    id,
                    from,
                    to,
                    deliver_us,
                    duplicate_of,
                    payload: p,
                },
            );
        }
        let msg = InFlight {
            id,
            from,
            to,
            sent_us: now,
            deliver_us,
            payload,
            doomed,
            held: false,
            link: (l, d),
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.inflight[s as usize] = Some(msg);
                s
            }
            None => {
                self.inflight.push(Some(msg));
                (self.inflight.len() - 1) as u32
            }
        };
        self.inflight_count += 1;
        self.schedule(deliver_us, EventKind::Deliver { slot, id });
        id
    }

    fn take_inflight(&mut self, slot: u32) -> Option<InFlight> {
        let m = self.inflight.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        self.inflight_count -= 1;
        Some(m)
    }

    pub(crate) fn set_timer(
        &mut self,
        node: NodeId,
        epoch: u32,
        after_us: u64,
        tag: u64,
    ) -> TimerId {
        let id = TimerId(self.next_timer);
        self.next_timer += 1;
        let live = &mut self.timers_live[node.index()];
        if *live >= MAX_TIMERS_PER_NODE {
            self.halt(format!(
                "node {} has more than {MAX_TIMERS_PER_NODE} timers pending: the run stops here",
                node.0
            ));
            return id;
        }
        *live += 1;
        self.pending.insert(id.0);
        let at = self
            .now_us
            .saturating_add(after_us.min(crate::limits::MAX_DURATION_US));
        self.schedule(
            at,
            EventKind::Timer {
                node,
                timer: id,
                epoch,
                tag,
            },
        );
        id
    }

    pub(crate) fn cancel_timer(&mut self, node: NodeId, timer: TimerId) {
        if self.pending.remove(timer.0) {
            let live = &mut self.timers_live[node.index()];
            *live = live.saturating_sub(1);
        }
    }
}

/// Why [`World::run_until`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Virtual time reached the requested moment.
    Reached,
    /// The event budget of this call ran out first; call again to go on.
    Budget,
    /// Nothing is left to happen: the queue is empty.
    Idle,
    /// A limit stopped the run; the message says which.
    Halted(String),
}

/// What one processed event was, for stepping in the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stepped {
    /// Its virtual time.
    pub time_us: u64,
}

/// A saved moment of a run: restore it to jump back, or to fork a new future from it.
#[derive(Clone, Debug)]
pub struct Snapshot {
    core: Core,
    nodes: Vec<NodeSlot>,
    trace_seq: u64,
    trace_hash: u64,
}

impl Snapshot {
    /// The virtual time at which it was taken.
    pub fn time_us(&self) -> u64 {
        self.core.now_us
    }

    /// How many events the run had processed when it was taken.
    pub fn events(&self) -> u64 {
        self.core.events
    }
}

/// The simulated world. Build one from a scenario with [`crate::scenario::Scenario::build`].
#[derive(Clone, Debug)]
pub struct World {
    core: Core,
    nodes: Vec<NodeSlot>,
    names: Vec<String>,
    seed: u64,
    settings: Settings,
}

/// How a running world reads a changed setting (the `set` and `set_link` actions): through
/// serde, from JSON values. The engine calls these through pointers taken where the scenario
/// is built ([`Settings::READ`]), so that serde code is compiled with the code that reads
/// scenarios (the page's, at opt-level "z") and not a second time inside the engine at 2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub node: fn(&mut dyn Node, &str, &serde_json::Value) -> Result<String, String>,
    pub link: fn(&mut DirConfig, &str, &serde_json::Value) -> Result<(), String>,
}

impl Settings {
    /// The readers every world uses: [`crate::models::set_param`] and
    /// [`crate::scenario::set_dir_param`]. A constant, so each crate that builds a world
    /// takes the two functions (both `inline`) as its own.
    pub(crate) const READ: Settings = Settings {
        node: crate::models::set_param,
        link: crate::scenario::set_dir_param,
    };
}

/// The parts a world is built from (see [`crate::scenario`]).
pub(crate) struct Parts {
    pub seed: u64,
    pub names: Vec<String>,
    pub nodes: Vec<Box<dyn Node>>,
    pub links: Vec<(NodeId, NodeId, DirConfig, DirConfig)>,
    pub actions: Vec<(u64, Action)>,
    pub bucket_us: u64,
    pub trace_capacity: usize,
    pub settings: Settings,
}

impl World {
    pub(crate) fn from_parts(p: Parts) -> World {
        let n = p.nodes.len();
        let mut route = vec![None; n * n];
        let links: Vec<Link> = p
            .links
            .into_iter()
            .enumerate()
            .map(|(i, (a, b, ab, ba))| {
                let i = i as u16;
                route[a.index() * n + b.index()] = Some((i, 0));
                route[b.index() * n + a.index()] = Some((i, 1));
                let dir = |cfg: DirConfig, d: u8| Dir {
                    cfg,
                    cut: false,
                    rng: SimRng::new(p.seed, Stream::Link(i, d)),
                    last_deliver_us: 0,
                    busy_until_us: 0,
                };
                Link {
                    a,
                    b,
                    dirs: [dir(ab, 0), dir(ba, 1)],
                }
            })
            .collect();
        let mut core = Core {
            now_us: 0,
            seq: 0,
            queue: EventQueue::default(),
            n,
            links,
            route,
            inflight: Vec::new(),
            free: Vec::new(),
            inflight_count: 0,
            next_msg: 0,
            next_timer: 0,
            pending: PendingSet::default(),
            timers_live: vec![0; n],
            trace: Trace::new(p.trace_capacity),
            metrics: (0..n).map(|_| NodeMetrics::new(p.bucket_us)).collect(),
            actions: p.actions,
            events: 0,
            events_at_now: 0,
            halted: None,
            overload_noticed: false,
            counts: Counts::default(),
            checks: Checks::for_nodes(&p.nodes, &p.names),
        };
        for i in 0..n {
            core.schedule(
                0,
                EventKind::Start {
                    node: NodeId(i as u16),
                    epoch: 0,
                },
            );
        }
        for i in 0..core.actions.len() {
            let at = core.actions[i].0;
            core.schedule(at, EventKind::Intervention { index: i as u32 });
        }
        let nodes = p
            .nodes
            .into_iter()
            .enumerate()
            .map(|(i, node)| NodeSlot {
                node,
                rng: SimRng::new(p.seed, Stream::Node(i as u16)),
                epoch: 0,
                liveness: Liveness::Up,
                deferred: Vec::new(),
            })
            .collect();
        World {
            core,
            nodes,
            names: p.names,
            seed: p.seed,
            settings: p.settings,
        }
    }

    /// The current virtual time, in microseconds.
    pub fn now_us(&self) -> u64 {
        self.core.now_us
    }

    /// The seed this world was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.core.events
    }

    /// The time of the next event, if any.
    pub fn next_event_us(&self) -> Option<u64> {
        self.core.queue.peek().map(|e| e.time_us)
    }

    /// Why the run stopped, if a limit stopped it.
    pub fn halted(&self) -> Option<&str> {
        self.core.halted.as_deref()
    }

    /// The node names, by index.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// A node's index by name.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| NodeId(i as u16))
    }

    /// A node's model.
    pub fn node(&self, id: NodeId) -> &dyn Node {
        self.nodes[id.index()].node.as_ref()
    }

    /// A node's state for drawing, or `None` for an id not in this world. The page draws a
    /// node from this alone (its liveness comes from [`World::liveness`]).
    pub fn node_view(&self, id: NodeId) -> Option<crate::view::NodeView> {
        self.nodes.get(id.index()).map(|s| s.node.view())
    }

    /// Whether a node is up, crashed or paused.
    pub fn liveness(&self, id: NodeId) -> Liveness {
        self.nodes[id.index()].liveness
    }

    /// A node's metrics.
    pub fn metrics(&self, id: NodeId) -> &NodeMetrics {
        &self.core.metrics[id.index()]
    }

    /// The links, in scenario order.
    pub fn links(&self) -> &[Link] {
        &self.core.links
    }

    /// Messages on the wire or waiting at a paused node, in no particular order.
    pub fn in_flight(&self) -> impl Iterator<Item = &InFlight> {
        self.core.inflight.iter().flatten()
    }

    /// How many messages are in flight.
    pub fn in_flight_count(&self) -> usize {
        self.core.inflight_count
    }

    /// Message totals.
    pub fn counts(&self) -> Counts {
        self.core.counts
    }

    /// The trace.
    pub fn trace(&self) -> &Trace {
        &self.core.trace
    }

    /// The cross-node checkers: the key-value history and the checker's answers so far, ...
    /// For tests, reports and the page; nodes only report to them.
    pub fn checks(&self) -> &Checks {
        &self.core.checks
    }

    /// The trace, to drain it or to turn recording off.
    pub fn trace_mut(&mut self) -> &mut Trace {
        &mut self.core.trace
    }

    /// Saves this moment.
    pub fn snapshot(&mut self) -> Snapshot {
        let trace = std::mem::replace(&mut self.core.trace, Trace::new(0));
        let snap = Snapshot {
            core: self.core.clone(),
            nodes: self.nodes.clone(),
            trace_seq: trace.len_total(),
            trace_hash: trace.hash(),
        };
        self.core.trace = trace;
        snap
    }

    /// Returns to a saved moment of this same run. Trace events after it are forgotten, so
    /// running on replays exactly, or forks when something is changed first.
    pub fn restore(&mut self, snap: &Snapshot) {
        let mut trace = std::mem::replace(&mut self.core.trace, Trace::new(0));
        trace.rewind(snap.trace_seq, snap.trace_hash);
        self.core = snap.core.clone();
        self.core.trace = trace;
        self.nodes = snap.nodes.clone();
    }

    /// Handles the next event, if there is one; a halted world does nothing.
    pub fn step(&mut self) -> Option<Stepped> {
        if self.core.halted.is_some() {
            return None;
        }
        if self.core.events >= MAX_EVENTS_PER_RUN {
            self.core.halt(format!(
                "the run reached its limit of {MAX_EVENTS_PER_RUN} events"
            ));
            return None;
        }
        let ev = self.core.queue.pop()?;
        debug_assert!(ev.time_us >= self.core.now_us, "time went backwards");
        if ev.time_us == self.core.now_us {
            self.core.events_at_now += 1;
            if self.core.events_at_now > MAX_EVENTS_PER_INSTANT {
                // Put the event back: the queue stays exactly as it was when the run stopped.
                self.core.queue.push(ev);
                self.core.halt(format!(
                    "time stood still: more than {MAX_EVENTS_PER_INSTANT} events at {:.6} s. \
                     Something loops without any delay, e.g. closed-loop users with think time 0 \
                     whose requests fail at once over a link with no latency",
                    self.core.now_us as f64 / 1e6
                ));
                return None;
            }
        } else {
            self.core.events_at_now = 1;
        }
        self.core.now_us = ev.time_us;
        self.core.events += 1;
        match ev.kind.unpack() {
            EventKind::Start { node, epoch } => {
                let slot = &mut self.nodes[node.index()];
                if slot.epoch == epoch && slot.liveness == Liveness::Up {
                    let NodeSlot {
                        node: model,
                        rng,
                        epoch,
                        ..
                    } = slot;
                    let mut ctx = Ctx {
                        core: &mut self.core,
                        me: node,
                        rng,
                        epoch: *epoch,
                    };
                    model.on_start(&mut ctx);
                }
            }
            EventKind::Deliver { slot, id } => self.deliver(slot, id, ev.time_us),
            EventKind::Timer {
                node,
                timer,
                epoch,
                tag,
            } => self.fire(node, timer, epoch, tag),
            EventKind::Intervention { index } => {
                let action = self.core.actions[index as usize].1.clone();
                self.apply(action);
            }
        }
        Some(Stepped {
            time_us: ev.time_us,
        })
    }

    fn deliver(&mut self, slot: u32, id: MsgId, at_us: u64) {
        let valid = matches!(self.core.inflight.get(slot as usize), Some(Some(m)) if m.id == id && m.deliver_us == at_us);
        if !valid {
            return; // dropped or delayed by hand: a stale schedule entry
        }
        let m = self.core.inflight[slot as usize]
            .as_ref()
            .expect("checked above");
        let (l, d) = m.link;
        let cut = self.core.links[usize::from(l)].dirs[usize::from(d)].cut;
        let reason = if cut {
            Some(DropReason::LinkCut)
        } else {
            m.doomed
        };
        let to = m.to;
        if reason.is_none() && self.nodes[to.index()].liveness == Liveness::Paused {
            let m = self.core.inflight[slot as usize]
                .as_mut()
                .expect("checked above");
            m.held = true;
            self.nodes[to.index()]
                .deferred
                .push(Deferred::Message(slot, id));
            return;
        }
        let m = self.core.take_inflight(slot).expect("checked above");
        let reason = reason
            .or((self.nodes[to.index()].liveness == Liveness::Crashed)
                .then_some(DropReason::NodeDown));
        if let Some(reason) = reason {
            self.core.drop_now(m.id, m.from, m.to, m.sent_us, reason);
            return;
        }
        self.core.counts.delivered += 1;
        let now = self.core.now_us;
        if self.core.trace.is_recording() {
            let kind = TraceKind::Delivered {
                id: m.id,
                from: m.from,
                to,
                sent_us: m.sent_us,
            };
            self.core.trace.push(now, kind);
        }
        let NodeSlot {
            node: model,
            rng,
            epoch,
            ..
        } = &mut self.nodes[to.index()];
        let mut ctx = Ctx {
            core: &mut self.core,
            me: to,
            rng,
            epoch: *epoch,
        };
        model.on_message(&mut ctx, m.from, m.payload);
    }

    fn fire(&mut self, node: NodeId, timer: TimerId, epoch: u32, tag: u64) {
        let slot = &mut self.nodes[node.index()];
        if slot.epoch != epoch {
            self.core.pending.remove(timer.0); // set before a crash: gone with the process
            return;
        }
        if slot.liveness == Liveness::Paused {
            if self.core.pending.contains(timer.0) {
                slot.deferred.push(Deferred::Timer(timer, tag));
            }
            return;
        }
        if !self.core.pending.remove(timer.0) {
            return; // cancelled
        }
        let live = &mut self.core.timers_live[node.index()];
        *live = live.saturating_sub(1);
        let now = self.core.now_us;
        if self.core.trace.is_recording() {
            let kind = TraceKind::TimerFired {
                node,
                timer: timer.0,
                tag,
            };
            self.core.trace.push(now, kind);
        }
        let NodeSlot {
            node: model,
            rng,
            epoch,
            ..
        } = slot;
        let mut ctx = Ctx {
            core: &mut self.core,
            me: node,
            rng,
            epoch: *epoch,
        };
        model.on_timer(&mut ctx, timer, tag);
    }

    /// Runs until virtual time reaches `until_us` or `max_events` events have been handled,
    /// whichever comes first. Time is left at `until_us` when reached, even between events.
    pub fn run_until(&mut self, until_us: u64, max_events: u64) -> RunStatus {
        let mut handled = 0u64;
        loop {
            if let Some(why) = &self.core.halted {
                return RunStatus::Halted(why.clone());
            }
            match self.next_event_us() {
                None => {
                    self.core.now_us = self.core.now_us.max(until_us);
                    return RunStatus::Idle;
                }
                Some(t) if t > until_us => {
                    self.core.now_us = self.core.now_us.max(until_us);
                    return RunStatus::Reached;
                }
                Some(_) => {}
            }
            if handled >= max_events {
                return RunStatus::Budget;
            }
            self.step();
            handled += 1;
        }
    }

    /// Schedules an intervention at `at_us` (no earlier than now). It runs after every other
    /// event of that microsecond, exactly as the same intervention in a scenario would.
    pub fn schedule_action(&mut self, at_us: u64, action: Action) {
        let at = at_us.max(self.core.now_us);
        let index = self.core.actions.len() as u32;
        self.core.actions.push((at, action));
        self.core.schedule(at, EventKind::Intervention { index });
    }

    /// Applies an intervention now, immediately (before any other event of this microsecond
    /// that is still queued). Prefer [`World::schedule_action`] for anything recorded.
    pub fn apply(&mut self, action: Action) {
        let now = self.core.now_us;
        match action {
            Action::Cut { a, b, one_way } => {
                self.set_cut(a, b, true);
                if !one_way {
                    self.set_cut(b, a, true);
                }
            }
            Action::Heal { a, b } => {
                self.set_cut(a, b, false);
                self.set_cut(b, a, false);
            }
            Action::HealAll => {
                for i in 0..self.core.links.len() {
                    let (a, b) = (self.core.links[i].a, self.core.links[i].b);
                    self.set_cut(a, b, false);
                    self.set_cut(b, a, false);
                }
            }
            Action::Partition { groups } => {
                let mut side = vec![groups.len(); self.nodes.len()];
                for (g, members) in groups.iter().enumerate() {
                    for m in members {
                        side[m.index()] = g;
                    }
                }
                for i in 0..self.core.links.len() {
                    let (a, b) = (self.core.links[i].a, self.core.links[i].b);
                    if side[a.index()] != side[b.index()] {
                        self.set_cut(a, b, true);
                        self.set_cut(b, a, true);
                    }
                }
            }
            Action::Crash(n) => {
                let slot = &mut self.nodes[n.index()];
                if slot.liveness == Liveness::Crashed {
                    return;
                }
                slot.liveness = Liveness::Crashed;
                slot.epoch += 1;
                self.core.timers_live[n.index()] = 0;
                let deferred = std::mem::take(&mut slot.deferred);
                self.core.trace.push(
                    now,
                    TraceKind::Fault {
                        fault: Fault::Crash { node: n },
                    },
                );
                for d in deferred {
                    match d {
                        Deferred::Message(s, _) => {
                            if let Some(m) = self.core.take_inflight(s) {
                                self.core.drop_now(
                                    m.id,
                                    m.from,
                                    m.to,
                                    m.sent_us,
                                    DropReason::NodeDown,
                                );
                            }
                        }
                        Deferred::Timer(t, _) => {
                            self.core.pending.remove(t.0);
                        }
                    }
                }
            }
            Action::Restart(n) => {
                let slot = &mut self.nodes[n.index()];
                if slot.liveness != Liveness::Crashed {
                    return;
                }
                slot.liveness = Liveness::Up;
                slot.node.on_restart();
                let epoch = slot.epoch;
                self.core.trace.push(
                    now,
                    TraceKind::Fault {
                        fault: Fault::Restart { node: n },
                    },
                );
                self.core.schedule(now, EventKind::Start { node: n, epoch });
            }
            Action::Pause(n) => {
                let slot = &mut self.nodes[n.index()];
                if slot.liveness == Liveness::Up {
                    slot.liveness = Liveness::Paused;
                    self.core.trace.push(
                        now,
                        TraceKind::Fault {
                            fault: Fault::Pause { node: n },
                        },
                    );
                }
            }
            Action::Resume(n) => {
                let slot = &mut self.nodes[n.index()];
                if slot.liveness != Liveness::Paused {
                    return;
                }
                slot.liveness = Liveness::Up;
                let epoch = slot.epoch;
                let deferred = std::mem::take(&mut slot.deferred);
                self.core.trace.push(
                    now,
                    TraceKind::Fault {
                        fault: Fault::Resume { node: n },
                    },
                );
                for d in deferred {
                    match d {
                        Deferred::Message(s, id) => {
                            if let Some(Some(m)) = self.core.inflight.get_mut(s as usize) {
                                m.held = false;
                                m.deliver_us = now;
                                self.core.schedule(now, EventKind::Deliver { slot: s, id });
                            }
                        }
                        Deferred::Timer(t, tag) => {
                            self.core.schedule(
                                now,
                                EventKind::Timer {
                                    node: n,
                                    timer: t,
                                    epoch,
                                    tag,
                                },
                            );
                        }
                    }
                }
            }
            Action::Set { node, param, value } => {
                match (self.settings.node)(&mut *self.nodes[node.index()].node, &param, &value) {
                    Ok(v) => self.core.trace.push(
                        now,
                        TraceKind::Param {
                            node,
                            param,
                            value: v,
                        },
                    ),
                    Err(e) => self.core.notice(format!(
                        "{}.{param} not changed: {e}",
                        self.names[node.index()]
                    )),
                }
            }
            Action::SetLink { a, b, param, value } => {
                let Some((l, _)) = self.core.route[a.index() * self.core.n + b.index()] else {
                    return;
                };
                let link = &mut self.core.links[usize::from(l)];
                let mut cfgs = [link.dirs[0].cfg.clone(), link.dirs[1].cfg.clone()];
                let res = cfgs
                    .iter_mut()
                    .try_for_each(|c| (self.settings.link)(c, &param, &value));
                match res {
                    Ok(()) => {
                        let [c0, c1] = cfgs;
                        link.dirs[0].cfg = c0;
                        link.dirs[1].cfg = c1;
                        self.core.trace.push(
                            now,
                            TraceKind::Param {
                                node: a,
                                param: format!(
                                    "link {}-{}.{param}",
                                    self.names[a.index()],
                                    self.names[b.index()]
                                ),
                                value: value.to_string(),
                            },
                        );
                    }
                    Err(e) => self
                        .core
                        .notice(format!("link setting {param} not changed: {e}")),
                }
            }
            Action::DropMessage(id) => {
                if let Some(s) = self.find_inflight(id)
                    && let Some(m) = self.core.take_inflight(s)
                {
                    self.core.trace.push(
                        now,
                        TraceKind::Fault {
                            fault: Fault::DropMessage { id },
                        },
                    );
                    if m.held {
                        self.nodes[m.to.index()]
                            .deferred
                            .retain(|d| !matches!(d, Deferred::Message(_, i) if *i == id));
                    }
                    self.core
                        .drop_now(m.id, m.from, m.to, m.sent_us, DropReason::Intervention);
                }
            }
            Action::DelayMessage(id, delay_us) => {
                if let Some(s) = self.find_inflight(id) {
                    let m = self.core.inflight[s as usize].as_mut().expect("found");
                    if m.held {
                        return;
                    }
                    m.deliver_us = m.deliver_us.saturating_add(delay_us);
                    let at = m.deliver_us;
                    self.core.trace.push(
                        now,
                        TraceKind::Fault {
                            fault: Fault::DelayMessage { id, delay_us },
                        },
                    );
                    self.core.schedule(at, EventKind::Deliver { slot: s, id });
                }
            }
        }
    }

    fn find_inflight(&self, id: MsgId) -> Option<u32> {
        self.core
            .inflight
            .iter()
            .position(|m| m.as_ref().is_some_and(|m| m.id == id))
            .map(|i| i as u32)
    }

    fn set_cut(&mut self, from: NodeId, to: NodeId, cut: bool) {
        let Some((l, d)) = self.core.route[from.index() * self.core.n + to.index()] else {
            return;
        };
        let dir = &mut self.core.links[usize::from(l)].dirs[usize::from(d)];
        if dir.cut == cut {
            return;
        }
        dir.cut = cut;
        let fault = if cut {
            Fault::Cut { from, to }
        } else {
            Fault::Heal { from, to }
        };
        let now = self.core.now_us;
        self.core.trace.push(now, TraceKind::Fault { fault });
    }
}
