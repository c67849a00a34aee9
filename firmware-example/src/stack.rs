//! Stack high-water mark by painting: fill the free stack below the current
//! stack pointer with a pattern, run the code, and find the lowest word that
//! changed.

/// The pattern painted on unused stack.
const PAINT: u32 = 0xC0DE_5AFE;
/// Bytes of stack below the current stack pointer that are painted (and so the
/// largest depth that can be measured).
const WINDOW: usize = 16 * 1024;

extern "C" {
    /// Lowest address the stack may grow down to (end of `.bss`/`.uninit`), from `cortex-m-rt`'s `link.x`.
    static _stack_end: u32;
    /// Initial stack pointer (top of RAM), from `link.x`.
    static _stack_start: u32;
}

/// A painted stretch of stack: `[bottom, top)`.
pub struct Painted {
    bottom: usize,
    top: usize,
}

/// Current stack pointer.
#[inline(always)]
fn sp() -> usize {
    cortex_m::register::msp::read() as usize
}

/// Initial stack pointer (top of the stack).
pub fn stack_top() -> usize {
    // Only the address of the linker symbol is taken, never its value.
    core::ptr::addr_of!(_stack_start) as usize
}

/// Paints the free stack below the caller's stack pointer. Inlined so the
/// painted stretch starts right under the caller's frame.
#[inline(always)]
pub fn paint() -> Painted {
    let limit = core::ptr::addr_of!(_stack_end) as usize;
    let top = sp() & !3;
    let bottom = top.saturating_sub(WINDOW).max(limit);
    let mut p = bottom;
    while p < top {
        // SAFETY: `[bottom, top)` lies between the end of static RAM and the
        // stack pointer: free stack no live data uses; the loop needs no stack
        // itself, and no interrupt is enabled that could be using it.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    Painted { bottom, top }
}

impl Painted {
    /// Bytes of stack used below the painted top since [`paint`], and whether
    /// the whole window was used (then the true figure may be larger).
    pub fn used(&self) -> (usize, bool) {
        let mut p = self.bottom;
        // SAFETY: reads of the same free-stack words `paint` wrote, all below
        // the caller's stack pointer (the caller is back at its own frame).
        while p < self.top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
            p += 4;
        }
        (self.top - p, p == self.bottom && p < self.top)
    }

    /// The stack pointer when painted.
    pub fn top(&self) -> usize {
        self.top
    }
}
