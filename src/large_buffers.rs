//! The global allocator of the `herald` binary: glibc's, except that a Rust buffer of 2 MiB
//! or more (a large request body, its JSON string, a decoded attachment, a message being
//! built, a blob read back) gets an anonymous mapping of its own that the kernel may back with
//! transparent huge pages (`madvise(MADV_HUGEPAGE)`).
//!
//! Why: glibc maps buffers of 256 KiB and more on their own already (`cli::tune_the_allocator`
//! keeps that threshold fixed, so large buffers go back to the system when freed), and each of
//! a 5 MB email's dozen such buffers was then faulted in 4 KiB page by page and unmapped page
//! by page: page faults, zeroing and unmapping were about a third of the CPU of a 5 MB relay
//! (`perf`, docs/performance.md, "Large messages: page faults"). With huge pages a 2 MiB
//! stretch is one fault instead of 512. The memory held is the same (the mapping is freed when
//! the buffer is); machines whose transparent huge pages are `never` get the same 4 KiB pages as
//! before, and with `always` glibc's mappings would get huge pages anyway.
//!
//! Smaller buffers and over-aligned ones go to glibc unchanged. A buffer that grows or shrinks
//! across the 2 MiB line is copied, as glibc copies one that crosses its own threshold.

use std::alloc::{GlobalAlloc, Layout, System};

/// Buffers of this size and more get a mapping of their own.
pub const LARGE: usize = 2 * 1024 * 1024;
const PAGE: usize = 4096;

/// See the module documentation.
pub struct LargeBuffers;

fn is_large(size: usize, align: usize) -> bool {
    cfg!(target_os = "linux") && size >= LARGE && align <= PAGE
}

fn mapped_len(size: usize) -> usize {
    size.div_ceil(PAGE) * PAGE
}

#[cfg(target_os = "linux")]
mod sys {
    use super::mapped_len;

    pub unsafe fn map(size: usize) -> *mut u8 {
        let len = mapped_len(size);
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        // SAFETY: the range is the mapping just made. Advice only: a kernel without
        // transparent huge pages refuses it, and the mapping works the same.
        unsafe { libc::madvise(p, len, libc::MADV_HUGEPAGE) };
        p.cast()
    }

    pub unsafe fn unmap(ptr: *mut u8, size: usize) {
        // SAFETY: `ptr` and `size` are those of a mapping made by `map` or `remap`.
        unsafe { libc::munmap(ptr.cast(), mapped_len(size)) };
    }

    pub unsafe fn remap(ptr: *mut u8, old_size: usize, new_size: usize) -> *mut u8 {
        let (old, new) = (mapped_len(old_size), mapped_len(new_size));
        if old == new {
            return ptr;
        }
        // SAFETY: `ptr`/`old` is a whole mapping made by `map` or `remap`; the kernel keeps
        // its advice when it grows or moves it.
        let p = unsafe { libc::mremap(ptr.cast(), old, new, libc::MREMAP_MAYMOVE) };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        p.cast()
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    pub unsafe fn map(_: usize) -> *mut u8 {
        unreachable!("only Linux maps large buffers")
    }
    pub unsafe fn unmap(_: *mut u8, _: usize) {
        unreachable!("only Linux maps large buffers")
    }
    pub unsafe fn remap(_: *mut u8, _: usize, _: usize) -> *mut u8 {
        unreachable!("only Linux maps large buffers")
    }
}

// SAFETY: every block is either glibc's (through `System`, for the layouts `is_large` rejects)
// or a whole page-aligned anonymous mapping of at least its size (for the others); which one is
// decided by the layout alone, which the caller gives back unchanged on `dealloc` and
// `realloc`. Mappings are zeroed by the kernel, as `alloc_zeroed` requires.
unsafe impl GlobalAlloc for LargeBuffers {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            unsafe { sys::map(layout.size()) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            unsafe { sys::map(layout.size()) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(layout.size(), layout.align()) {
            unsafe { sys::unmap(ptr, layout.size()) }
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        match (is_large(layout.size(), align), is_large(new_size, align)) {
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) => unsafe { sys::remap(ptr, layout.size(), new_size) },
            _ => {
                // Across the line: a new block of the other kind, the bytes copied over.
                // SAFETY: `new_size` with the old alignment is a valid layout (the caller's
                // contract for `realloc`).
                let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, align) };
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                new
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a pattern over `len` bytes at `p` and checks the first `keep` of an earlier one.
    unsafe fn fill_and_check(p: *mut u8, len: usize, keep: usize, old_seed: u8, seed: u8) {
        let bytes = unsafe { std::slice::from_raw_parts_mut(p, len) };
        for (i, b) in bytes.iter().enumerate().take(keep) {
            assert_eq!(
                *b,
                (i as u8).wrapping_mul(31).wrapping_add(old_seed),
                "byte {i}"
            );
        }
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(seed);
        }
    }

    #[test]
    fn blocks_keep_their_bytes_across_every_kind_of_growth_and_shrinking() {
        let a = LargeBuffers;
        // Small → large → larger → large of the same pages → small → gone, and the bytes
        // kept each time are those written before.
        let sizes = [
            1000,
            LARGE + 123,
            3 * LARGE + 7,
            3 * LARGE + 9,
            LARGE,
            LARGE - 1,
            64,
        ];
        unsafe {
            let mut layout = Layout::from_size_align(sizes[0], 8).unwrap();
            let mut p = a.alloc(layout);
            assert!(!p.is_null());
            fill_and_check(p, sizes[0], 0, 0, 1);
            for (step, &size) in sizes.iter().enumerate().skip(1) {
                p = a.realloc(p, layout, size);
                assert!(!p.is_null(), "realloc to {size}");
                let keep = layout.size().min(size);
                fill_and_check(p, size, keep, step as u8, step as u8 + 1);
                layout = Layout::from_size_align(size, 8).unwrap();
            }
            a.dealloc(p, layout);
        }
    }

    #[test]
    fn large_zeroed_blocks_are_zero_and_over_aligned_ones_go_to_the_system() {
        let a = LargeBuffers;
        unsafe {
            let layout = Layout::from_size_align(LARGE * 2, 16).unwrap();
            let p = a.alloc_zeroed(layout);
            assert!(
                std::slice::from_raw_parts(p, layout.size())
                    .iter()
                    .all(|b| *b == 0)
            );
            assert_eq!(p as usize % PAGE, 0, "a mapping of its own");
            a.dealloc(p, layout);

            let layout = Layout::from_size_align(LARGE, 2 * PAGE).unwrap();
            let p = a.alloc(layout);
            assert!(!p.is_null());
            assert_eq!(p as usize % (2 * PAGE), 0);
            p.write_bytes(7, layout.size());
            a.dealloc(p, layout);
        }
    }
}
