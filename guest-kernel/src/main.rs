//! The guest kernel.
//!
//! Booted over PVH (see [`boot`]); [`kmain`] brings up, in order: the GDT
//! and IDT (so every fault from then on is reported), the consoles, the
//! start info, physical memory, interrupt controllers and the calibrated
//! timer, then runs the kernel monitor ([`kmon`]) on the serial console.
//!
//! Ring 0 may be emulated instruction by instruction (README, "The
//! platform"): boot does no loop over memory and logs little unless
//! `verbose` is given.
#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
mod log;
mod arch;
mod console;
mod crash;
mod dev;
mod fs;
mod kmon;
mod mm;
mod proc;
mod sync;
mod syscall;
mod time;
mod trap;

use abi::cmdline::{self, Cmdline};
use abi::exit::ExitRequest;
use arch::x86_64::{boot, cpu, gdt, idt, ioapic, lapic, pic, vectors};
use dev::{debugcon, poweroff};
use fs::initrd;
use logic::kmon::command::CrashKind;
use logic::log::hex::Hex;
use logic::mm::memmap::Range;
use logic::time::units::{self, Millis};

/// The Rust entry point, called by the boot stub
/// ([`arch::x86_64::boot`], by this symbol name) on the boot stack with
/// interrupts off and the physical address of the PVH start info.
#[unsafe(no_mangle)]
extern "C" fn kmain(start_info: u64) -> ! {
    let boot_tsc = cpu::rdtsc();
    let mut stages = Stages::new(boot_tsc);
    gdt::init();
    idt::init();
    stages.mark("gdt+idt");
    debugcon::init();
    console::init();
    stages.mark("consoles");

    let info = boot::parse(start_info);
    if let Some(at) = info.cmdline_bad_at {
        log!("kernel: warning: command line is not UTF-8 after byte {at}");
    }
    stages.mark("start info");
    // Words after a standalone `--` are init's arguments, not options.
    let (kernel_words, init_args) = split_init_args(info.cmdline);
    let args = Cmdline::new(kernel_words);
    log::set_verbose(args.has(cmdline::VERBOSE));
    mm::frame::set_scrub(args.has(cmdline::SCRUB));
    console::set_terminal(args.has(cmdline::TTY));
    vlog!("kernel: command line '{}'", info.cmdline);

    // Physical memory: everything below the end of the kernel image (BIOS
    // area, loader structures, the image) and the initrd are off limits.
    let kernel = Range {
        start: 0,
        end: boot::kernel_end_phys().0,
    };
    let initrd = info.initrd.unwrap_or_default();
    // RAM as the machine was given it: the end of the highest RAM range.
    let ram_mib = info
        .ram()
        .map(|r| r.end)
        .max()
        .unwrap_or(0)
        .div_ceil(1 << 20);
    let dropped = mm::frame::init(info.ram(), &[kernel, initrd]);
    if log::verbose() {
        for e in info.memmap {
            log!(
                "e820: {}..{} type {}",
                Hex::width(e.addr, 10),
                Hex::width(e.addr + e.size, 10),
                e.kind
            );
        }
        let (ranges, n) = mm::frame::ranges();
        for r in &ranges[..n] {
            log!(
                "frames: {}..{}",
                Hex::width(r.start, 10),
                Hex::width(r.end, 10)
            );
        }
    }
    stages.mark("frames");
    if dropped > 0 {
        report!("kernel: warning: {dropped} bytes of RAM ignored (too many ranges)");
    }

    // The initrd is only checked for the newc magic here: parsing every
    // header would be hundreds of ring-0 instructions per file. kmon's
    // `ls` validates it all.
    let initrd_kib = match info.initrd {
        Some(range) if initrd::init(range) => {
            if !initrd::bytes().starts_with(abi::cpio::MAGIC) {
                report!("kernel: warning: the initrd is not a cpio newc archive");
            }
            range.len().div_ceil(1024)
        }
        Some(range) => {
            report!(
                "kernel: warning: initrd at {:#x} is beyond the direct map, ignored",
                range.start
            );
            0
        }
        None => 0,
    };
    stages.mark("initrd");

    let options = Options::parse(&args);
    stages.mark("command line");

    // Interrupts: LAPIC and IOAPIC only; COM1 to this CPU.
    pic::mask_all();
    lapic::init();
    ioapic::route_isa(abi::port::COM1_IRQ, vectors::SERIAL_VECTOR, lapic::id());
    stages.mark("apics");
    let cal = lapic::calibrate();
    stages.mark("calibration");
    if cal.source == lapic::Source::Guess {
        report!("kernel: warning: no PIT answered; timer rates are guesses");
    }
    let hz = options.hz;
    let count = time::start(&cal, hz);
    vlog!(
        "ioapic: {} pins; lapic id {}; guard page {} unmapped: {}",
        ioapic::pins(),
        lapic::id(),
        Hex::min(boot::stack_guard().start),
        mm::paging::translate(boot::stack_guard().start).is_none()
    );
    // SAFETY: the IDT, LAPIC, IOAPIC and UART are set up.
    unsafe { cpu::enable_interrupts() };
    stages.mark("timer");

    let (free, _) = mm::frame::stats();
    let boot_us = units::tsc_to_us(cpu::rdtsc() - boot_tsc, cal.tsc_khz);
    println!(
        "kernel: {ram_mib} MiB RAM ({} MiB free), {hz} Hz timer, initrd {initrd_kib} KiB, booted in {} ms",
        (free * abi::PAGE_SIZE) >> 20,
        Millis(boot_us)
    );
    stages.mark("banner");
    // One line for the log: each line is a VM exit per byte or so.
    log!(
        "kernel: ABI v{}, TSC {} kHz, LAPIC timer {} Hz/16 ({}), count {count} for {hz} Hz, booted in {} ms",
        abi::ABI_VERSION,
        cal.tsc_khz,
        cal.lapic_hz,
        cal.source.name(),
        Millis(boot_us)
    );
    if log::verbose() {
        stages.log(cal.tsc_khz);
    }

    dev::debugport::register(
        hz,
        cal.tsc_khz,
        boot_tsc,
        options.trace,
        options.garbage_debugport,
    );
    if options.init == cmdline::INIT_KMON {
        if let Some(kind) = options.crash {
            kmon::crash(kind);
        }
        kmon::run()
    }
    start_processes(&options, init_args)
}

/// Splits the command line at a standalone `--`: (kernel words, init's
/// arguments).
fn split_init_args(line: &str) -> (&str, &str) {
    let mut at = 0;
    for word in line.split_ascii_whitespace() {
        // Words are subslices of line: their offsets are exact.
        let start = word.as_ptr() as usize - line.as_ptr() as usize;
        if word == cmdline::ARGS {
            return (&line[..start], &line[start + word.len()..]);
        }
        at = start + word.len();
    }
    (&line[..at], "")
}

/// Sets up the process table and the system-call stub, starts init (pid
/// 1), and becomes the idle loop.
fn start_processes(options: &Options, init_args: &str) -> ! {
    cpu::disable_interrupts();
    let kernel_pml4 = arch::x86_64::layout::PhysAddr(cpu::read_cr3() & !0xFFF);
    mm::kstack::init(kernel_pml4);
    let stub = if options.syscall_insn {
        arch::x86_64::syscall::enable_syscall();
        arch::x86_64::syscall::STUB_SYSCALL
    } else {
        arch::x86_64::syscall::STUB_INT3
    };
    mm::uvm::init(kernel_pml4, stub, &arch::x86_64::syscall::TRAMPOLINE);
    // SAFETY: boot, interrupts off; the token is dropped before the idle
    // loop takes its own.
    let k = &mut unsafe { proc::Kernel::enter() };
    k.init(options.nproc as usize, options.quantum, options.hz);
    console::set_cooked();
    dev::debugport::mark_sched_start();
    let name = options.init.rsplit('/').next().unwrap_or(options.init);
    let mut argv = alloc::vec![alloc::string::String::from(name)];
    argv.extend(cmdline::args(init_args).map(|w| cmdline::unquote(w).collect()));
    if let Err(e) = proc::exec::start_init(k, options.init, &argv) {
        let looked_in = if options.init.contains('/') {
            ""
        } else {
            abi::sys::BIN_DIR
        };
        report!(
            "kernel: cannot start init {}{}{}: {}",
            looked_in,
            if looked_in.is_empty() { "" } else { "/" },
            options.init,
            abi::sys::errno::describe(-e)
        );
        poweroff::exit(ExitRequest::PowerOff(127));
    }
    // With processes, a deliberate crash comes once init exists, so the
    // post-mortem has a table to show.
    if let Some(kind) = options.crash {
        kmon::crash(kind);
    }
    proc::sched::idle_loop()
}

/// What the command line asks for.
struct Options {
    hz: u32,
    crash: Option<CrashKind>,
    nproc: u32,
    quantum: u32,
    init: &'static str,
    /// Enter system calls with the `syscall` instruction, not `int3`.
    syscall_insn: bool,
    trace: bool,
    garbage_debugport: bool,
}

impl Options {
    /// Reads the command line in one pass (each word costs where ring 0
    /// is emulated), warning about what it cannot use. As with
    /// [`Cmdline::get`], the last of repeated keys wins.
    fn parse(args: &Cmdline<'static>) -> Self {
        let mut hz = None;
        let mut crash = None;
        let mut nproc = cmdline::DEFAULT_NPROC;
        let mut quantum = cmdline::DEFAULT_QUANTUM;
        let mut init = cmdline::DEFAULT_INIT;
        let mut trace = true;
        let mut garbage_debugport = false;
        let mut syscall_insn = false;
        for (key, value) in args.words() {
            match key {
                cmdline::HZ => hz = Some(value.unwrap_or("")),
                cmdline::CRASH => crash = Some(value.unwrap_or("")),
                cmdline::VERBOSE => {}
                cmdline::SCRUB => {}
                cmdline::TTY => {}
                cmdline::TRACE => trace = value != Some("off"),
                cmdline::DEBUGPORT => garbage_debugport = value == Some("garbage"),
                cmdline::SYSCALL => match value {
                    Some(cmdline::SYSCALL_INSN) => syscall_insn = true,
                    Some(cmdline::SYSCALL_INT3) => syscall_insn = false,
                    _ => report!(
                        "kernel: warning: syscall={} is neither {} nor {}; using {}",
                        value.unwrap_or(""),
                        cmdline::SYSCALL_INT3,
                        cmdline::SYSCALL_INSN,
                        cmdline::SYSCALL_INT3
                    ),
                },
                cmdline::INIT => init = value.unwrap_or(cmdline::DEFAULT_INIT),
                cmdline::NPROC => match value.map(str::parse::<u32>) {
                    Some(Ok(n)) if (1..=cmdline::MAX_NPROC).contains(&n) => nproc = n,
                    _ => report!(
                        "kernel: warning: nproc={} is not a count from 1 to {}; using {}",
                        value.unwrap_or(""),
                        cmdline::MAX_NPROC,
                        cmdline::DEFAULT_NPROC
                    ),
                },
                cmdline::QUANTUM => match value.map(str::parse::<u32>) {
                    Some(Ok(n)) if n >= 1 => quantum = n,
                    _ => report!(
                        "kernel: warning: quantum={} is not a number of ticks; using {}",
                        value.unwrap_or(""),
                        cmdline::DEFAULT_QUANTUM
                    ),
                },
                _ => report!("kernel: warning: unknown command line key '{key}'"),
            }
        }
        let hz = match units::choose_hz(hz.map(str::parse).transpose().map_err(|_| "")) {
            Ok(hz) => hz,
            Err(default) => {
                report!(
                    "kernel: warning: hz={} is not a rate from {} to {}; using {default}",
                    hz.unwrap_or(""),
                    cmdline::MIN_HZ,
                    cmdline::MAX_HZ
                );
                default
            }
        };
        let crash = crash.and_then(|name| {
            let kind = CrashKind::from_name(name);
            if kind.is_none() {
                report!("kernel: warning: unknown crash kind '{name}'");
            }
            kind
        });
        Options {
            hz,
            crash,
            nproc,
            quantum,
            init,
            syscall_insn,
            trace,
            garbage_debugport,
        }
    }
}

/// TSC stamps of the boot stages, for the `verbose` log: where ring 0 is
/// emulated it is worth seeing where boot time goes.
struct Stages {
    last: u64,
    marks: [(&'static str, u64); 12],
    n: usize,
}

impl Stages {
    fn new(start: u64) -> Self {
        Stages {
            last: start,
            marks: [("", 0); 12],
            n: 0,
        }
    }

    fn mark(&mut self, name: &'static str) {
        let now = cpu::rdtsc();
        if let Some(slot) = self.marks.get_mut(self.n) {
            *slot = (name, now - self.last);
            self.n += 1;
        }
        self.last = now;
    }

    fn log(&self, tsc_khz: u64) {
        for (name, cycles) in &self.marks[..self.n] {
            log!(
                "boot: {name}: {} ms",
                Millis(units::tsc_to_us(*cycles, tsc_khz))
            );
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    static PANICKING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    cpu::disable_interrupts();
    {
        use dev::debugport;
        let (rip, rsp, rflags, gprs) = debugport::current_registers();
        debugport::set_message(format_args!("{}", info.message()));
        let pid = proc::current_pid();
        debugport::record_crash(
            abi::debug::CrashKind::Panic,
            0,
            0,
            rip,
            rsp,
            rflags,
            gprs,
            pid,
        );
    }
    if !PANICKING.swap(true, core::sync::atomic::Ordering::Relaxed) {
        match info.location() {
            Some(at) => report!(
                "KERNEL PANIC: {} at {}:{}",
                info.message(),
                at.file(),
                at.line()
            ),
            None => report!("KERNEL PANIC: {}", info.message()),
        }
    }
    poweroff::exit(ExitRequest::Panic)
}
