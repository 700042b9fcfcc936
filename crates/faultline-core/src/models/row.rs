//! A service's one row: optimistic concurrency (read, then compare-and-set) and ordered writes.
//!
//! Optimistic concurrency follows the AWS Architecture Blog's "Exponential Backoff And Jitter"
//! (2015, `docs/models/contention.md`): a read answers the row's version; a compare-and-set on
//! the current version writes (the version goes up by one), on an older one it is refused with
//! 409 Conflict.
//!
//! Ordered writes follow Elasticsearch's versioning (`docs/models/ordering.md`): a plain write
//! sets the row's value whatever it holds and the version goes up by one (internal versioning);
//! a write that carries its own version is applied only when that version is greater than the
//! row's, and the row then takes it (external versioning), else it is refused with 409 and
//! nothing changes. A writer numbers its edits 1, 2, 3, ..., so a write overtaken on the network
//! arrives with a lower number than the row holds: a plain write applies it anyway (the row goes
//! back to an older edit, and the newer one is lost), a versioned write refuses it.
//!
//! The row knows which writer wrote its value, to count a step back (`went_backwards`): a write
//! of a writer's edit that is older than the edit of the same writer the row holds. That is the
//! checker's knowledge, never a reason to refuse: only the version decides. It is also the
//! verdict [`IN_ORDER`], reported when the first edit arrives and when the row first goes back
//! (a history that went back once stays so).

use crate::msg::Op;
use crate::node::{Ctx, NodeId};

/// The verdict on a row's edits: "holds" while the row never went back to an older edit.
pub const IN_ORDER: &str = "edits in order";

/// A service's row: its value, its version, and what happened to the writes it received.
#[derive(Clone, Debug, Default)]
pub(crate) struct Row {
    version: u64,
    // Set once anyone reads or writes the row: only then does the service report its counters.
    used: bool,
    writes: u64,
    conflicts: u64,
    // Ordered writes: the value and its writer, refusals of stale versions, steps back.
    value: Option<(NodeId, u64)>,
    stale_writes: u64,
    went_backwards: u64,
    // For the picture only (nothing here reads them): the latest refused write and the latest
    // step back, with when they happened.
    last_refused: Option<(u64, u64)>,
    last_backwards: Option<(u64, u64, u64)>,
    // The verdict reported so far: none yet, holds, or violated (final).
    in_order: Option<bool>,
}

/// What the row answers: the status, the version to put in the response, and whether the
/// client should not retry (a stale write is refused for good).
pub(crate) struct RowAnswer {
    pub(crate) status: u16,
    pub(crate) version: Option<u64>,
    pub(crate) no_retry: bool,
}

impl RowAnswer {
    fn ok(version: Option<u64>) -> Self {
        RowAnswer {
            status: 200,
            version,
            no_retry: false,
        }
    }
}

impl Row {
    /// The row's part of a completed request from `from`: a read answers the version, a
    /// compare-and-set writes on the current version or conflicts (409), a write applies or is
    /// refused as stale (409, do not retry); other requests leave the row alone.
    pub(crate) fn apply(&mut self, ctx: &mut Ctx<'_>, from: NodeId, op: &Op) -> RowAnswer {
        match *op {
            Op::Read => {
                self.used = true;
                RowAnswer::ok(Some(self.version))
            }
            Op::CompareAndSet { version } if version == self.version => {
                self.used = true;
                self.version += 1;
                self.writes += 1;
                ctx.count("writes", 1);
                RowAnswer::ok(Some(self.version))
            }
            Op::CompareAndSet { .. } => {
                self.used = true;
                self.conflicts += 1;
                ctx.count("conflicts", 1);
                RowAnswer {
                    status: 409,
                    version: Some(self.version),
                    no_retry: false,
                }
            }
            Op::Write { value, version } => {
                self.used = true;
                self.write(ctx, from, value, version)
            }
            Op::Call | Op::Charge { .. } => RowAnswer::ok(None),
        }
    }

    fn write(
        &mut self,
        ctx: &mut Ctx<'_>,
        from: NodeId,
        value: u64,
        version: Option<u64>,
    ) -> RowAnswer {
        let now = ctx.now_us();
        if let Some(v) = version
            && v <= self.version
        {
            // Not newer than what the row holds: a write that was overtaken. Retrying it could
            // never succeed, so the answer says not to.
            self.stale_writes += 1;
            self.last_refused = Some((value, now));
            ctx.count("stale_writes", 1);
            ctx.metric_event(
                format!(
                    "stale write {value} refused: v{v} is not newer than the row's v{}",
                    self.version
                ),
                self.stale_writes as i64,
            );
            return RowAnswer {
                status: 409,
                version: Some(self.version),
                no_retry: true,
            };
        }
        if let Some((writer, held)) = self.value
            && writer == from
            && value < held
        {
            self.went_backwards += 1;
            self.last_backwards = Some((held, value, now));
            ctx.count("went_backwards", 1);
            let what = format!("the row went back from edit {held} to the older edit {value}");
            if self.in_order != Some(false) {
                self.in_order = Some(false);
                ctx.verdict(IN_ORDER, Some(false), what.clone());
            }
            ctx.metric_event(what, self.went_backwards as i64);
        }
        if self.in_order.is_none() {
            self.in_order = Some(true);
            ctx.verdict(IN_ORDER, Some(true), "");
        }
        self.value = Some((from, value));
        self.version = version.unwrap_or(self.version + 1);
        self.writes += 1;
        ctx.count("writes", 1);
        RowAnswer::ok(Some(self.version))
    }

    /// The row's counters, once it has been used: `row_version`, `writes`, `conflicts`, and once
    /// written by edits, `row_value`, `stale_writes` and `went_backwards`.
    pub(crate) fn counters(&self, c: &mut Vec<(&'static str, i64)>) {
        if !self.used {
            return;
        }
        c.push(("row_version", self.version as i64));
        c.push(("writes", self.writes as i64));
        c.push(("conflicts", self.conflicts as i64));
        if let Some((_, value)) = self.value {
            c.push(("row_value", value as i64));
            c.push(("stale_writes", self.stale_writes as i64));
            c.push(("went_backwards", self.went_backwards as i64));
        }
    }

    /// The inspector's lines for a row written by edits.
    pub(crate) fn inspect(&self) -> Vec<crate::node::InspectRow> {
        let Some((_, value)) = self.value else {
            return Vec::new();
        };
        vec![
            ("row".into(), format!("edit {value}, v{}", self.version)),
            ("stale writes refused".into(), self.stale_writes.to_string()),
            (
                "went back to an older edit".into(),
                self.went_backwards.to_string(),
            ),
        ]
    }

    /// The row for a picture, once edits have written it.
    pub(crate) fn view(&self) -> Option<crate::view::RowView> {
        let (_, value) = self.value?;
        Some(crate::view::RowView {
            value,
            version: self.version,
            stale_writes: self.stale_writes,
            went_backwards: self.went_backwards,
            last_refused: self.last_refused,
            last_backwards: self.last_backwards,
        })
    }
}
