//! A linearizability checker: is there one order of a history's operations, each taking effect
//! at an instant inside its own call–return interval, that a sequential model accepts?
//!
//! # How it searches
//!
//! Wing and Gong (1993) search the orders directly: walk the history's call and return events in
//! time order; at a call, try to *linearize* that operation now (step the model; if the model
//! accepts the operation's observed result, lift it out of the history and go on from the start);
//! at a return whose operation has not been linearized yet, the current prefix is impossible, so
//! undo the last choice and try the next candidate. Lowe (2017) adds the memo that makes this
//! practical: a configuration is the *set* of operations linearized so far plus the model's state,
//! and the rest of the search depends only on that, so a configuration seen once is never explored
//! again. Knossos and Porcupine both work this way. Porcupine adds P-compositionality (Horn and
//! Kroening, 2015): a key-value history is linearizable iff each key's sub-history is, so
//! [`check_keyed`] splits per key and searches each part alone — exponentially less work.
//!
//! # Intervals and outcomes
//!
//! - Intervals are closed: [10, 20] overlaps [20, 30], so at equal times calls are walked before
//!   returns and either operation may come first.
//! - An operation that timed out is *indeterminate* ([`Op::ret_us`] `None`): it may have taken
//!   effect at any instant after its call, or never. It has no return event, so the search may
//!   linearize it late or leave it out, and its result is not checked.
//! - An operation that *failed* ([`Op::failed`]) definitely took no effect (Knossos's `:fail`):
//!   the checker leaves it out, whatever its interval. Passing it as indeterminate instead
//!   would let the search linearize it, and a read of its value would wrongly pass.
//!
//! # Bounds
//!
//! The search is exponential in the worst case, so it is bounded explicitly: every call takes a
//! step budget (one step is one visit of a history event) and answers [`Verdict::Unknown`] when it
//! runs out. A page can check live without ever freezing its tab.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A sequential specification.
pub trait Model {
    /// The model's state (a register's value).
    type State: Clone + Eq + Hash + Debug;
    /// One operation with its observed result (a read and the value it returned).
    type Op: Clone + Debug;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Applies `op` to `state`. `known` is false for an indeterminate operation, whose result
    /// was never observed: any result is then accepted. `None` if the model cannot produce the
    /// observed result from this state.
    fn step(&self, state: &Self::State, op: &Self::Op, known: bool) -> Option<Self::State>;

    /// A short description for people: `read -> 1`, `write 2`.
    fn describe(&self, op: &Self::Op) -> String;

    /// Whether `op` may change the state (a write), to name the write a stale read missed.
    fn is_write(&self, op: &Self::Op) -> bool;

    /// Whether the write `other` can explain why `culprit` failed: a read did not see it (it
    /// is not the write whose value the read returned).
    fn missed(&self, culprit: &Self::Op, other: &Self::Op) -> bool {
        let _ = (culprit, other);
        true
    }
}

/// One operation of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op<O> {
    /// Who issued it (a client process); only for explanations.
    pub client: u32,
    /// When it was called.
    pub call_us: u64,
    /// When it returned, or `None` when it is indeterminate (it timed out or is still pending).
    pub ret_us: Option<u64>,
    /// What it did and what it observed.
    pub op: O,
    /// It failed: it definitely took no effect, and the checker leaves it out (`ret_us` is then
    /// not read). An operation whose effect is unknown is indeterminate instead.
    pub failed: bool,
}

/// A checker's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order explains every result.
    Linearizable,
    /// No order does. `ops` are indices into the checked history: first the operation that
    /// could not be placed (its return came before any valid point for it, e.g. a stale read),
    /// then the operations that explain why, as the model finds them (the write it missed).
    NotLinearizable {
        /// The key whose sub-history failed (empty for an unkeyed history).
        key: String,
        /// Indices of the operations that cannot be ordered, most important first.
        ops: Vec<usize>,
    },
    /// The step budget ran out before an answer.
    Unknown,
}

impl Verdict {
    /// `Some(true)`, `Some(false)` or `None` (unknown), as a trace verdict carries it.
    pub fn holds(&self) -> Option<bool> {
        match self {
            Verdict::Linearizable => Some(true),
            Verdict::NotLinearizable { .. } => Some(false),
            Verdict::Unknown => None,
        }
    }
}

/// Configurations the memo may hold in one check; past it the answer is unknown, so a check's
/// memory is bounded as well as its time.
pub const MAX_MEMO_ENTRIES: usize = 1 << 20;

/// Steps a check may take by default. A check that spends all of them takes about half a second
/// natively in an optimised build on 1,000 operations (`faultline bench lin`: about 0.27 us a
/// step), more on longer histories (a step copies the set of linearized operations) and in
/// WebAssembly; a page checks with a smaller budget (`models::kv` gives a key 200,000).
pub const DEFAULT_BUDGET: u64 = 2_000_000;

/// An FNV-1a-style hasher for the memo: fixed, so the same everywhere (std's default hasher is
/// seeded from OS entropy, which the core never reads).
#[derive(Default)]
struct MemoHasher(u64);

impl Hasher for MemoHasher {
    fn finish(&self) -> u64 {
        let x = self.0 ^ (self.0 >> 31);
        x.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type Memo<S> = HashSet<(Vec<u64>, S), BuildHasherDefault<MemoHasher>>;

const HEAD: usize = 0;

/// Checks one history (one key) against `model`, in at most `*budget` steps (the steps taken
/// are subtracted). Operations are given in any order.
pub fn check<M: Model>(model: &M, history: &[Op<M::Op>], budget: &mut u64) -> Verdict {
    if history.iter().any(|o| o.failed) {
        // Failed operations never happened: check the others, and name operations by their
        // index in the history as given.
        let kept: Vec<usize> = (0..history.len()).filter(|&i| !history[i].failed).collect();
        let part: Vec<Op<M::Op>> = kept.iter().map(|&i| history[i].clone()).collect();
        return match check(model, &part, budget) {
            Verdict::NotLinearizable { key, ops } => Verdict::NotLinearizable {
                key,
                ops: ops.into_iter().map(|j| kept[j]).collect(),
            },
            v => v,
        };
    }
    // Entries: 0 is the head sentinel, then one call per operation and one return per
    // determinate operation, sorted by time, calls before returns at equal times (closed
    // intervals), and by operation index last so the walk is deterministic.
    let n = history.len();
    let mut events: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * n);
    for (i, op) in history.iter().enumerate() {
        events.push((op.call_us, 0, i));
        if let Some(r) = op.ret_us {
            // A return before its call (bad input) is read as a return at the call.
            events.push((r.max(op.call_us), 1, i));
        }
    }
    crate::order::sort(&mut events);
    let len = events.len() + 2;
    let tail = len - 1;
    let mut next: Vec<usize> = (1..=len).collect();
    let mut prev: Vec<usize> = (0..len).map(|i| i.saturating_sub(1)).collect();
    // For each entry: the operation and whether it is a call; for calls, the return entry.
    let mut entry_op = vec![usize::MAX; len];
    let mut is_call = vec![false; len];
    let mut ret_entry = vec![usize::MAX; len];
    let mut call_of_op = vec![0usize; n];
    for (e, &(_, kind, i)) in events.iter().enumerate() {
        let e = e + 1;
        entry_op[e] = i;
        if kind == 0 {
            is_call[e] = true;
            call_of_op[i] = e;
        } else {
            ret_entry[call_of_op[i]] = e;
        }
    }
    let mut definite_left = history.iter().filter(|o| o.ret_us.is_some()).count();
    if definite_left == 0 {
        return Verdict::Linearizable;
    }

    let words = n.div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut memo: Memo<M::State> = HashSet::default();
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut state = model.init();
    // The deepest point the search reached, and the return it was stuck on there: the
    // operation that could not be placed.
    let mut deepest = 0usize;
    let mut stuck: Option<usize> = None;
    let mut entry = next[HEAD];

    let lift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize, r: usize| {
        let (p, nx) = (prev[e], next[e]);
        next[p] = nx;
        prev[nx] = p;
        if r != usize::MAX {
            let (p, nx) = (prev[r], next[r]);
            next[p] = nx;
            prev[nx] = p;
        }
    };
    let unlift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize, r: usize| {
        if r != usize::MAX {
            let (p, nx) = (prev[r], next[r]);
            next[p] = r;
            prev[nx] = r;
        }
        let (p, nx) = (prev[e], next[e]);
        next[p] = e;
        prev[nx] = e;
    };

    loop {
        if *budget == 0 {
            return Verdict::Unknown;
        }
        *budget -= 1;
        if definite_left == 0 {
            return Verdict::Linearizable;
        }
        if entry != tail && is_call[entry] {
            let i = entry_op[entry];
            let known = history[i].ret_us.is_some();
            if let Some(new_state) = model.step(&state, &history[i].op, known) {
                linearized[i / 64] |= 1 << (i % 64);
                if memo.len() >= MAX_MEMO_ENTRIES {
                    return Verdict::Unknown;
                }
                if memo.insert((linearized.clone(), new_state.clone())) {
                    stack.push((entry, std::mem::replace(&mut state, new_state)));
                    lift(&mut next, &mut prev, entry, ret_entry[entry]);
                    if known {
                        definite_left -= 1;
                    }
                    if stack.len() > deepest {
                        deepest = stack.len();
                        stuck = None;
                    }
                    entry = next[HEAD];
                    continue;
                }
                linearized[i / 64] &= !(1 << (i % 64));
            }
            entry = next[entry];
        } else {
            // A return whose operation is not linearized: this prefix is impossible. (The
            // tail is reached only with indeterminate calls left, which cannot happen while a
            // definite operation is left; it is handled the same way for safety.)
            if stack.len() == deepest && stuck.is_none() && entry != tail {
                stuck = Some(entry_op[entry]);
            }
            let Some((e, old)) = stack.pop() else {
                break;
            };
            let i = entry_op[e];
            linearized[i / 64] &= !(1 << (i % 64));
            if history[i].ret_us.is_some() {
                definite_left += 1;
            }
            state = old;
            unlift(&mut next, &mut prev, e, ret_entry[e]);
            entry = next[e];
        }
    }
    let culprit = stuck.unwrap_or(0);
    let mut ops = vec![culprit];
    ops.extend(explain(model, history, culprit));
    Verdict::NotLinearizable {
        key: String::new(),
        ops,
    }
}

/// The operations that explain why `culprit` cannot be placed: for a read, the writes that
/// completed before it was called and wrote something else, latest first (at most two).
fn explain<M: Model>(model: &M, history: &[Op<M::Op>], culprit: usize) -> Vec<usize> {
    let Some(c) = history.get(culprit) else {
        return Vec::new();
    };
    let mut before: Vec<usize> = (0..history.len())
        .filter(|&j| j != culprit)
        .filter(|&j| matches!(history[j].ret_us, Some(r) if r < c.call_us))
        .filter(|&j| model.is_write(&history[j].op) && model.missed(&c.op, &history[j].op))
        .collect();
    crate::order::sort_by_key(&mut before, |&j| std::cmp::Reverse(history[j].ret_us));
    before.truncate(1);
    before
}

/// Checks a keyed history: each key's operations alone (P-compositionality), sharing one
/// budget. Keys are searched in rounds with a step allowance that doubles each round, so one
/// hard key cannot starve an easy key that fails: the first key found not linearizable decides
/// (as Porcupine, which checks keys in parallel and stops at the first failure). A key re-run in
/// a later round starts again, so the rounds cost at most about twice the last one.
pub fn check_keyed<M: Model>(
    model: &M,
    history: &[(String, Op<M::Op>)],
    budget: &mut u64,
) -> Verdict {
    let mut keys: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, (k, _)) in history.iter().enumerate() {
        keys.entry(k.as_str()).or_default().push(i);
    }
    let mut open: Vec<(&str, Vec<usize>)> = keys.into_iter().collect();
    let mut allowance: u64 = 10_000;
    while !open.is_empty() {
        let mut still = Vec::new();
        for (k, idx) in open {
            if *budget == 0 {
                return Verdict::Unknown;
            }
            let part: Vec<Op<M::Op>> = idx.iter().map(|&i| history[i].1.clone()).collect();
            let mut slice = allowance.min(*budget);
            let before = slice;
            let verdict = check(model, &part, &mut slice);
            *budget -= before - slice;
            match verdict {
                Verdict::Linearizable => {}
                Verdict::NotLinearizable { ops, .. } => {
                    return Verdict::NotLinearizable {
                        key: k.to_string(),
                        ops: ops.into_iter().map(|j| idx[j]).collect(),
                    };
                }
                Verdict::Unknown => still.push((k, idx)),
            }
        }
        open = still;
        allowance = allowance.saturating_mul(2);
    }
    Verdict::Linearizable
}

/// A read/write/compare-and-set register holding an integer or nothing, starting empty (as
/// Knossos's `cas-register` with a `nil` initial value). [`Register::starting_at`] gives one
/// with another initial value.
#[derive(Clone, Copy, Debug, Default)]
pub struct Register;

impl Register {
    /// A register that holds `initial` before any operation (Knossos's `(cas-register 0)`,
    /// Porcupine's model `Init`).
    pub fn starting_at(initial: Option<i64>) -> RegisterFrom {
        RegisterFrom { initial }
    }
}

/// A [`Register`] that starts from a chosen value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegisterFrom {
    /// The value before any operation (`None`: empty).
    pub initial: Option<i64>,
}

impl Model for Register {
    type State = Option<i64>;
    type Op = RegisterOp;

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(&self, state: &Option<i64>, op: &RegisterOp, known: bool) -> Option<Option<i64>> {
        RegisterFrom::default().step(state, op, known)
    }

    fn is_write(&self, op: &RegisterOp) -> bool {
        RegisterFrom::default().is_write(op)
    }

    fn missed(&self, culprit: &RegisterOp, other: &RegisterOp) -> bool {
        RegisterFrom::default().missed(culprit, other)
    }

    fn describe(&self, op: &RegisterOp) -> String {
        RegisterFrom::default().describe(op)
    }
}

/// An operation on a [`Register`] with its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterOp {
    /// A read and the value it returned (`None`: empty).
    Read(Option<i64>),
    /// A write of a value.
    Write(i64),
    /// Compare-and-set `from` to `to`; `ok` is whether it reported success.
    Cas {
        /// The expected value.
        from: i64,
        /// The new value.
        to: i64,
        /// Whether it reported success.
        ok: bool,
    },
}

impl Model for RegisterFrom {
    type State = Option<i64>;
    type Op = RegisterOp;

    fn init(&self) -> Option<i64> {
        self.initial
    }

    fn step(&self, state: &Option<i64>, op: &RegisterOp, known: bool) -> Option<Option<i64>> {
        match *op {
            RegisterOp::Read(v) => (!known || v == *state).then_some(*state),
            RegisterOp::Write(v) => Some(Some(v)),
            RegisterOp::Cas { from, to, ok } => {
                let matches = *state == Some(from);
                if known && ok != matches {
                    None
                } else if matches {
                    Some(Some(to))
                } else {
                    Some(*state)
                }
            }
        }
    }

    fn is_write(&self, op: &RegisterOp) -> bool {
        !matches!(op, RegisterOp::Read(_))
    }

    fn missed(&self, culprit: &RegisterOp, other: &RegisterOp) -> bool {
        match (culprit, other) {
            (RegisterOp::Read(v), RegisterOp::Write(x)) => *v != Some(*x),
            (RegisterOp::Read(v), RegisterOp::Cas { to, .. }) => *v != Some(*to),
            _ => true,
        }
    }

    fn describe(&self, op: &RegisterOp) -> String {
        let show = |v: Option<i64>| v.map_or_else(|| "nothing".to_string(), |v| v.to_string());
        match *op {
            RegisterOp::Read(v) => format!("read -> {}", show(v)),
            RegisterOp::Write(v) => format!("write {v}"),
            RegisterOp::Cas { from, to, ok } => {
                format!("cas {from} -> {to}: {}", if ok { "ok" } else { "fail" })
            }
        }
    }
}

/// One key of a key-value store of strings, with get, put and append; a missing key reads as
/// the empty string (Porcupine's `kvModel`).
#[derive(Clone, Copy, Debug, Default)]
pub struct KvString;

/// An operation on a [`KvString`] key with its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvOp {
    /// A get and the value it returned.
    Get(String),
    /// A put of a value.
    Put(String),
    /// An append of a suffix.
    Append(String),
}

impl Model for KvString {
    type State = String;
    type Op = KvOp;

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, op: &KvOp, known: bool) -> Option<String> {
        match op {
            KvOp::Get(v) => (!known || v == state).then(|| state.clone()),
            KvOp::Put(v) => Some(v.clone()),
            KvOp::Append(v) => Some(format!("{state}{v}")),
        }
    }

    fn is_write(&self, op: &KvOp) -> bool {
        !matches!(op, KvOp::Get(_))
    }

    fn missed(&self, culprit: &KvOp, other: &KvOp) -> bool {
        match (culprit, other) {
            (KvOp::Get(v), KvOp::Put(x)) => v != x,
            (KvOp::Get(v), KvOp::Append(x)) => !v.ends_with(x.as_str()),
            _ => true,
        }
    }

    fn describe(&self, op: &KvOp) -> String {
        match op {
            KvOp::Get(v) => format!("get -> '{v}'"),
            KvOp::Put(v) => format!("put '{v}'"),
            KvOp::Append(v) => format!("append '{v}'"),
        }
    }
}

/// A linearizable register history for benchmarks: `ops` operations by `clients` concurrent
/// clients on one key, half reads and half writes of distinct values, with overlapping
/// intervals; each operation takes effect at a random instant inside its interval, so the
/// checker must find that order. Deterministic in `seed` (a SplitMix64 stream).
pub fn bench_history(ops: usize, clients: u32, seed: u64) -> Vec<Op<RegisterOp>> {
    let mut x = seed;
    let mut next = move |n: u64| {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n.max(1)
    };
    let clients = clients.max(1);
    let mut free_at = vec![0u64; clients as usize];
    // (effect time, index) and the operations with their results still to fill in.
    let mut plan: Vec<(u64, usize)> = Vec::with_capacity(ops);
    let mut out: Vec<Op<RegisterOp>> = Vec::with_capacity(ops);
    for i in 0..ops {
        let c = (i as u32) % clients;
        let call = free_at[c as usize] + next(50);
        let effect = call + 1 + next(100);
        let ret = effect + 1 + next(100);
        free_at[c as usize] = ret;
        plan.push((effect, i));
        let op = if next(2) == 0 {
            RegisterOp::Write(i as i64)
        } else {
            RegisterOp::Read(None)
        };
        out.push(Op {
            client: c,
            call_us: call,
            ret_us: Some(ret),
            op,
            failed: false,
        });
    }
    crate::order::sort(&mut plan);
    let mut value = None;
    for (_, i) in plan {
        match &mut out[i].op {
            RegisterOp::Write(v) => value = Some(*v),
            RegisterOp::Read(r) => *r = value,
            RegisterOp::Cas { .. } => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(call: u64, ret: Option<u64>, o: RegisterOp) -> Op<RegisterOp> {
        Op {
            client: 0,
            call_us: call,
            ret_us: ret,
            op: o,
            failed: false,
        }
    }

    fn run(h: &[Op<RegisterOp>]) -> Verdict {
        check(&Register, h, &mut DEFAULT_BUDGET.clone())
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let h = [
            op(0, Some(10), RegisterOp::Write(1)),
            op(20, Some(30), RegisterOp::Read(Some(1))),
        ];
        assert_eq!(run(&h), Verdict::Linearizable);
    }

    #[test]
    fn stale_read_names_the_read_and_the_write_it_missed() {
        let h = [
            op(0, Some(10), RegisterOp::Write(1)),
            op(20, Some(30), RegisterOp::Write(2)),
            op(40, Some(50), RegisterOp::Read(Some(1))),
        ];
        assert_eq!(
            run(&h),
            Verdict::NotLinearizable {
                key: String::new(),
                ops: vec![2, 1]
            }
        );
    }

    #[test]
    fn closed_intervals_touching_at_one_instant_overlap() {
        // The read is called at 20, when the write returns: they overlap, so the read may come
        // first and see nothing.
        let h = [
            op(10, Some(20), RegisterOp::Write(1)),
            op(20, Some(30), RegisterOp::Read(None)),
        ];
        assert_eq!(run(&h), Verdict::Linearizable);
        let h = [
            op(10, Some(20), RegisterOp::Write(1)),
            op(21, Some(30), RegisterOp::Read(None)),
        ];
        assert_ne!(run(&h), Verdict::Linearizable);
    }

    #[test]
    fn indeterminate_write_may_take_effect_late_or_never() {
        let late = [
            op(0, None, RegisterOp::Write(1)),
            op(10, Some(20), RegisterOp::Read(None)),
            op(30, Some(40), RegisterOp::Read(Some(1))),
        ];
        assert_eq!(run(&late), Verdict::Linearizable);
        let never = [
            op(0, None, RegisterOp::Write(1)),
            op(10, Some(20), RegisterOp::Read(None)),
        ];
        assert_eq!(run(&never), Verdict::Linearizable);
        // But not before its call.
        let early = [
            op(0, Some(5), RegisterOp::Read(Some(1))),
            op(10, None, RegisterOp::Write(1)),
        ];
        assert_ne!(run(&early), Verdict::Linearizable);
    }

    #[test]
    fn a_value_cannot_come_back_after_it_was_overwritten() {
        let h = [
            op(0, Some(10), RegisterOp::Write(1)),
            op(0, Some(100), RegisterOp::Write(2)),
            op(20, Some(30), RegisterOp::Read(Some(2))),
            op(40, Some(50), RegisterOp::Read(Some(1))),
        ];
        assert_ne!(run(&h), Verdict::Linearizable);
    }

    #[test]
    fn budget_runs_out_as_unknown() {
        let h: Vec<_> = (0..40)
            .map(|i| op(0, Some(1000), RegisterOp::Write(i)))
            .chain([op(2000, Some(2001), RegisterOp::Read(Some(-1)))])
            .collect();
        assert_eq!(check(&Register, &h, &mut 1000), Verdict::Unknown);
    }

    #[test]
    fn bench_history_is_linearizable_and_a_changed_read_is_not() {
        let mut h = bench_history(200, 4, 7);
        assert_eq!(run(&h), Verdict::Linearizable);
        let last_read = h
            .iter()
            .rposition(|o| matches!(o.op, RegisterOp::Read(Some(_))))
            .expect("some read saw a value");
        h[last_read].op = RegisterOp::Read(Some(-5));
        assert!(matches!(run(&h), Verdict::NotLinearizable { ref ops, .. } if ops[0] == last_read));
    }

    #[test]
    fn a_failed_write_took_no_effect_as_knossos_reads_fail() {
        // Knossos's `bad/immediate-failure`: a write of 3 fails, then a read returns 3. A failed
        // operation never happened, so no order explains the read.
        let write = op(0, Some(1), RegisterOp::Write(3));
        let read = op(2, Some(3), RegisterOp::Read(Some(3)));
        let failed = Op {
            failed: true,
            ..write.clone()
        };
        assert_eq!(
            run(&[failed.clone(), read.clone()]),
            Verdict::NotLinearizable {
                key: String::new(),
                ops: vec![1]
            },
            "the read is named by its index in the history as given"
        );
        // Passed as indeterminate instead, the write could have taken effect: wrongly fine.
        let unknown = Op {
            ret_us: None,
            ..write.clone()
        };
        assert_eq!(run(&[unknown, read.clone()]), Verdict::Linearizable);
        // A failed operation's interval and result are not read at all.
        let odd = Op {
            failed: true,
            ret_us: None,
            ..op(0, None, RegisterOp::Read(Some(99)))
        };
        assert_eq!(
            run(&[odd, op(0, Some(1), RegisterOp::Read(None))]),
            Verdict::Linearizable
        );
    }

    #[test]
    fn a_register_starts_from_its_initial_value_as_knossos_cas_register_does() {
        // Knossos's `(cas-register 0)`: a first read of 0 is fine, a first read of nothing is not.
        let zero = Register::starting_at(Some(0));
        let h = [op(0, Some(1), RegisterOp::Read(Some(0)))];
        assert_eq!(
            check(&zero, &h, &mut DEFAULT_BUDGET.clone()),
            Verdict::Linearizable
        );
        assert_ne!(run(&h), Verdict::Linearizable, "Register starts empty");
        let h = [op(0, Some(1), RegisterOp::Read(None))];
        assert_ne!(
            check(&zero, &h, &mut DEFAULT_BUDGET.clone()),
            Verdict::Linearizable
        );
        let cas = [op(
            0,
            Some(1),
            RegisterOp::Cas {
                from: 0,
                to: 1,
                ok: true,
            },
        )];
        assert_eq!(
            check(&zero, &cas, &mut DEFAULT_BUDGET.clone()),
            Verdict::Linearizable
        );
        assert_eq!(Register::starting_at(None).init(), Register.init());
    }

    #[test]
    fn cas_results_are_checked() {
        let h = [
            op(0, Some(10), RegisterOp::Write(1)),
            op(
                20,
                Some(30),
                RegisterOp::Cas {
                    from: 1,
                    to: 2,
                    ok: false,
                },
            ),
        ];
        assert_ne!(run(&h), Verdict::Linearizable);
    }
}
