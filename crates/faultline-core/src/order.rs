//! One compiled sort for the whole program.
//!
//! The standard library's sort is generic over the element and the comparison, so every
//! `sort_by_key` with its own closure compiles a whole copy of it (about 4 KB of wasm each;
//! thirty of them were 115 KB of the page's download). These helpers sort *positions* with a
//! single instance of the standard stable sort, through a `dyn` comparison, and then move the
//! elements into place, so a call site costs a few hundred bytes instead.
//!
//! Every helper gives exactly the order the standard **stable** sort gives: elements that
//! compare equal keep their order. They run where a list is built or drawn, never per event:
//! a sort on the engine's hot path would want the standard one, with an `allow` saying why.
//! `clippy.toml` disallows the standard sorts in the page's crates; collecting into a `BTreeMap`
//! or `BTreeSet` also sorts (a copy per type), so those are filled with `extend` instead.

use std::cmp::Ordering;

/// Sorts `v` by `compare`, stably: the result of `v.sort_by(compare)`.
#[inline]
pub fn sort_by<T>(v: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    let from = positions(v.len(), &mut |a, b| compare(&v[a], &v[b]));
    permute(v, from);
}

/// Sorts `v` by the key `key` gives, stably: the result of `v.sort_by_key(key)`.
#[inline]
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `v` by its own order: the result of `v.sort()` (and of `v.sort_unstable()` when equal
/// elements cannot be told apart, as with numbers and strings).
#[inline]
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// The positions `0..n`, stably sorted by `compare`: the only instance of the standard sort
/// these helpers use, whatever they sort.
fn positions(n: usize, compare: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut at: Vec<usize> = (0..n).collect();
    #[allow(clippy::disallowed_methods)] // the one copy
    at.sort_by(|&a, &b| compare(a, b));
    at
}

/// Moves the elements so that position `i` holds what was at `from[i]`, following each cycle of
/// the permutation once (linear time, no copies, no `Clone` needed).
fn permute<T>(v: &mut [T], mut from: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for start in 0..v.len() {
        if from[start] == DONE {
            continue;
        }
        let mut at = start;
        loop {
            let next = from[at];
            from[at] = DONE;
            if next == start {
                break;
            }
            v.swap(at, next);
            at = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ties keep their order, on wasm too (where the page sorts).
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn equal_keys_keep_their_order() {
        let mut v = [(2, 'a'), (1, 'b'), (2, 'c'), (0, 'd'), (1, 'e'), (2, 'f')];
        sort_by_key(&mut v, |&(k, _)| k);
        assert_eq!(v.map(|(_, c)| c), ['d', 'b', 'e', 'a', 'c', 'f']);
        sort_by(&mut v, |a, b| b.0.cmp(&a.0));
        assert_eq!(v.map(|(_, c)| c), ['a', 'c', 'f', 'b', 'e', 'd']);
    }
}

/// Against the standard sorts, on many random lists (native only: proptest is not built for
/// wasm here).
#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(clippy::disallowed_methods)] // checked against the standard sorts
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against the standard stable sort, on keys with many ties, so that stability shows:
        /// each element carries its original position.
        #[test]
        fn sorts_as_the_standard_stable_sort_does(keys in proptest::collection::vec(0u8..6, 0..200)) {
            let tagged: Vec<(u8, usize)> = keys.iter().copied().zip(0..).collect();
            let mut ours = tagged.clone();
            sort_by_key(&mut ours, |&(k, _)| k);
            let mut theirs = tagged.clone();
            theirs.sort_by_key(|&(k, _)| k);
            prop_assert_eq!(ours, theirs);

            let mut ours = tagged.clone();
            sort_by(&mut ours, |a, b| b.0.cmp(&a.0));
            let mut theirs = tagged;
            theirs.sort_by_key(|t| std::cmp::Reverse(t.0));
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn sorts_strings_in_place(words in proptest::collection::vec("[a-c]{0,3}", 0..60)) {
            let mut ours = words.clone();
            sort(&mut ours);
            let mut theirs = words;
            theirs.sort_unstable();
            prop_assert_eq!(ours, theirs);
        }
    }
}
