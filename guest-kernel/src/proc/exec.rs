//! Running a program: finding it, building its address space with the
//! arguments on its stack, and pointing a trap frame at its entry: for the
//! first process, `spawn` (a new child) and `exec` (in place).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::life::{USER_RFLAGS, alloc_proc, inherit};
use super::sched::make_runnable;
use super::{Kernel, Pcb};
use crate::arch::x86_64::cpu;
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::switch::{self, FxArea, fxrstor};
use crate::fs::vfs;
use crate::mm::uvm::Space;
use abi::debug::EventKind;
use abi::proc::Pid;
use abi::signal::{SIG_DFL, SIG_IGN, SigSet};
use abi::sys::errno::*;
use abi::sys::{USER_STACK_MAX, USER_STACK_TOP};
use logic::mm::image::Image;

/// The last path component.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A program to run and its arguments, copied into the kernel.
pub struct Args {
    /// The program's path ([`crate::fs::vfs::program`] finds it).
    pub path: Vec<u8>,
    /// The argument vector, `argv[0]` first.
    pub argv: Vec<Vec<u8>>,
}

/// A loaded program: its address space and where it starts.
struct Loaded {
    space: Box<Space>,
    entry: u64,
    rsp: u64,
    argc: u64,
    argv: u64,
}

/// Finds and checks the program and builds its address space: segments
/// recorded (not loaded), the argument block written at the top of the
/// stack: the strings, below them the array of [`abi::sys::Str`], `rsp` = the
/// array (16-byte aligned).
fn load(args: &Args, cwd: crate::fs::tree::Id) -> Result<Loaded, i64> {
    let path = core::str::from_utf8(&args.path).map_err(|_| -ENOENT)?;
    let file = vfs::program(cwd, path)?;
    let image = Image::parse(file).map_err(|_| -ENOEXEC)?;
    let mut space = Space::new(&image, file).ok_or(-ENOMEM)?;
    let strings: u64 = args.argv.iter().map(|a| a.len() as u64).sum();
    let n = args.argv.len() as u64;
    let str_at = USER_STACK_TOP - strings;
    let argv_at = (str_at - n * 16) & !15;
    if USER_STACK_TOP - argv_at > USER_STACK_MAX / 2 {
        return Err(-E2BIG);
    }
    // The array, then the strings (the gap between is zero: fresh stack
    // pages). Written piece by piece: one block could be 9 KiB, a heap
    // allocation of contiguous frames, which may not exist.
    let mut array = Vec::with_capacity(args.argv.len() * 16);
    let mut ptr = str_at;
    for a in &args.argv {
        array.extend_from_slice(&ptr.to_le_bytes());
        array.extend_from_slice(&(a.len() as u64).to_le_bytes());
        ptr += a.len() as u64;
    }
    let mut ok = space.write(argv_at, &array);
    let mut at = str_at;
    for a in &args.argv {
        ok = ok && space.write(at, a);
        at += a.len() as u64;
    }
    if !ok {
        return Err(-ENOMEM);
    }
    Ok(Loaded {
        space,
        entry: image.entry,
        rsp: argv_at,
        argc: n,
        argv: argv_at,
    })
}

/// Points a trap frame at a loaded program's entry.
fn enter(tf: &mut TrapFrame, l: &Loaded) {
    let (cs, ss) = (tf.cs, tf.ss);
    // SAFETY: TrapFrame is plain integers.
    unsafe { core::ptr::write_bytes(tf as *mut TrapFrame, 0, 1) };
    tf.cs = cs;
    tf.ss = ss;
    tf.rflags = USER_RFLAGS;
    tf.rip = l.entry;
    tf.rsp = l.rsp;
    tf.rdi = l.argc;
    tf.rsi = l.argv;
}

/// Records that `slot` now runs the program its name says (exec, and the
/// program half of spawn): the event carries the name's first 8 bytes.
fn trace_exec(k: &mut Kernel, slot: usize) {
    let name = k.pcb(slot).info.name().as_bytes();
    let mut short = [0u8; 8];
    let n = name.len().min(8);
    short[..n].copy_from_slice(&name[..n]);
    k.trace(slot, EventKind::Exec, 0, u64::from_le_bytes(short));
}

/// Starts the first process (pid 1) running `path` with `argv`.
pub fn start_init(k: &mut Kernel, path: &str, argv: &[alloc::string::String]) -> Result<(), i64> {
    let args = Args {
        path: path.as_bytes().to_vec(),
        argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
    };
    let l = load(&args, crate::fs::tree::ROOT)?;
    let slot = alloc_proc(k, None, basename(path))?;
    trace_exec(k, slot);
    enter(k.trap_frame(slot), &l);
    k.set_space(slot, l.space);
    k.console_files(slot);
    make_runnable(k, slot);
    Ok(())
}

/// A new program keeps the signals its predecessor ignored, but not its
/// handlers (their code is gone): caught signals go back to the default.
fn reset_handlers(pcb: &mut Pcb) {
    if pcb.info.sig_caught.0 == 0 {
        return;
    }
    for (sig, h) in pcb.sig_handlers.iter_mut().enumerate() {
        if *h > SIG_IGN {
            *h = SIG_DFL;
            pcb.sig_set.0 &= !SigSet::of(sig as u32).0;
        }
    }
    pcb.info.sig_caught = SigSet::EMPTY;
}

/// `spawn`: a new child running the program, inheriting the fds, with
/// every signal at its default and none blocked (as a shell sets a child
/// up between fork and exec), in process group `group` (`None`: a new one
/// it leads; the caller checked that the group has a live member).
pub fn spawn(k: &mut Kernel, args: &Args, group: Option<Pid>) -> i64 {
    let me = k.current();
    let cwd = k.pcb(me).cwd;
    let l = match load(args, cwd) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let path = core::str::from_utf8(&args.path).unwrap_or("?");
    let slot = match alloc_proc(k, Some(me), basename(path)) {
        Ok(s) => s,
        Err(e) => return e,
    };
    trace_exec(k, slot);
    enter(k.trap_frame(slot), &l);
    k.set_space(slot, l.space);
    inherit(k, me, slot, false);
    let c = k.pcb(slot);
    let pgid = group.unwrap_or(c.info.pid);
    if pgid != c.info.pgid {
        c.info.pgid = pgid;
        k.trace(slot, EventKind::Group, 0, pgid.arg());
    }
    make_runnable(k, slot);
    i64::from(k.pcb(slot).info.pid.get())
}

/// `exec`: replaces the current program (fds marked close-on-exec are
/// closed). Returns only on error.
pub fn exec(k: &mut Kernel, args: &Args, tf: &mut TrapFrame) -> i64 {
    let me = k.current();
    let cwd = k.pcb(me).cwd;
    let l = match load(args, cwd) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let p = k.procs();
    // SAFETY: the new PML4 maps the kernel half.
    unsafe { switch::write_cr3(l.space.pml4.0) };
    p.cr3 = l.space.pml4.0;
    enter(tf, &l);
    k.set_space(me, l.space);
    let path = core::str::from_utf8(&args.path).unwrap_or("?");
    k.pcb(me).info.set_name(basename(path));
    reset_handlers(k.me());
    k.close_fds(me, true);
    trace_exec(k, me);
    let mut fresh = FxArea([0; 512]);
    fresh.set_default();
    fxrstor(&fresh);
    cpu::set_user_bases(0, 0);
    0
}
