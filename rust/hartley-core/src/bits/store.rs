//! 64-byte aligned byte storage, owned or mapped from a file.

use std::sync::Arc;

/// Owned stores at least this large ask the kernel for huge pages.
const HUGE_FROM: usize = 4 << 20;

/// Asks the kernel to back the allocation `ptr..ptr + len` with
/// transparent huge pages where it can (Linux; a no-op elsewhere, and when
/// the kernel declines). A scan over codes then takes one TLB entry per
/// 2 MiB instead of per 4 KiB, and the rescoring's scattered reads of
/// vectors miss the TLB far less.
fn advise_huge_pages(ptr: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        // madvise wants a page-aligned start: advise the whole huge pages
        // inside the allocation.
        let start = (ptr as usize).next_multiple_of(HUGE);
        let end = (ptr as usize + len) & !(HUGE - 1);
        if end > start {
            // SAFETY: the range lies inside an allocation this process owns;
            // MADV_HUGEPAGE changes how the kernel backs it, never its
            // contents or validity. A failure (no THP support) is ignored.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

/// One cache line of bytes; a `Vec` of them is 64-byte aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub struct Line([u8; 64]);

/// Bytes whose start is 64-byte aligned: owned and growable, or a read-only
/// range of a memory-mapped file (which turns into an owned copy on the
/// first write).
#[derive(Clone)]
pub enum Store {
    /// Bytes in memory.
    Owned {
        /// Backing lines.
        lines: Vec<Line>,
        /// Bytes in use.
        len: usize,
    },
    /// A range of a mapped file.
    Mapped {
        /// The mapping.
        map: Arc<memmap2::Mmap>,
        /// Start of the range (a multiple of 64).
        offset: usize,
        /// Length of the range.
        len: usize,
    },
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.is_mapped() { "mapped" } else { "owned" };
        write!(f, "Store({kind}, {} bytes)", self.len())
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::Owned {
            lines: Vec::new(),
            len: 0,
        }
    }
}

impl Store {
    /// An owned copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut s = Store::default();
        s.extend(bytes);
        s
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        match self {
            Store::Owned { len, .. } | Store::Mapped { len, .. } => *len,
        }
    }

    /// Whether the store holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes live in a mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(self, Store::Mapped { .. })
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Store::Owned { lines, len } => {
                // SAFETY: `lines` holds `lines.len() * 64 >= len` initialised bytes.
                unsafe { std::slice::from_raw_parts(lines.as_ptr() as *const u8, *len) }
            }
            Store::Mapped { map, offset, len } => &map[*offset..*offset + *len],
        }
    }

    /// The bytes as native-endian 64-bit words (the length must be a multiple
    /// of 8, which every caller's row layout guarantees).
    pub fn words(&self) -> &[u64] {
        let bytes = self.bytes();
        debug_assert_eq!(bytes.len() % 8, 0);
        debug_assert_eq!(bytes.as_ptr() as usize % 8, 0);
        // SAFETY: the start is 64-byte aligned (owned lines, or a mapping at a
        // page boundary plus a multiple of 64), every bit pattern is a valid
        // u64, and the length is rounded down to whole words.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const u64, bytes.len() / 8) }
    }

    /// The bytes as `f32` values (same alignment argument as [`Store::words`]).
    pub fn floats(&self) -> &[f32] {
        let bytes = self.bytes();
        // SAFETY: as in `words`: aligned start, any bit pattern is a valid f32.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const f32, bytes.len() / 4) }
    }

    /// Appends bytes, copying a mapped range into memory first.
    pub fn extend(&mut self, more: &[u8]) {
        if self.is_mapped() {
            let copy = Store::from_bytes(self.bytes());
            *self = copy;
        }
        if let Store::Owned { lines, len } = self {
            let new_len = *len + more.len();
            let need = new_len.div_ceil(64);
            if need > lines.len() {
                let grow = need.max(lines.len() + lines.len() / 2);
                if grow * 64 >= HUGE_FROM {
                    // Reserved first, so that the new lines are advised
                    // before the zeros below first touch them.
                    lines.reserve_exact(grow - lines.len());
                    advise_huge_pages(lines.as_ptr() as *const u8, lines.capacity() * 64);
                }
                lines.resize(grow, Line([0; 64]));
            }
            // SAFETY: `lines` now holds at least `new_len` bytes, and `more`
            // cannot alias them (it is borrowed immutably from elsewhere).
            let all = unsafe {
                std::slice::from_raw_parts_mut(lines.as_mut_ptr() as *mut u8, lines.len() * 64)
            };
            all[*len..new_len].copy_from_slice(more);
            *len = new_len;
        }
    }

    /// Bytes of memory this store holds (mapped pages are the kernel's).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Store::Owned { lines, .. } => lines.capacity() * 64,
            Store::Mapped { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_past_the_huge_page_size_keeps_every_byte() {
        // Chunks of an odd length, so that growth happens mid-line, from a
        // small store to one well above `HUGE_FROM`.
        let chunk: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut s = Store::default();
        let mut want = Vec::new();
        for round in 0..7 {
            let part = &chunk[round * 1000..];
            s.extend(part);
            want.extend_from_slice(part);
            assert_eq!(s.len(), want.len());
            assert_eq!(s.bytes(), &want[..]);
            assert_eq!(s.bytes().as_ptr() as usize % 64, 0);
        }
        assert!(s.len() >= HUGE_FROM);
        assert!(s.heap_bytes() >= s.len());
    }
}
