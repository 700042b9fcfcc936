//! How many bytes this thread holds on the heap: the page's allocator is the system's, wrapped
//! to count. The time line keeps snapshots of the world within a byte budget (`session.rs`), and
//! a snapshot's size depends on the scenario (a node's metric series, the messages in flight, a
//! checker's history) in ways no formula of ours would follow: so it is measured, as the bytes
//! allocated while it was taken.
//!
//! The count is per thread, so that native unit tests running side by side do not see each
//! other's allocations; the page has one thread. Counting is one addition per allocation.
//!
//! This is the page's only `unsafe` code: a `GlobalAlloc` must be an `unsafe impl`, and each
//! method forwards to [`System`] with the caller's own arguments, adding nothing to its contract.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting.
pub struct Counting;

thread_local! {
    // `const` and without a destructor: reading it never allocates, so the allocator may.
    static HELD: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with`: during a thread's teardown the slot may be gone; a lost count is harmless.
    let _ = HELD.try_with(|h| h.set(h.get().wrapping_add(bytes)));
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches only a thread-local integer and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received (see the impl's comment).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as received.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Bytes allocated and not yet freed by this thread (freed by another thread, they are counted
/// there: only differences taken on one thread mean anything).
pub fn held() -> isize {
    HELD.try_with(Cell::get).unwrap_or(0)
}

/// The bytes `f` left allocated on this thread: what the value it made holds on the heap.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = held();
    let value = f();
    (value, held().saturating_sub(before).max(0) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_is_measured_by_its_bytes_and_freeing_gives_them_back() {
        let (v, bytes) = measure(|| vec![0u64; 10_000]);
        assert_eq!(bytes, 80_000);
        let before = held();
        drop(v);
        assert_eq!(before - held(), 80_000);
    }
}
