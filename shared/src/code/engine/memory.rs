//! The sandbox's allocator: Rust's global allocator, metered against the execution's memory limit.
//!
//! The limit is enforced here rather than with QuickJS's own `malloc_limit` so the host learns that an
//! allocation was refused: when the engine is that short of memory it often cannot even build its
//! "out of memory" error and throws `null` instead, which would read like any other failure.

use std::{cell::Cell, ptr, rc::Rc};

use rquickjs::allocator::{Allocator, RustAllocator};

pub(super) struct Metered {
    used: usize,
    limit: usize,
    /// Set on the first refused allocation, read by the job loop after the code ended.
    refused: Rc<Cell<bool>>,
}

impl Metered {
    pub(super) fn new(limit: usize) -> (Self, Rc<Cell<bool>>) {
        let refused = Rc::new(Cell::new(false));
        (Self { used: 0, limit, refused: Rc::clone(&refused) }, refused)
    }

    /// Whether `size` more bytes fit, after `freed` bytes are given back.
    fn admit(&self, size: usize, freed: usize) -> bool {
        let fits = self.used.saturating_sub(freed).checked_add(size).is_some_and(|total| total <= self.limit);
        if !fits {
            self.refused.set(true);
        }
        fits
    }
}

// SAFETY: every pointer handed out comes from `RustAllocator` (usize-aligned, at least the requested
// size) and is given back to it; sizes are checked for overflow before they reach it (its `calloc`
// would panic across the C boundary otherwise).
unsafe impl Allocator for Metered {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.admit(size, 0) {
            return ptr::null_mut();
        }
        let block = RustAllocator.alloc(size);
        if !block.is_null() {
            // SAFETY: `block` was just allocated by `RustAllocator`.
            self.used += unsafe { RustAllocator::usable_size(block) };
        }
        block
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        match count.checked_mul(size) {
            Some(total) if self.admit(total, 0) => {
                let block = RustAllocator.calloc(count, size);
                if !block.is_null() {
                    // SAFETY: `block` was just allocated by `RustAllocator`.
                    self.used += unsafe { RustAllocator::usable_size(block) };
                }
                block
            }
            _ => {
                self.refused.set(true);
                ptr::null_mut()
            }
        }
    }

    unsafe fn dealloc(&mut self, block: *mut u8) {
        self.used = self.used.saturating_sub(RustAllocator::usable_size(block));
        RustAllocator.dealloc(block);
    }

    unsafe fn realloc(&mut self, block: *mut u8, new_size: usize) -> *mut u8 {
        // QuickJS turns these two cases into malloc and free itself; handled anyway, as C's realloc would.
        if block.is_null() {
            return self.alloc(new_size);
        }
        if new_size == 0 {
            self.dealloc(block);
            return ptr::null_mut();
        }
        let old = RustAllocator::usable_size(block);
        if !self.admit(new_size, old) {
            return ptr::null_mut();
        }
        let moved = RustAllocator.realloc(block, new_size);
        if !moved.is_null() {
            self.used = self.used.saturating_sub(old) + RustAllocator::usable_size(moved);
        }
        moved
    }

    unsafe fn usable_size(block: *mut u8) -> usize {
        RustAllocator::usable_size(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_and_says_so() {
        let (mut a, refused) = Metered::new(1024);
        let block = a.alloc(512);
        assert!(!block.is_null() && !refused.get());
        assert!(a.alloc(1024).is_null() && refused.get());
        assert!(a.calloc(usize::MAX, 2).is_null());
        // SAFETY: `block` came from `a`.
        let grown = unsafe { a.realloc(block, 1000) };
        assert!(!grown.is_null());
        unsafe { a.dealloc(grown) };
        assert_eq!(a.used, 0);
    }
}
