//! Ways for a process to die by a CPU exception, for `crashme` and
//! `usertests`. Each is written in inline assembly (or defeats the optimizer)
//! so the compiler can neither remove nor "helpfully" replace the fault.

use core::arch::asm;
use core::hint::black_box;
use ulib::Cause;

/// A way to crash: its name, what it does, and the cause the kernel should
/// report.
pub struct Kind {
    /// The `crashme` argument.
    pub name: &'static str,
    /// One line for the usage message.
    pub help: &'static str,
    /// Performs the fault (returns only if the CPU did not fault).
    pub run: fn(),
    /// How the process should end.
    pub cause: Cause,
    /// The faulting address the kernel should record, where it is fixed
    /// (page faults at a known address); `None` where it varies or the
    /// fault has none.
    pub addr: Option<u64>,
}

/// Where `kernel`, `kwrite` and `kexec` aim: the start of the kernel's
/// half of the address space that holds its image.
pub const KERNEL_ADDR: u64 = 0xFFFF_FFFF_8000_0000;
/// The system-call stub page (`abi::sys::STUB_ADDR`).
const STUB: u64 = abi::sys::STUB_ADDR;

/// Every kind.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "null",
        help: "write through a null pointer",
        run: null,
        cause: Cause::PageFault,
        addr: Some(0),
    },
    Kind {
        name: "gpf",
        help: "run a privileged instruction (cli)",
        run: gpf,
        cause: Cause::GeneralProtection,
        addr: None,
    },
    Kind {
        name: "noncanonical",
        help: "read a non-canonical address",
        run: noncanonical,
        cause: Cause::GeneralProtection,
        addr: None,
    },
    Kind {
        name: "divide",
        help: "divide by zero",
        run: divide,
        cause: Cause::DivideError,
        addr: None,
    },
    Kind {
        name: "ud2",
        help: "execute an invalid opcode",
        run: ud2,
        cause: Cause::InvalidOpcode,
        addr: None,
    },
    Kind {
        name: "stack",
        help: "recurse until the stack overflows",
        run: stack,
        cause: Cause::StackOverflow,
        addr: None,
    },
    Kind {
        name: "kernel",
        help: "read kernel memory (0xffffffff80000000)",
        run: kernel,
        cause: Cause::PageFault,
        addr: Some(KERNEL_ADDR),
    },
    Kind {
        name: "text",
        help: "write to the program's own code",
        run: text,
        cause: Cause::PageFault,
        addr: None,
    },
    Kind {
        name: "breakpoint",
        help: "execute int3",
        run: breakpoint,
        cause: Cause::Breakpoint,
        addr: None,
    },
    Kind {
        name: "kwrite",
        help: "write kernel memory (0xffffffff80000000)",
        run: kwrite,
        cause: Cause::PageFault,
        addr: Some(KERNEL_ADDR),
    },
    Kind {
        name: "kexec",
        help: "jump into the kernel (0xffffffff80000000)",
        run: kexec,
        cause: Cause::PageFault,
        addr: Some(KERNEL_ADDR),
    },
    Kind {
        name: "stub",
        help: "overwrite the shared system-call stub",
        run: stub,
        cause: Cause::PageFault,
        addr: Some(STUB),
    },
    Kind {
        name: "nullcall",
        help: "call a null function pointer",
        run: nullcall,
        cause: Cause::PageFault,
        addr: Some(0),
    },
    Kind {
        name: "trapflag",
        help: "set the trap flag (a debug exception after one instruction)",
        run: trapflag,
        cause: Cause::OtherFault,
        addr: None,
    },
];

/// The kind called `name`.
pub fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

fn null() {
    // SAFETY: deliberately faults; nothing is written if it somehow does not.
    unsafe { asm!("mov qword ptr [{p}], 1", p = in(reg) 0usize) };
}

fn gpf() {
    // SAFETY: `cli` at CPL 3 with IOPL 0 raises #GP and changes nothing.
    unsafe { asm!("cli") };
}

fn noncanonical() {
    // SAFETY: a load from a non-canonical address raises #GP.
    unsafe {
        asm!("mov {x}, qword ptr [{p}]", p = in(reg) 0x8000_0000_0000_0000u64, x = out(reg) _)
    };
}

fn divide() {
    // SAFETY: `div` by zero raises #DE; the registers it writes are declared.
    unsafe {
        asm!("div {d}", d = in(reg) black_box(0u64), inout("rax") 1u64 => _, inout("rdx") 0u64 => _)
    };
}

fn ud2() {
    // SAFETY: raises #UD.
    unsafe { asm!("ud2") };
}

fn kernel() {
    // SAFETY: the kernel half is supervisor-only: this load raises #PF.
    unsafe {
        asm!("mov {x}, qword ptr [{p}]", p = in(reg) 0xFFFF_FFFF_8000_0000u64, x = out(reg) _)
    };
}

fn kwrite() {
    // SAFETY: the kernel half is supervisor-only: this store raises #PF and
    // writes nothing.
    unsafe { asm!("mov qword ptr [{p}], 0", p = in(reg) KERNEL_ADDR) };
}

fn kexec() {
    // SAFETY: fetching from a supervisor page raises #PF at the target.
    unsafe { asm!("call {p}", p = in(reg) KERNEL_ADDR, clobber_abi("C")) };
}

fn stub() {
    // SAFETY: the stub page is mapped read/execute for users: the store
    // raises #PF (the page is shared by every process: it must stay so).
    unsafe { asm!("mov byte ptr [{p}], 0xc3", p = in(reg) STUB) };
}

fn nullcall() {
    // SAFETY: nothing is mapped at 0: the fetch raises #PF.
    unsafe { asm!("call {p}", p = in(reg) 0u64, clobber_abi("C")) };
}

fn trapflag() {
    // SAFETY: sets RFLAGS.TF: the instruction after popfq raises #DB,
    // which no debugger handles. (Not `icebp`: QEMU's TCG takes it for an
    // invalid opcode.)
    unsafe { asm!("pushfq", "or qword ptr [rsp], 0x100", "popfq", "nop", "nop",) };
}

fn text() {
    let code = text as *const () as usize;
    // SAFETY: the code segment is mapped read/execute: the store raises #PF.
    unsafe { asm!("mov byte ptr [{p}], 0xcc", p = in(reg) code) };
}

fn breakpoint() {
    // SAFETY: raises #BP, which no debugger handles.
    unsafe { asm!("int3") };
}

fn stack() {
    /// Each frame keeps a page-sized array alive across the recursive call,
    /// which is not a tail call, so nothing can turn it into a loop.
    #[inline(never)]
    fn recurse(depth: u64) -> u64 {
        let frame = black_box([depth; 512]);
        if black_box(depth) == u64::MAX {
            return 0;
        }
        recurse(depth + 1).wrapping_add(frame[(depth % 512) as usize])
    }
    black_box(recurse(0));
}
