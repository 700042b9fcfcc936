//! What the page reads from the trace as a run goes and must keep itself, because the trace is a
//! ring that forgets: the invariants' transitions (`verdicts.rs`) and the moments the time line
//! marks (`moments.rs`).
//!
//! The session reads the new events after every slice of the run it plays (often enough that the
//! ring never drops one unread), and each snapshot of the time line carries a copy, taken at the
//! same event. A jump restores the copy with the world and plays on from there, so it costs the
//! same anywhere in a run, instead of replaying the run from zero to rebuild the lists; and the
//! lists after a jump are exactly those of the run played straight through (tested below).

use faultline_core::world::World;

use crate::moments::{self, Moments};
use crate::verdicts::{self, Verdicts};

/// The lists read from one run, up to one event.
#[derive(Clone, Default)]
pub struct Observed {
    /// The invariants' transitions.
    pub verdicts: Verdicts,
    /// The moments for the time line.
    pub moments: Moments,
}

/// What one [`Observed::read`] found.
#[derive(Debug, Default, PartialEq)]
pub struct Read {
    /// A transition or a moment was added.
    pub changed: bool,
    /// The last property that turned violated, for the live region.
    pub turned: Option<String>,
    /// Events the ring had already lost unread, skipped (the lists may miss something in them).
    pub skipped: u64,
}

impl Observed {
    /// Reads the world's new trace events. Should the ring have lost some unread (one event made
    /// more trace than the ring holds), they are skipped and counted, never waited for.
    pub fn read(&mut self, world: &World) -> Read {
        let mut read = Read::default();
        let trace = world.trace();
        let seen = self.seen();
        if trace.evicted() > seen && trace.len_total() >= seen {
            read.skipped = trace.evicted() - seen;
            self.verdicts.skip_to(trace.evicted());
            self.moments.skip_to(trace.evicted());
        }
        let changes = self.verdicts.changes();
        if let verdicts::Sync::Fresh(mut turned) = self.verdicts.sync(world) {
            read.turned = turned.pop();
        }
        let added = self.moments.sync(world) == moments::Sync::Fresh(true);
        read.changed = added || self.verdicts.changes() != changes;
        read
    }

    /// Trace events read so far.
    pub fn seen(&self) -> u64 {
        self.verdicts.seen()
    }
}

/// Plays `scenario` straight through from zero to `until_us`, reading every event on the way:
/// what a jump must agree with.
#[cfg(test)]
pub fn played_straight(
    scenario: &faultline_core::scenario::Scenario,
    until_us: u64,
) -> (World, Observed) {
    let mut w = scenario.build(None).expect("a valid scenario");
    let mut o = Observed::default();
    loop {
        let status = w.run_until(until_us, 5_000);
        assert_eq!(o.read(&w).skipped, 0);
        if !matches!(status, faultline_core::world::RunStatus::Budget) {
            break;
        }
    }
    (w, o)
}
