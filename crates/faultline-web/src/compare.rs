//! Compare mode: the same run (scenario, seed, the learner's changes) in a second pane with one
//! setting of one node changed from time zero, kept at the first pane's moment.
//!
//! The second pane is rebuilt from the first's recorded scenario whenever the first forks, so
//! the two differ by exactly the one setting.

use faultline_core::NodeId;
use faultline_core::scenario::{Intervention, Scenario};
use faultline_core::world::World;

use crate::session::Session;

/// The one change of the second pane.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The node's id in the scenario.
    pub node: String,
    /// The setting's path.
    pub param: String,
    /// Its value.
    pub value: serde_json::Value,
}

/// The second pane.
pub struct Compare {
    /// Its run.
    pub session: Session,
    /// What differs, if anything yet.
    pub change: Option<Change>,
}

impl Compare {
    /// A second pane for `base` (the first pane's recorded scenario) with `change`, at `now_us`.
    pub fn new(base: &Scenario, change: Option<Change>, now_us: u64) -> Result<Compare, String> {
        let mut sc = base.clone();
        if let Some(c) = &change {
            // In force from the start, ahead of everything else at time zero.
            sc.interventions.insert(
                0,
                Intervention::Set {
                    at_ms: 0.0,
                    node: c.node.clone(),
                    param: c.param.clone(),
                    value: c.value.clone(),
                },
            );
        }
        let mut session = Session::new(sc).map_err(|e| e.to_string())?;
        session.playing = false;
        session.seek(now_us);
        Ok(Compare { session, change })
    }

    /// Follows the first pane's clock.
    pub fn follow(&mut self, now_us: u64) {
        if self.session.world.now_us() != now_us {
            self.session.seek(now_us);
        }
    }
}

/// Counters worth comparing wherever a node keeps them, summed over the nodes: (counter,
/// label). A row appears only when a node of either pane counts it.
pub const EXTRA: &[(&str, &str)] = &[
    ("duplicate_charges", "duplicate charges"),
    ("stale_reads", "stale reads"),
    ("refused", "refused operations"),
    ("invariant_violations", "saga invariant violations"),
    ("sagas_completed", "sagas approved"),
    ("duplicates_processed", "messages processed twice"),
    ("leaders_elected", "leaders elected"),
];

/// The key figures of a run: over the nodes that make requests (clients of any model),
/// requests that succeeded and failed, attempts sent, the worst p99 latency; and the
/// [`EXTRA`] counters its nodes keep.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    /// Successful requests.
    pub ok: i64,
    /// Failed requests.
    pub failed: i64,
    /// Attempts (first tries and retries).
    pub attempts: i64,
    /// The highest p99 of the clients, microseconds.
    pub p99_us: Option<u64>,
    /// Each [`EXTRA`] counter, summed; `None` where no node keeps it.
    pub extra: Vec<Option<i64>>,
}

impl Figures {
    /// Reads them from a world.
    pub fn of(world: &World) -> Figures {
        let mut f = Figures {
            extra: vec![None; EXTRA.len()],
            ..Figures::default()
        };
        for i in 0..world.names().len() {
            let id = NodeId(i as u16);
            let counters = world.node(id).counters();
            let get = |k: &str| counters.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
            for (slot, (name, _)) in f.extra.iter_mut().zip(EXTRA) {
                if let Some(v) = get(name) {
                    *slot = Some(slot.unwrap_or(0) + v);
                }
            }
            if !crate::kinds::makes_requests(world.node(id).model_kind()) {
                continue;
            }
            let m = world.metrics(id);
            f.ok += m.successes as i64;
            f.failed += m.failures as i64;
            // A caller without retries makes one attempt per request.
            f.attempts += get("attempts").unwrap_or((m.successes + m.failures) as i64);
            f.p99_us = f.p99_us.max(m.latency.quantile_us(0.99));
        }
        f
    }

    /// The success rate, in percent.
    pub fn success_pct(&self) -> Option<f64> {
        let n = self.ok + self.failed;
        (n > 0).then(|| 100.0 * self.ok as f64 / n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_setting_changes_the_figures_and_the_clock_is_shared() {
        let base = Scenario::parse(crate::templates::TEMPLATES[3]).expect("valid");
        let same = Compare::new(&base, None, 10_000_000).expect("builds");
        let mut a = Session::new(base.clone()).expect("builds");
        a.seek(10_000_000);
        assert_eq!(Figures::of(&same.session.world), Figures::of(&a.world));
        let mut b = Compare::new(
            &base,
            Some(Change {
                node: "checkout".into(),
                param: "timeout_ms".into(),
                value: serde_json::json!(2000),
            }),
            10_000_000,
        )
        .expect("builds");
        let (fa, fb) = (Figures::of(&a.world), Figures::of(&b.session.world));
        assert!(fb.attempts < fa.attempts, "{fa:?} {fb:?}");
        b.follow(5_000_000);
        assert_eq!(b.session.world.now_us(), 5_000_000);
    }

    /// Models without a `client` node still have figures worth comparing: the KV store's
    /// operations and stale reads, Raft's elections.
    #[test]
    fn figures_follow_the_models_in_the_run() {
        let by_title = |t: &str| {
            crate::templates::TEMPLATES
                .iter()
                .map(|s| Scenario::parse(s).expect("valid"))
                .find(|s| s.title == t)
                .expect("template")
        };
        let ap = Compare::new(&by_title("Key-value store, AP"), None, 20_000_000).expect("builds");
        let f = Figures::of(&ap.session.world);
        assert!(f.ok > 100 && f.success_pct().is_some(), "{f:?}");
        let stale = EXTRA.iter().position(|(k, _)| *k == "stale_reads").unwrap();
        assert!(f.extra[stale].is_some_and(|n| n > 0), "{f:?}");
        let raft = by_title("Raft: a leader crash, a partition and a heal");
        let r = Compare::new(&raft, None, 10_000_000).expect("builds");
        let f = Figures::of(&r.session.world);
        let leaders = EXTRA
            .iter()
            .position(|(k, _)| *k == "leaders_elected")
            .unwrap();
        assert!(
            f.extra[leaders].is_some_and(|n| n >= 2),
            "a crash makes a second election: {f:?}"
        );
        assert_eq!(f.extra[stale], None, "no node counts stale reads");
    }
}
