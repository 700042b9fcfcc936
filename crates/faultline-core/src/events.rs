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
    pub(crate) kind: Packed,
}

impl Scheduled {
    /// `(time_us, seq)` as one number: one wide compare instead of two branches.
    fn key(&self) -> u128 {
        (u128::from(self.time_us) << 64) | u128::from(self.seq)
    }
}

/// An [`EventKind`] as three whole words, the way the queue stores it.
///
/// Why not the enum itself: its tag and small fields (a 16-bit node, a 32-bit epoch) are
/// written by several narrow stores, and the heap moves entries with wide loads. A wide load of
/// bytes that narrow stores have just written cannot take them from the store buffer, and
/// waits until they reach the cache: in a quiet world the entry a timer pushes is the next one
/// popped, so every event paid that wait. Words built in registers are stored and loaded whole.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Packed([u64; 3]);

const START: u64 = 0;
const DELIVER: u64 = 1;
const TIMER: u64 = 2;
const INTERVENTION: u64 = 3;

impl EventKind {
    /// Word 0 holds the variant (bits 0-7), a node (bits 16-31) and a 32-bit epoch, slot or
    /// index (bits 32-63); words 1 and 2 a timer or message id and a timer's tag.
    #[inline(always)]
    pub(crate) fn pack(self) -> Packed {
        let head = |variant: u64, node: NodeId, low32: u32| {
            variant | (u64::from(node.0) << 16) | (u64::from(low32) << 32)
        };
        Packed(match self {
            EventKind::Start { node, epoch } => [head(START, node, epoch), 0, 0],
            EventKind::Deliver { slot, id } => [head(DELIVER, NodeId(0), slot), id.0, 0],
            EventKind::Timer {
                node,
                timer,
                epoch,
                tag,
            } => [head(TIMER, node, epoch), timer.0, tag],
            EventKind::Intervention { index } => [head(INTERVENTION, NodeId(0), index), 0, 0],
        })
    }
}

impl Packed {
    /// The event kind this was packed from.
    #[inline(always)]
    pub(crate) fn unpack(self) -> EventKind {
        let [head, word, tag] = self.0;
        let node = NodeId((head >> 16) as u16);
        let low32 = (head >> 32) as u32;
        match head & 0xff {
            START => EventKind::Start { node, epoch: low32 },
            DELIVER => EventKind::Deliver {
                slot: low32,
                id: MsgId(word),
            },
            TIMER => EventKind::Timer {
                node,
                timer: TimerId(word),
                epoch: low32,
                tag,
            },
            _ => EventKind::Intervention { index: low32 },
        }
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
            kind: EventKind::Intervention { index: 0 }.pack(),
        }
    }

    /// Every kind comes back from its packed words as it went in, extreme values included.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn kinds_survive_packing() {
        for (node, wide, narrow) in [
            (0, 0, 0),
            (7, 123_456_789, 42),
            (u16::MAX, u64::MAX, u32::MAX),
        ] {
            let node = NodeId(node);
            let kinds = [
                EventKind::Start {
                    node,
                    epoch: narrow,
                },
                EventKind::Deliver {
                    slot: narrow,
                    id: MsgId(wide),
                },
                EventKind::Timer {
                    node,
                    timer: TimerId(wide),
                    epoch: narrow,
                    tag: wide ^ 5,
                },
                EventKind::Intervention { index: narrow },
            ];
            for kind in kinds {
                let back = kind.pack().unpack();
                assert_eq!(format!("{back:?}"), format!("{kind:?}"));
            }
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
