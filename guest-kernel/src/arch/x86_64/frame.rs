//! The trap frame: every register of the interrupted code, as the entry
//! stubs leave them on the kernel stack.

/// The registers saved on a trap, lowest address first: what `trap_common`
/// pushed, then the stub's vector and error code, then the CPU's frame.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Pushed by the stub.
    pub vector: u64,
    /// Pushed by the CPU, or 0 by the stub.
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

// 22 words: with the CPU's 16-byte alignment of the frame, RSP is 16-byte
// aligned at the `call` in trap_common, as the SysV ABI wants.
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 22 * 8);
