//! Page-aligned arrays that are not touched when allocated, so each worker's first touch places
//! its own pages, and that can ask for transparent huge pages.

use std::alloc::{alloc, dealloc, Layout};

use crate::error::{MemError, Result};
use crate::sys;

/// Huge-page alignment, so madvise(MADV_HUGEPAGE) can back the whole array.
pub(crate) const ALIGN: usize = 2 << 20;

/// A 2 MiB-aligned heap array of `T` that starts uninitialised (untouched pages).
#[derive(Debug)]
pub(crate) struct AlignedBuffer<T> {
    ptr: *mut T,
    len: usize,
    layout: Layout,
    initialised: bool,
}

// SAFETY: the buffer owns its memory exclusively, like a Vec<T>.
unsafe impl<T: Send> Send for AlignedBuffer<T> {}
// SAFETY: shared access only hands out shared slices, like a Vec<T>.
unsafe impl<T: Sync> Sync for AlignedBuffer<T> {}

impl<T: Copy> AlignedBuffer<T> {
    /// Allocates `len` elements without touching them.
    pub(crate) fn new(len: usize, what: &str) -> Result<Self> {
        let bytes = len.max(1) * std::mem::size_of::<T>();
        let err = || MemError::Alloc {
            bytes: bytes as u64,
            what: what.to_owned(),
        };
        let size = bytes.div_ceil(ALIGN) * ALIGN;
        let layout = Layout::from_size_align(size, ALIGN).map_err(|_| err())?;
        // SAFETY: layout has non-zero size.
        let ptr = unsafe { alloc(layout) }.cast::<T>();
        if ptr.is_null() {
            return Err(err());
        }
        Ok(Self {
            ptr,
            len,
            layout,
            initialised: false,
        })
    }

    /// Asks for huge pages (before first touch); true if the kernel took the hint.
    pub(crate) fn advise_huge_pages(&self) -> bool {
        sys::advise_huge_pages(self.ptr.cast(), self.layout.size())
    }

    /// Bytes of this buffer backed by huge pages now.
    pub(crate) fn huge_page_bytes(&self) -> u64 {
        sys::huge_page_bytes(self.ptr as usize, self.layout.size()).unwrap_or(0)
    }

    /// Raw chunk pointers for first-touch initialisation by several threads.
    pub(crate) fn raw_parts(&mut self) -> (RawSlice<T>, usize) {
        (RawSlice(self.ptr), self.len)
    }

    /// Declares every element written (after the workers' first touch).
    ///
    /// # Safety
    /// Every element in `0..len` must have been written.
    pub(crate) unsafe fn assume_initialised(&mut self) {
        self.initialised = true;
    }

    /// Fills every element from this thread (for buffers that need no first-touch placement).
    pub(crate) fn fill(&mut self, value: T) {
        for i in 0..self.len {
            // SAFETY: i < len, inside the allocation.
            unsafe { self.ptr.add(i).write(value) };
        }
        self.initialised = true;
    }

    /// The elements. Panics if they were never initialised.
    pub(crate) fn as_slice(&self) -> &[T] {
        assert!(self.initialised, "buffer read before initialisation");
        // SAFETY: initialised, aligned, `len` elements inside the allocation.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The elements, mutably. Panics if they were never initialised.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        assert!(self.initialised, "buffer written before initialisation");
        // SAFETY: initialised, aligned, `len` elements, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T> Drop for AlignedBuffer<T> {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.cast(), self.layout) };
    }
}

/// A base pointer shared with initialising threads, each writing a disjoint range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawSlice<T>(*mut T);

// SAFETY: threads write disjoint ranges only (see `write_range`).
unsafe impl<T: Send> Send for RawSlice<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for RawSlice<T> {}

impl<T: Copy> RawSlice<T> {
    /// Writes `value` into `range`.
    ///
    /// # Safety
    /// `range` must lie inside the buffer and no other thread may access it concurrently.
    pub(crate) unsafe fn write_range(&self, range: std::ops::Range<usize>, value: T) {
        for i in range {
            // SAFETY: guaranteed in bounds and exclusive by the caller.
            unsafe { self.0.add(i).write(value) };
        }
    }
}
