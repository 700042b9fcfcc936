//! The event queue: what is scheduled, and a binary min-heap ordered by `(time_us, seq)`.
//!
//! `seq` is a counter, so keys are unique and the order is total: any correct heap pops the
//! same sequence, and traces do not depend on how the heap is built. This one replaces
//! `std::collections::BinaryHeap` because the queue is on the path of every event: entries are
//! `Copy`, compared by one 128-bit key, and moved through a hole (one copy per level) rather
//! than swapped; a pop moves the hole from the root to a leaf along the earlier children and
//! sifts the last entry up from there (Floyd's method, as `BinaryHeap` does: the last entry is
//! usually late, so it belongs near the bottom), and a heap of one or two entries, the common
//! case of a quiet world, takes no loop at all.

use crate::msg::MsgId;
use crate::node::{NodeId, TimerId};

/// What happens when a scheduled event comes due.
#[derive(Clone, Copy, Debug)]
pub(crate) enum EventKind {
    /// A node starts (at time zero, or after a restart in epoch `epoch`).
    Start { node: NodeId, epoch: u32 },
    /// The message in the in-flight slot `slot` arrives, if it is still message `id`.
    Deliver { slot: u32, id: MsgId },
    /// A node's timer fires, if the node is still in `epoch` and the timer is pending.
    Timer {
        node: NodeId,
        timer: TimerId,
        epoch: u32,
        tag: u64,
    },
    /// The world's intervention number `index` is applied.
    Intervention { index: u32 },
}

/// One entry of the queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scheduled {
    pub(crate) time_us: u64,
    pub(crate) seq: u64,
    pub(crate) kind: EventKind,
}

impl Scheduled {
    /// `(time_us, seq)` as one number: one wide compare instead of two branches.
    fn key(&self) -> u128 {
        (u128::from(self.time_us) << 64) | u128::from(self.seq)
    }
}

/// Scheduled events, earliest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventQueue {
    heap: Vec<Scheduled>,
}

impl EventQueue {
    /// The earliest event, without removing it.
    pub(crate) fn peek(&self) -> Option<&Scheduled> {
        self.heap.first()
    }

    /// How many events are scheduled.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Adds an event.
    #[inline]
    pub(crate) fn push(&mut self, ev: Scheduled) {
        self.heap.push(ev);
        let at = self.heap.len() - 1;
        self.sift_up(at, ev);
    }

    /// Removes and returns the earliest event.
    pub(crate) fn pop(&mut self) -> Option<Scheduled> {
        let last = self.heap.pop()?;
        let Some(&top) = self.heap.first() else {
            return Some(last);
        };
        // Move the hole at the root down to a leaf, always into the earlier child...
        let n = self.heap.len();
        let mut hole = 0;
        let mut child = 1;
        while child + 1 < n {
            if self.heap[child + 1].key() < self.heap[child].key() {
                child += 1;
            }
            self.heap[hole] = self.heap[child];
            hole = child;
            child = 2 * hole + 1;
        }
        if child < n {
            self.heap[hole] = self.heap[child];
            hole = child;
        }
        // ...then put the last entry there and let it rise to its place.
        self.sift_up(hole, last);
        Some(top)
    }

    /// Places `ev` at `hole` or above it, moving later parents down.
    #[inline]
    fn sift_up(&mut self, mut hole: usize, ev: Scheduled) {
        let key = ev.key();
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if self.heap[parent].key() <= key {
                break;
            }
            self.heap[hole] = self.heap[parent];
            hole = parent;
        }
        self.heap[hole] = ev;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SimRng, Stream};

    fn at(time_us: u64, seq: u64) -> Scheduled {
        Scheduled {
            time_us,
            seq,
            kind: EventKind::Intervention { index: 0 },
        }
    }

    /// Interleaved pushes and pops come out exactly in `(time, seq)` order, as a sorted list
    /// of the same entries does: many equal times (ties broken by `seq`), heaps of every size
    /// from empty to thousands, and the intervention flag's high `seq` bit.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn pops_in_time_then_seq_order() {
        let mut rng = SimRng::new(9, Stream::World);
        let mut q = EventQueue::default();
        let mut model = std::collections::BTreeSet::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for round in 0..60_000u32 {
            // Grow for a while, then drain, so every heap size is visited both ways.
            let push = match (round / 5_000) % 3 {
                0 => rng.below(10) < 8,
                1 => rng.below(10) < 5,
                _ => rng.below(10) < 2,
            };
            if push {
                seq += 1;
                let late = if rng.below(20) == 0 { 1 << 63 } else { 0 };
                let t = now + rng.below(8); // few distinct times: many ties
                q.push(at(t, seq | late));
                model.insert((t, seq | late));
            } else {
                let want = model.pop_first();
                let got = q.pop().map(|e| (e.time_us, e.seq));
                assert_eq!(got, want, "round {round}");
                if let Some((t, _)) = got {
                    now = t;
                }
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.peek().map(|e| (e.time_us, e.seq)), model.first().copied());
        }
    }
}
