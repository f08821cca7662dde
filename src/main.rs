//! The `q-implant` command: the library's command line (`q_implant::cli`),
//! which the Python module's `q-implant` entry point runs too.

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    q_implant::cli::main(std::env::args_os().collect())
}

/// Blocks up to this size come from the heap, not a mapping of their own
/// that freeing unmaps: glibc's largest threshold.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const FROM_HEAP: libc::c_int = 32 << 20;

/// Free memory at the top of the heap kept for the next allocation, up to
/// this much (several layers' decoded weights), instead of returned at
/// once.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEPT: libc::c_int = 256 << 20;

/// The interpreter allocates and frees buffers of tens of megabytes per
/// operator (a layer's weights, decoded); by default glibc hands each back
/// to the system and faults it in again page by page, which costs more
/// than the arithmetic on it. Keeping them makes no peak larger.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes the allocator's thresholds; it is called
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, FROM_HEAP);
        libc::mallopt(libc::M_TRIM_THRESHOLD, KEPT);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
