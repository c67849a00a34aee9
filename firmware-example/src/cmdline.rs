//! The command line QEMU passes through semihosting (`-append "..."`), for
//! the kernel benchmarks' arguments.

/// The command line, read into `buf` (empty if the host has none).
pub fn cmdline(buf: &mut [u8; 128]) -> &str {
    let mut block = [buf.as_mut_ptr() as usize, buf.len() - 1];
    // SAFETY: SYS_GET_CMDLINE writes at most block[1] bytes into `buf`.
    let rc = unsafe { get_cmdline(&mut block) };
    if rc != 0 {
        return "";
    }
    core::str::from_utf8(&buf[..block_len(&block).min(127)]).unwrap_or("")
}

/// SYS_GET_CMDLINE: the host writes the command line into `block[0]` (a
/// buffer of `block[1]` bytes) and its length into `block[1]`.
///
/// # Safety
/// `block[0]` must point to at least `block[1]` writable bytes.
unsafe fn get_cmdline(block: &mut [usize; 2]) -> usize {
    // SAFETY: as the caller promises; `block` lives for the call.
    unsafe { cortex_m_semihosting::syscall(cortex_m_semihosting::nr::GET_CMDLINE, block) }
}

/// The length the host wrote (read volatile: the write happened behind the compiler's back).
fn block_len(block: &[usize; 2]) -> usize {
    // SAFETY: a plain read of an initialised, aligned local.
    unsafe { core::ptr::read_volatile(&block[1]) }
}
