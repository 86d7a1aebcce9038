//! Faulting in large fresh buffers off the critical path.

/// Runs `fill` on a fresh zeroed buffer of `len` bytes while another thread asks
/// Linux to fault its pages in ahead of it (MADV_POPULATE_WRITE, in 4 MiB steps
/// from the start). Inflating ch2better's 35 MB otherwise takes ~8,500 page
/// faults on the inflating thread. Advisory: where the call fails (older kernels,
/// other systems) `fill` just faults as usual.
pub fn fill_zeroed<R>(len: usize, fill: impl FnOnce(&mut [u8]) -> R) -> (Vec<u8>, R) {
    let mut buf = vec![0u8; len];
    #[cfg(target_os = "linux")]
    {
        // The helper gets an address, not a reference: madvise reads and writes no
        // contents, so it cannot race with `fill`.
        let (start, len) = (buf.as_mut_ptr() as usize, buf.len());
        let result = std::thread::scope(|scope| {
            scope.spawn(move || populate(start, len));
            fill(&mut buf)
        });
        (buf, result)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let result = fill(&mut buf);
        (buf, result)
    }
}

#[cfg(target_os = "linux")]
fn populate(start: usize, len: usize) {
    const STEP: usize = 4 << 20;
    const PAGE: usize = 4096;
    let first = start.next_multiple_of(PAGE);
    let end = start + len;
    let mut at = first;
    while at < end {
        let n = STEP.min(end - at);
        // SAFETY: [at, at + n) lies inside the live buffer (the scope keeps it
        // alive); MADV_POPULATE_WRITE only faults pages in.
        let ok = unsafe { libc::madvise(at as *mut libc::c_void, n, libc::MADV_POPULATE_WRITE) };
        if ok != 0 {
            return;
        }
        at += n;
    }
}

#[cfg(test)]
mod tests {
    use super::fill_zeroed;

    /// What `fill` writes is what comes back, whatever the helper thread faulted in,
    /// for empty, tiny and multi-step (over 4 MiB, unaligned) buffers.
    #[test]
    fn contents_are_exactly_what_fill_wrote() {
        for len in [0usize, 1, 4097, (9 << 20) + 123] {
            let (buf, sum) = fill_zeroed(len, |b| {
                assert!(b.iter().all(|&x| x == 0));
                for (i, x) in b.iter_mut().enumerate() {
                    *x = (i % 251) as u8;
                }
                b.len()
            });
            assert_eq!(sum, len);
            assert_eq!(buf.len(), len);
            assert!(buf.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8));
        }
    }
}
