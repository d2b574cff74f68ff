//! Process start-up and the panic handler (guest target only).
//!
//! The kernel enters `_start` in ring 3 with `rsp` 16-byte aligned just below
//! the argument area at the top of the stack, `rdi` = argc and `rsi` = a
//! pointer to argc [`abi::sys::Str`] records (UTF-8, in our own memory).

#[cfg(target_os = "none")]
mod imp {
    use abi::sys::{MAX_ARGS, Str};

    unsafe extern "Rust" {
        /// The program's main, defined by [`crate::entry!`].
        fn __ulib_main(args: &[&str]) -> i32;
    }

    /// The ELF entry point. `call` pushes a return address, so `start` sees
    /// the stack alignment the System V ABI promises at a function's entry;
    /// a zero `rbp` ends frame-pointer backtraces here.
    #[unsafe(naked)]
    #[unsafe(no_mangle)]
    #[unsafe(link_section = ".text._start")]
    extern "C" fn _start() -> ! {
        core::arch::naked_asm!("xor ebp, ebp", "call {start}", "ud2", start = sym start)
    }

    /// Turns the kernel's argument vector into `&[&str]`, runs main, exits.
    extern "C" fn start(argc: usize, argv: *const Str) -> ! {
        let mut args: [&str; MAX_ARGS] = [""; MAX_ARGS];
        let n = if argv.is_null() {
            0
        } else {
            argc.min(MAX_ARGS)
        };
        for (i, slot) in args[..n].iter_mut().enumerate() {
            // SAFETY: the kernel placed argc records at argv, each naming
            // bytes in our memory that stay untouched for the whole process.
            let bytes = unsafe {
                let s = *argv.add(i);
                core::slice::from_raw_parts(s.ptr as *const u8, s.len as usize)
            };
            *slot = core::str::from_utf8(bytes).unwrap_or("?");
        }
        // SAFETY: `entry!` defines __ulib_main with exactly this signature.
        let code = unsafe { __ulib_main(&args[..n]) };
        // print! writes each call out at once: nothing is left to flush.
        crate::sys::exit(code)
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        crate::eprintln!("panic: {}", info.message());
        crate::sys::exit(101)
    }
}
