//! The time line's snapshots: saved moments of the run, each with the lists the page read up to
//! it (`observed.rs`), so a jump restores the nearest one at or before its target, in either
//! direction, and replays only the stretch after it.
//!
//! A jump costs the events replayed, so snapshots are spaced by events, and the store is bounded
//! in bytes and in number ([`Budget`]): past either bound, the snapshot whose removal leaves the
//! smallest gap (in events) between its neighbours goes. Greedy removal keeps the gaps even: the
//! removed snapshot's merged gap is the smallest of all, so it is at most twice the average,
//! which makes the longest gap at most about `2 x events / (kept - near - 2)` (or the natural
//! spacing, whichever is larger), and [`Snapshots::max_gap_events`] is what a test checks.
//! The start, the furthest snapshot (a jump to the end), and the [`Budget::near`] snapshots
//! nearest the playhead are kept while the byte budget allows: dense where the learner is
//! looking, sparse far away. A snapshot's bytes are measured as it is taken (`meter.rs`), since
//! they depend on the scenario: about 0.2 MB for a template, several MB with thirty nodes' metric
//! series. When even the start and the furthest snapshot are over the budget, those two stay.

use faultline_core::world::Snapshot;

use crate::observed::Observed;

/// Bounds on the snapshots kept.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// Bytes of all the snapshots together.
    pub bytes: usize,
    /// Snapshots.
    pub count: usize,
    /// Snapshots nearest the playhead that thinning spares (while the byte budget allows).
    pub near: usize,
}

/// The page's bounds: 48 MiB of snapshots (the wasm memory of a long run stays under 150 MB),
/// at most 240 of them.
pub const BUDGET: Budget = Budget {
    bytes: 48 << 20,
    count: 240,
    near: 8,
};

/// One saved moment of the run.
pub struct Saved {
    /// Every event up to and including this time has run; `None` for the state before time 0.
    pub covered_us: Option<u64>,
    /// The world.
    pub snap: Snapshot,
    /// The lists read up to the same event.
    pub observed: Observed,
    /// The heap bytes both hold.
    pub bytes: usize,
}

impl Saved {
    /// Events the run had handled when it was taken.
    pub fn events(&self) -> u64 {
        self.snap.events()
    }
}

/// The snapshots of one run, in time order; the first is the state before time zero.
pub struct Snapshots {
    saved: Vec<Saved>,
    bytes: usize,
    budget: Budget,
}

impl Snapshots {
    /// A store holding the run's start.
    pub fn new(start: Saved, budget: Budget) -> Self {
        Snapshots {
            bytes: start.bytes,
            saved: vec![start],
            budget,
        }
    }

    /// The bounds it keeps.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// The snapshot at `i`.
    pub fn get(&self, i: usize) -> &Saved {
        &self.saved[i]
    }

    /// How many are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.saved.len()
    }

    /// The bytes they hold.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The latest snapshot that covers no more than `t_us` (the start when none does).
    pub fn at_or_before(&self, t_us: u64) -> usize {
        self.saved
            .partition_point(|s| s.covered_us.is_none_or(|c| c <= t_us))
            .saturating_sub(1)
    }

    /// Whether a snapshot of the moment `now_us` (after `events` events) would fill a gap: it is
    /// at least `every_us` or `every_events` from its neighbours on both sides.
    pub fn due(&self, now_us: u64, events: u64, every_us: u64, every_events: u64) -> bool {
        let i = self.at_or_before(now_us);
        let prev = &self.saved[i];
        let far = |a_us: u64, a_ev: u64, b_us: u64, b_ev: u64| {
            b_us > a_us && (b_us - a_us >= every_us || b_ev.saturating_sub(a_ev) >= every_events)
        };
        // The start counts as a snapshot at time zero.
        // Only after events: a snapshot of a quiet stretch would repeat the one before it.
        let after_prev = events > prev.events()
            && far(prev.covered_us.unwrap_or(0), prev.events(), now_us, events);
        let before_next = self.saved.get(i + 1).is_none_or(|n| {
            n.covered_us
                .is_some_and(|c| far(now_us, events, c, n.events()))
        });
        after_prev && before_next
    }

    /// Keeps `s` in its place in time, then thins to the budget; `playhead` is the world's event
    /// count, near which snapshots are spared.
    pub fn insert(&mut self, s: Saved, playhead: u64) {
        let i = self.at_or_before(s.covered_us.unwrap_or(0)) + 1;
        self.bytes += s.bytes;
        self.saved.insert(i, s);
        self.thin(playhead);
    }

    /// Forgets the snapshots that cover `t_us` or later (a fork at `t_us`).
    pub fn forget_from(&mut self, t_us: u64) {
        self.saved.retain(|s| s.covered_us.is_none_or(|c| c < t_us));
        self.bytes = self.saved.iter().map(|s| s.bytes).sum();
    }

    /// The longest stretch between neighbours, in events: what a jump may have to replay.
    #[cfg(test)]
    pub fn max_gap_events(&self) -> u64 {
        self.saved
            .windows(2)
            .map(|w| w[1].events() - w[0].events())
            .max()
            .unwrap_or(0)
    }

    fn over(&self) -> bool {
        self.saved.len() > self.budget.count || self.bytes > self.budget.bytes
    }

    /// Removes snapshots until the budget holds: each time the one whose neighbours are closest
    /// (in events), sparing the start, the furthest, and those nearest the playhead (these last
    /// only while the byte budget allows).
    fn thin(&mut self, playhead: u64) {
        while self.over() && self.saved.len() > 2 {
            let last = self.saved.len() - 1;
            let mut by_distance: Vec<usize> = (1..last).collect();
            faultline_core::order::sort_by_key(&mut by_distance, |&i| {
                self.saved[i].events().abs_diff(playhead)
            });
            let spared = if self.bytes > self.budget.bytes && by_distance.len() <= self.budget.near
            {
                0
            } else {
                self.budget.near.min(by_distance.len())
            };
            let Some(&gone) = by_distance[spared..].iter().min_by_key(|&&i| {
                let gap = self.saved[i + 1].events() - self.saved[i - 1].events();
                // Equal gaps: the one furthest from the playhead goes.
                (
                    gap,
                    std::cmp::Reverse(self.saved[i].events().abs_diff(playhead)),
                )
            }) else {
                break;
            };
            let s = self.saved.remove(gone);
            self.bytes -= s.bytes;
        }
    }
}
