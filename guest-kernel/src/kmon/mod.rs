//! The kernel monitor: a debug shell on the serial console, with
//! interrupt-driven line input (echo, backspace). It is the console until
//! processes exist, and stays as the kernel's own debug shell.

use alloc::vec::Vec;

use crate::arch::x86_64::idt;
use crate::console;
use crate::dev::{poweroff, uart};
use crate::fs::initrd;
use crate::mm::{frame, heap};
use crate::time;
use abi::exit::ExitRequest;
use logic::console::line::{Action, LineEditor};
use logic::kmon::command::{Command, CrashKind, HELP};
use logic::time::units;

/// The prompt.
pub const PROMPT: &str = "kmon> ";
/// Longest command line, in bytes.
const MAX_LINE: usize = 256;

/// Reads and runs commands forever.
pub fn run() -> ! {
    let mut editor = LineEditor::<MAX_LINE>::new();
    // Echo is collected and written when input pauses: a pasted or piped
    // line costs one write, not one per byte.
    let mut echo = console::Echo::new();
    loop {
        uart::write_raw(PROMPT.as_bytes());
        loop {
            match editor.feed(console::read_byte()) {
                Action::None => {}
                Action::Echo(b) => echo.push(&[b]),
                Action::Erase(n) => {
                    for _ in 0..n {
                        echo.push(b"\x08 \x08");
                    }
                }
                Action::Submit => {
                    echo.push(b"\r\n");
                    echo.flush();
                    break;
                }
                Action::Overflow => {
                    echo.flush();
                    println!("\nkmon: a command is at most {MAX_LINE} bytes; the rest is dropped");
                }
            }
            if !console::has_input() {
                echo.flush();
            }
        }
        execute(Command::parse(editor.line()));
    }
}

/// Runs one command.
fn execute(command: Command) {
    match command {
        Command::Empty => {}
        Command::Help => console::write(HELP.as_bytes()),
        Command::Echo(text) => {
            let words: Vec<&str> = text.split_ascii_whitespace().collect();
            let mut line = alloc::string::String::new();
            for (i, w) in words.iter().enumerate() {
                if i > 0 {
                    line.push(' ');
                }
                line.push_str(w);
            }
            line.push('\n');
            console::write(line.as_bytes());
        }
        Command::Uptime => {
            let (ticks, tsc) = (time::ticks(), time::tsc_since_start());
            let khz = time::tsc_khz();
            println!(
                "uptime: {ticks} ticks in {} ms ({} Hz measured, {} Hz requested)",
                units::tsc_to_ms(tsc, khz),
                units::measured_hz(ticks, tsc, khz),
                time::hz()
            );
        }
        Command::Sleep(ms) => time::sleep_ms(ms),
        Command::Mem => {
            let (free, total) = frame::stats();
            let (heap_bytes, heap_frames) = heap::stats();
            println!(
                "mem: {free} of {total} frames free ({} of {} KiB), heap {heap_bytes} bytes in use ({heap_frames} frames)",
                free * 4,
                total * 4
            );
        }
        Command::Ls => match initrd::archive().validate() {
            Err(e) => println!("ls: bad initrd: {e}"),
            Ok(_) => {
                for entry in initrd::archive().entries().map_while(Result::ok) {
                    let slash = if entry.is_file() { "" } else { "/" };
                    println!("{:>8}  {}{slash}", entry.data.len(), entry.name);
                }
            }
        },
        Command::Cat(path) => match initrd::archive().find(path) {
            Some(entry) => console::write(entry.data),
            None => println!("cat: {path}: no such file"),
        },
        Command::Crash(kind) => crash(kind),
        Command::Bench => bench(),
        Command::Probe => probe(),
        Command::PowerOff(status) => poweroff::exit(ExitRequest::PowerOff(status)),
        Command::Usage(message) => println!("{message}"),
        Command::Unknown(word) => println!("kmon: unknown command '{word}' (try help)"),
    }
}

/// Reads and writes [`abi::port::PROBE_PORT`] and [`abi::port::PROBE_MMIO`]
/// at every width, and prints what the reads returned: a VMM must answer
/// (all ones, as an empty bus does) and carry on.
fn probe() {
    use crate::arch::x86_64::cpu;
    use crate::arch::x86_64::layout::{PhysAddr, direct};
    let port = abi::port::PROBE_PORT;
    // SAFETY: nothing is at this port; the accesses only reach the VMM.
    let (b, w, l) = unsafe {
        let values = (cpu::inb(port), cpu::inw(port), cpu::inl(port));
        cpu::outb(port, 0x5A);
        cpu::outw(port, 0x5A5A);
        cpu::outl(port, 0x5A5A_5A5A);
        values
    };
    println!(
        "probe: port {port:#x}: in8 {b:#x}, in16 {w:#x}, in32 {l:#x}; out8, out16, out32 done"
    );
    let at = abi::port::PROBE_MMIO;
    let mmio: *mut u64 = direct(PhysAddr(at));
    // SAFETY: the direct map covers this address (below 4 GiB) and no RAM
    // or device is there: each access is one MMIO exit to the VMM. Volatile,
    // so each happens once, at its width.
    let (b, w, l, q) = unsafe {
        let values = (
            mmio.cast::<u8>().read_volatile(),
            mmio.cast::<u16>().read_volatile(),
            mmio.cast::<u32>().read_volatile(),
            mmio.read_volatile(),
        );
        mmio.cast::<u8>().write_volatile(0x5A);
        mmio.cast::<u16>().write_volatile(0x5A5A);
        mmio.cast::<u32>().write_volatile(0x5A5A_5A5A);
        mmio.write_volatile(0x5A5A_5A5A_5A5A_5A5A);
        values
    };
    println!(
        "probe: mmio {at:#x}: read8 {b:#x}, read16 {w:#x}, read32 {l:#x}, read64 {q:#x}; write8, write16, write32, write64 done"
    );
}

/// Times a few ring-0 basics, to see what the hypervisor charges for them.
fn bench() {
    let khz = time::tsc_khz();
    let time = |name: &str, runs: u64, f: &mut dyn FnMut()| {
        let start = crate::arch::x86_64::cpu::rdtsc();
        for _ in 0..runs {
            f();
        }
        let cycles = crate::arch::x86_64::cpu::rdtsc() - start;
        let ns = units::muldiv(cycles, 1_000_000, khz * runs);
        println!("bench: {name}: {ns} ns");
    };
    time("empty loop iteration", 1000, &mut || {
        core::hint::black_box(())
    });
    let mut line = crate::log::Line::new(0);
    time("format a line (no output)", 10, &mut || {
        let _ = core::fmt::Write::write_fmt(
            &mut line,
            format_args!(
                "uptime: {} ticks in {} ms ({} Hz)",
                12345u64, 678u64, 999u64
            ),
        );
        line.clear();
    });
    time("serial write, 64 bytes", 10, &mut || {
        uart::write_raw(&[b'\r'; 64])
    });
    time("debugcon write, 64 bytes", 10, &mut || {
        crate::dev::debugcon::write(&[b' '; 64])
    });
    // Console throughput (scripts/bench): bytes per second is the size
    // over the time; a 1-byte write is one `out`, one VM exit: the floor.
    time("serial write, 4096 bytes", 4, &mut || {
        uart::write_raw(&[b'\r'; 4096])
    });
    time("debugcon write, 4096 bytes", 4, &mut || {
        crate::dev::debugcon::write(&[b' '; 4096])
    });
    time("debugcon write, 1 byte", 100, &mut || {
        crate::dev::debugcon::write(b" ")
    });
    time("PIT read (3 port accesses)", 100, &mut || {
        crate::arch::x86_64::pit::read_count();
    });
    time("initrd validate", 1, &mut || {
        let _ = core::hint::black_box(initrd::archive().validate());
    });
}

/// Crashes the kernel on purpose, the way `kind` says.
pub fn crash(kind: CrashKind) -> ! {
    report!("crash: triggering {}", kind.name());
    // SAFETY: each fault is deliberate; the exception handler reports it
    // and ends the VM, so execution never continues past it.
    unsafe {
        match kind {
            CrashKind::PageFault => {
                // A write through a null pointer (address 0 is unmapped).
                core::arch::asm!("mov qword ptr [{0}], {0}", in(reg) 0u64, options(nostack));
            }
            CrashKind::Gpf => {
                core::arch::asm!("mov {0}, qword ptr [{0}]", inout(reg) 0x8000_0000_0000_0000u64 => _, options(nostack));
            }
            CrashKind::Divide => {
                core::arch::asm!("div ecx", in("ecx") 0u32, inout("eax") 1u32 => _, inout("edx") 0u32 => _, options(nomem, nostack));
            }
            CrashKind::Ud => core::arch::asm!("ud2", options(nomem, nostack)),
            CrashKind::Breakpoint => core::arch::asm!("int3", options(nomem, nostack)),
            CrashKind::DoubleFault => {
                recurse(0);
            }
            CrashKind::KernelStack => {
                let top = process_kernel_stack();
                report!("crash: recursing on the kernel stack below {top:#x}");
                // Leaves the boot stack for good: the recursion runs off
                // the bottom of the process's stack into its guard page.
                // Interrupts off, as kernel code runs with processes: the
                // overflow is the recursion's own push, not an interrupt
                // frame pushed at a random depth.
                core::arch::asm!(
                    "cli",
                    "mov rsp, {top}",
                    "xor ebp, ebp",
                    "xor edi, edi",
                    "call {recurse}",
                    "ud2",
                    top = in(reg) top,
                    recurse = sym recurse,
                    options(noreturn)
                );
            }
            CrashKind::Panic => panic!("crash=panic requested"),
            CrashKind::Mmio => {
                // The direct map covers the address; no memory is behind it.
                let at = crate::arch::x86_64::layout::direct::<u8>(
                    crate::arch::x86_64::layout::PhysAddr(abi::port::PROBE_MMIO),
                );
                core::arch::asm!("call {0}", in(reg) at, options(noreturn));
            }
            CrashKind::Spin => loop {
                core::arch::asm!("cli", "pause", options(nomem, nostack));
            },
            CrashKind::Hang => loop {
                core::arch::asm!("cli", "hlt", options(nomem, nostack));
            },
            CrashKind::Triple => {
                // After the shutdown the vCPU's registers are reset: leave
                // the VMM the ones from just before.
                let (rip, rsp, rflags, gprs) = crate::dev::debugport::current_registers();
                crate::dev::debugport::record_crash(
                    abi::debug::CrashKind::TripleFault,
                    8,
                    0,
                    rip,
                    rsp,
                    rflags,
                    gprs,
                    crate::proc::current_pid(),
                );
                idt::load_empty();
                core::arch::asm!("ud2", options(nomem, nostack));
            }
        }
    }
    panic!("crash {} did not crash", kind.name());
}

/// The top of a process's kernel stack to overflow: init's (slot 0), or,
/// with no processes (`init=kmon`), a stack mapped for slot 0 now.
fn process_kernel_stack() -> u64 {
    // SAFETY: the kernel is about to crash on purpose; nothing else runs.
    let k = &mut unsafe { crate::proc::Kernel::enter() };
    let top = if k.procs().cap != 0 && k.pcb(0).kstack != 0 {
        k.pcb(0).kstack
    } else {
        let pml4 =
            crate::arch::x86_64::layout::PhysAddr(crate::arch::x86_64::cpu::read_cr3() & !0xFFF);
        crate::mm::kstack::init(pml4);
        crate::mm::kstack::alloc(pml4, 0).expect("no memory for a kernel stack")
    };
    // Below the trap frame, 16-byte aligned.
    (top - 512) & !15
}

/// Recurses until the stack it runs on hits its guard page.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let depth = core::hint::black_box(depth);
    if depth == u64::MAX {
        return 0;
    }
    // black_box keeps the call out of tail position, so LLVM cannot turn
    // the recursion into a loop.
    core::hint::black_box(recurse(depth + 1)).wrapping_add(depth)
}
