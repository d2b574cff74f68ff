//! The process lifecycle: creation (the first process, fork, spawn),
//! exec, exit, wait, kill, suspend/resume, and death by CPU exception.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::pipe::File;
use super::sched::{self, make_runnable, wake};
use super::{Run, Sib, current, lookup, pcb, procs, set_state, state, trap_frame};
use crate::arch::x86_64::switch::{self, FxArea, fxrstor, fxsave};
use crate::arch::x86_64::trap::{self, TrapFrame};
use crate::arch::x86_64::{cpu, gdt};
use crate::dev::poweroff;
use crate::mm::kstack;
use crate::mm::uvm::{self, Space};
use abi::PAGE_SIZE;
use abi::debug::EventKind;
use abi::exit::ExitRequest;
use abi::proc::{Cause, ProcState, SleepReason, WaitStatus};
use abi::sys::errno::*;
use abi::sys::{
    MAX_ARG_BYTES, MAX_ARG_LEN, MAX_ARGS, MAX_PATH, Str, USER_STACK_MAX, USER_STACK_TOP, WNOHANG,
    WUNTRACED,
};
use kernel::image::Image;

/// RFLAGS of a new process: IF and the always-one bit.
const USER_RFLAGS: u64 = 0x202;

/// Takes a free slot, maps its kernel stack and makes it an Embryo child
/// of `parent` whose first switch enters user mode through `trap_return`
/// with the (zeroed) trap frame. `-EAGAIN` when the table is full.
fn alloc_proc(parent: Option<usize>, name: &str) -> Result<usize, i64> {
    let p = procs();
    let slot = match p.free.pop_front(&mut Run) {
        Some(s) => s,
        None if p.hwm < p.cap => {
            p.hwm += 1;
            p.hwm - 1
        }
        None => return Err(-EAGAIN),
    };
    let Some(top) = kstack::alloc(uvm::kernel_pml4(), slot) else {
        p.free.push_back(&mut Run, slot);
        return Err(-ENOMEM);
    };
    let pc = pcb(slot);
    pc.kstack = top;
    pc.info.pid = kernel::procs::pid::make(pc.generation, slot, p.cap);
    pc.info.ppid = parent.map_or(0, |s| pcb(s).info.pid);
    pc.info.start_tick = crate::clock::ticks();
    pc.info.set_name(name);
    pc.fx.set_default();
    (pc.fs_base, pc.gs_base) = (0, 0);
    let tf = trap_frame(slot);
    // SAFETY: the frame lies inside the freshly mapped stack.
    unsafe {
        core::ptr::write_bytes(
            tf as *mut TrapFrame as *mut u8,
            0,
            core::mem::size_of::<TrapFrame>(),
        )
    };
    tf.cs = u64::from(gdt::USER_CS);
    tf.ss = u64::from(gdt::USER_DS);
    tf.rflags = USER_RFLAGS;
    // The first switch "returns" into trap_return with rsp at the frame.
    let ret = (tf as *mut TrapFrame as u64) - 8;
    // SAFETY: just below the frame, inside the stack.
    unsafe { (ret as *mut u64).write(trap::trap_return as *const () as u64) };
    pc.ctx = switch::Context {
        rsp: ret,
        ..Default::default()
    };
    super::trace(slot, EventKind::Create, 0, u64::from(pcb(slot).info.ppid));
    set_state(slot, ProcState::Embryo, SleepReason::None);
    if let Some(par) = parent {
        let mut kids = pcb(par).kids;
        kids.push_back(&mut Sib, slot);
        pcb(par).kids = kids;
    }
    Ok(slot)
}

/// Returns an Embryo or reaped Zombie's slot to the free list: frees its
/// kernel stack, clears the PCB, bumps the generation.
fn free_slot(slot: usize) {
    kstack::free(uvm::kernel_pml4(), slot);
    let generation = pcb(slot).generation.wrapping_add(1);
    let (pid, old) = (pcb(slot).info.pid, pcb(slot).info.state);
    // The clearing is the state change to Unused: inside the debug port's
    // generation bracket (the VMM never sees a half-cleared PCB as valid),
    // and traced with the pid it had.
    crate::dev::debugport::begin_change();
    // SAFETY: the PCB is unreferenced now; all-zero is a valid Unused PCB.
    unsafe {
        cpu::zero_bytes(
            pcb(slot) as *mut super::Pcb as *mut u8,
            core::mem::size_of::<super::Pcb>(),
        )
    };
    pcb(slot).generation = generation;
    crate::dev::debugport::end_change();
    crate::dev::debugport::emit(EventKind::State, pid, old, ProcState::Unused as u32, 0, 0);
    procs().free.push_back(&mut Run, slot);
}

/// Undoes alloc_proc for a child that never ran.
fn abandon(parent: usize, slot: usize) {
    let mut kids = pcb(parent).kids;
    kids.remove(&mut Sib, slot);
    pcb(parent).kids = kids;
    for f in core::mem::replace(&mut pcb(slot).fds, [File::CLOSED; abi::sys::MAX_FDS]) {
        f.close();
    }
    pcb(slot).space = None;
    free_slot(slot);
}

/// The last path component.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Program files in the initrd, indexed as lookups need them: each archive
/// header costs ring-0 time to parse (hundreds of instructions), so the
/// boot's lookup of init parses the headers up to init's, not the whole
/// archive, and a later lookup goes on from there.
struct Files {
    /// The files indexed so far.
    list: Vec<(&'static str, &'static [u8])>,
    /// The headers not yet parsed (None: not started).
    rest: Option<abi::cpio::Entries<'static>>,
}

static FILES: super::KCell<Files> = super::KCell::new(Files {
    list: Vec::new(),
    rest: None,
});

fn find_file(path: &str) -> Option<&'static [u8]> {
    let files = FILES.get();
    let path = abi::cpio::normalize(path);
    if let Some((_, d)) = files.list.iter().find(|(n, _)| *n == path) {
        return Some(*d);
    }
    let rest = files
        .rest
        .get_or_insert_with(|| crate::initrd::archive().entries());
    for e in rest.by_ref().map_while(Result::ok) {
        if e.is_file() {
            files.list.push((e.name, e.data));
            if e.name == path {
                return Some(e.data);
            }
        }
    }
    None
}

/// The file of the program `path` names: a name without a `/` is a
/// program in [`abi::sys::BIN_DIR`], as a shell's PATH would find it.
fn program_file(path: &str) -> Option<&'static [u8]> {
    if path.contains('/') {
        find_file(path)
    } else {
        find_file(&alloc::format!("{}/{path}", abi::sys::BIN_DIR))
    }
}

/// Arguments copied in from user memory.
pub struct Args {
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
}

/// Copies in a path and argument vector (exec, spawn), with the limits:
/// path longer than `MAX_PATH` -> ENAMETOOLONG, more than `MAX_ARGS`
/// arguments, one longer than `MAX_ARG_LEN` or more than `MAX_ARG_BYTES`
/// in all -> E2BIG, bad memory ->
/// EFAULT.
pub fn copy_args(path: u64, path_len: u64, argv: u64, argc: u64) -> Result<Args, i64> {
    if path_len > MAX_PATH as u64 {
        return Err(-ENAMETOOLONG);
    }
    let path = super::syscall::copy_in(path, path_len)?;
    if argc > MAX_ARGS as u64 {
        return Err(-E2BIG);
    }
    let size = core::mem::size_of::<Str>() as u64;
    let raw = super::syscall::copy_in(argv, argc * size)?;
    let mut args = Vec::with_capacity(argc as usize);
    let mut total = 0;
    for rec in raw.chunks_exact(size as usize) {
        let s = Str {
            ptr: u64::from_le_bytes(rec[..8].try_into().unwrap_or_default()),
            len: u64::from_le_bytes(rec[8..].try_into().unwrap_or_default()),
        };
        total += s.len.min(MAX_ARG_BYTES as u64 + 1);
        if s.len > MAX_ARG_LEN as u64 || total > MAX_ARG_BYTES as u64 {
            return Err(-E2BIG);
        }
        args.push(super::syscall::copy_in(s.ptr, s.len)?);
    }
    Ok(Args { path, argv: args })
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
/// stack: the strings, below them the array of [`Str`], `rsp` = the
/// array (16-byte aligned).
fn load(args: &Args) -> Result<Loaded, i64> {
    let path = core::str::from_utf8(&args.path).map_err(|_| -ENOENT)?;
    let file = program_file(path).ok_or(-ENOENT)?;
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

fn set_space(slot: usize, space: Box<Space>) {
    let pc = pcb(slot);
    pc.info.brk = space.brk;
    pc.info.mem_bytes = space.mem_bytes();
    pc.space = Some(space);
}

/// Records that `slot` now runs the program its name says (exec, and the
/// program half of spawn): the event carries the name's first 8 bytes.
fn trace_exec(slot: usize) {
    let name = pcb(slot).info.name().as_bytes();
    let mut short = [0u8; 8];
    let n = name.len().min(8);
    short[..n].copy_from_slice(&name[..n]);
    super::trace(slot, EventKind::Exec, 0, u64::from_le_bytes(short));
}

/// Starts the first process (pid 1) running `path` with `argv`.
pub fn start_init(path: &str, argv: &[alloc::string::String]) -> Result<(), i64> {
    let args = Args {
        path: path.as_bytes().to_vec(),
        argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
    };
    let l = load(&args)?;
    let slot = alloc_proc(None, basename(path))?;
    trace_exec(slot);
    enter(trap_frame(slot), &l);
    set_space(slot, l.space);
    pcb(slot).fds[..3].copy_from_slice(&[File::CONSOLE; 3]);
    make_runnable(slot);
    Ok(())
}

/// `spawn`: a new child running the program, inheriting the fds.
pub fn spawn(args: &Args) -> i64 {
    let me = current();
    let l = match load(args) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let path = core::str::from_utf8(&args.path).unwrap_or("?");
    let slot = match alloc_proc(Some(me), basename(path)) {
        Ok(s) => s,
        Err(e) => return e,
    };
    trace_exec(slot);
    enter(trap_frame(slot), &l);
    set_space(slot, l.space);
    for i in 0..abi::sys::MAX_FDS {
        pcb(slot).fds[i] = pcb(me).fds[i].dup();
    }
    make_runnable(slot);
    i64::from(pcb(slot).info.pid)
}

/// `exec`: replaces the current program. Returns only on error.
pub fn exec(args: &Args, tf: &mut TrapFrame) -> i64 {
    let me = current();
    let l = match load(args) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let p = procs();
    // SAFETY: the new PML4 maps the kernel half.
    unsafe { switch::write_cr3(l.space.pml4.0) };
    p.cr3 = l.space.pml4.0;
    enter(tf, &l);
    set_space(me, l.space);
    let path = core::str::from_utf8(&args.path).unwrap_or("?");
    pcb(me).info.set_name(basename(path));
    trace_exec(me);
    let mut fresh = FxArea([0; 512]);
    fresh.set_default();
    fxrstor(&fresh);
    cpu::set_user_bases(0, 0);
    0
}

/// `fork`: a copy of the current process; 0 in the child.
pub fn fork(tf: &TrapFrame) -> i64 {
    let me = current();
    let name = pcb(me).info;
    let slot = match alloc_proc(Some(me), name.name()) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let Some(space) = pcb(me).space.as_ref().and_then(|s| s.duplicate()) else {
        abandon(me, slot);
        return -ENOMEM;
    };
    set_space(slot, space);
    for i in 0..abi::sys::MAX_FDS {
        pcb(slot).fds[i] = pcb(me).fds[i].dup();
    }
    fxsave(&mut pcb(slot).fx);
    (pcb(slot).fs_base, pcb(slot).gs_base) = cpu::user_bases();
    let child_tf = trap_frame(slot);
    *child_tf = *tf;
    child_tf.rax = 0;
    make_runnable(slot);
    i64::from(pcb(slot).info.pid)
}

/// Ends the current process with `status`: closes its files, frees its
/// memory, hands its children to init, becomes a Zombie for its parent.
/// When init ends, the machine powers off.
pub fn exit(status: WaitStatus) -> ! {
    let me = current();
    let p = procs();
    let pc = pcb(me);
    if pc.info.pid == 1 {
        let code = match status.code() {
            Some(c) => c,
            None => {
                println!("init ended: {}", status.cause().describe());
                128 + status.cause() as u8
            }
        };
        poweroff::exit(ExitRequest::PowerOff(code));
    }
    for f in core::mem::replace(&mut pc.fds, [File::CLOSED; abi::sys::MAX_FDS]) {
        f.close();
    }
    let kernel = uvm::kernel_pml4().0;
    if p.cr3 != kernel {
        // SAFETY: the kernel PML4 maps the kernel half (and this stack).
        unsafe { switch::write_cr3(kernel) };
        p.cr3 = kernel;
    }
    pcb(me).space = None;
    if p.fpu_owner == Some(me) {
        p.fpu_owner = None;
    }
    // Children go to init (slot 0 holds pid 1 for good).
    let init = 0;
    let mut kids = pcb(me).kids;
    let mut init_kids = pcb(init).kids;
    let mut init_zombies = pcb(init).zombies;
    let mut zombies = pcb(me).zombies;
    let mut orphaned_zombie = false;
    while let Some(k) = kids.pop_front(&mut Sib) {
        pcb(k).info.ppid = 1;
        init_kids.push_back(&mut Sib, k);
        if state(k) == ProcState::Zombie {
            zombies.remove(&mut Run, k);
            init_zombies.push_back(&mut Run, k);
            orphaned_zombie = true;
        }
    }
    pcb(me).kids = kids;
    pcb(me).zombies = zombies;
    pcb(init).kids = init_kids;
    pcb(init).zombies = init_zombies;
    if orphaned_zombie && is_waiting(init) {
        wake(init);
    }
    super::trace(me, EventKind::Exit, 0, status.0 as u32 as u64);
    let pc = pcb(me);
    pc.info.exit_status = status.0;
    pc.info.mem_bytes = 0;
    set_state(me, ProcState::Zombie, SleepReason::None);
    if let Some(parent) = lookup(i64::from(pc.info.ppid)) {
        let mut z = pcb(parent).zombies;
        z.push_back(&mut Run, me);
        pcb(parent).zombies = z;
        if is_waiting(parent) {
            wake(parent);
        }
    }
    sched::schedule();
    unreachable!("a zombie ran again");
}

/// Whether `slot` sleeps in `waitpid`, or was suspended there (then
/// [`wake`] ends its wait: it stays Stopped, and `resume` makes it
/// runnable, so it finds the zombie; without the wake it went back to
/// sleep on resume, with no one left to wake it).
fn is_waiting(slot: usize) -> bool {
    match state(slot) {
        ProcState::Sleeping => pcb(slot).info.reason == SleepReason::Wait as u32,
        ProcState::Stopped => pcb(slot).stopped_sleep == SleepReason::Wait,
        _ => false,
    }
}

/// Frees a zombie child of `parent`: returns its pid and status.
fn reap(parent: usize, child: usize) -> (u32, i32) {
    let (pid, status) = (pcb(child).info.pid, pcb(child).info.exit_status);
    let mut z = pcb(parent).zombies;
    z.remove(&mut Run, child);
    pcb(parent).zombies = z;
    let mut k = pcb(parent).kids;
    k.remove(&mut Sib, child);
    pcb(parent).kids = k;
    free_slot(child);
    (pid, status)
}

/// `waitpid(pid or -1, status, flags)`.
pub fn waitpid(pid: i64, status_ptr: u64, flags: u64) -> i64 {
    let me = current();
    if status_ptr != 0 && !super::syscall::check(status_ptr, 4, true) {
        return -EFAULT;
    }
    if pid == 0 || pid < -1 {
        return -EINVAL;
    }
    let untraced = flags & WUNTRACED != 0;
    loop {
        let (found, stopped) = if pid == -1 {
            if pcb(me).kids.is_empty() {
                return -ECHILD;
            }
            let stopped = untraced.then(|| first_unreported_stop(me)).flatten();
            (pcb(me).zombies.front(), stopped)
        } else {
            match lookup(pid) {
                Some(c) if pcb(c).info.ppid == pcb(me).info.pid => (
                    (state(c) == ProcState::Zombie).then_some(c),
                    (untraced && pcb(c).stop_unreported).then_some(c),
                ),
                _ => return -ECHILD,
            }
        };
        let report = match (found, stopped) {
            (Some(c), _) => Some(reap(me, c)),
            (None, Some(c)) => {
                pcb(c).stop_unreported = false;
                Some((pcb(c).info.pid, WaitStatus::stopped().0))
            }
            (None, None) => None,
        };
        if let Some((cpid, status)) = report {
            if status_ptr != 0 {
                // SAFETY: checked writable user memory of this process.
                unsafe { (status_ptr as *mut i32).write_unaligned(status) };
            }
            return i64::from(cpid);
        }
        if flags & WNOHANG != 0 {
            return 0;
        }
        if pcb(me).info.killed != 0 {
            return -ECHILD;
        }
        sched::sleep(SleepReason::Wait, core::ptr::null_mut());
    }
}

/// A child of `parent` whose stop no `waitpid` has reported yet.
fn first_unreported_stop(parent: usize) -> Option<usize> {
    let kids = pcb(parent).kids;
    let mut at = kids.front();
    while let Some(k) = at {
        if pcb(k).stop_unreported {
            return Some(k);
        }
        at = kids.next(&mut Sib, k);
    }
    None
}

/// The slot of a pid the process API may act on: EINVAL for `pid <= 0`,
/// ESRCH if missing (or a zombie), EPERM for init.
fn target(pid: i64) -> Result<usize, i64> {
    if pid <= 0 {
        return Err(-EINVAL);
    }
    let slot = lookup(pid).ok_or(-ESRCH)?;
    if state(slot) == ProcState::Zombie {
        return Err(-ESRCH);
    }
    if pid == 1 {
        return Err(-EPERM);
    }
    Ok(slot)
}

/// `kill(pid)`: marks it killed; a sleeping or stopped victim is woken so
/// it dies at once (on its way back to user mode).
pub fn kill(pid: i64) -> i64 {
    let slot = match target(pid) {
        Ok(s) => s,
        Err(e) => return e,
    };
    super::trace(slot, EventKind::Kill, 0, 0);
    let pc = pcb(slot);
    pc.info.killed = 1;
    match state(slot) {
        ProcState::Sleeping => wake(slot),
        ProcState::Stopped => {
            // Off any wait list it was suspended on, then let it run to die.
            sched::leave_wait_list(slot);
            pcb(slot).stopped_sleep = SleepReason::None;
            make_runnable(slot);
        }
        _ => {}
    }
    0
}

/// `suspend(pid)`: Stopped until resumed. A sleeper is Stopped at once and
/// stays on its wait list; if its event comes meanwhile, `resume` finds it
/// runnable, else asleep again. A killed process is not stopped: the kill
/// wins (stopped, it would never run to die).
pub fn suspend(pid: i64) -> i64 {
    let slot = match target(pid) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if pcb(slot).info.killed != 0 {
        return 0;
    }
    super::trace(slot, EventKind::Suspend, 0, 0);
    if state(slot) != ProcState::Stopped {
        pcb(slot).stop_unreported = true;
        if let Some(parent) = lookup(i64::from(pcb(slot).info.ppid))
            && is_waiting(parent)
        {
            wake(parent);
        }
    }
    match state(slot) {
        ProcState::Runnable => {
            procs().runq.remove(&mut Run, slot);
            set_state(slot, ProcState::Stopped, SleepReason::None);
        }
        ProcState::Running => {
            set_state(slot, ProcState::Stopped, SleepReason::None);
            pcb(slot).info.voluntary_switches += 1;
            sched::schedule();
        }
        ProcState::Sleeping => {
            let reason = SleepReason::from_raw(pcb(slot).info.reason).unwrap_or(SleepReason::Io);
            pcb(slot).stopped_sleep = reason;
            set_state(slot, ProcState::Stopped, SleepReason::None);
        }
        _ => {}
    }
    0
}

/// `resume(pid)`.
pub fn resume(pid: i64) -> i64 {
    let slot = match target(pid) {
        Ok(s) => s,
        Err(e) => return e,
    };
    super::trace(slot, EventKind::Resume, 0, 0);
    pcb(slot).stop_unreported = false;
    if state(slot) == ProcState::Stopped {
        match core::mem::replace(&mut pcb(slot).stopped_sleep, SleepReason::None) {
            SleepReason::None => make_runnable(slot),
            // Still waiting for its event, on its wait list: asleep again.
            reason => set_state(slot, ProcState::Sleeping, reason),
        }
    }
    0
}

/// Ends the current process for a fault: records it, prints one line.
pub fn die(cause: Cause, addr: Option<u64>, rip: u64) -> ! {
    let me = current();
    let info = &mut pcb(me).info;
    info.fault_addr = addr.unwrap_or(0);
    info.fault_rip = rip;
    super::trace(me, EventKind::Fault, cause as u32, addr.unwrap_or(rip));
    let info = &mut pcb(me).info;
    match addr {
        Some(a) => println!(
            "pid {} ({}): {} at {a:#x}, rip {rip:#x}: killed",
            info.pid,
            info.name(),
            cause.describe()
        ),
        None => println!(
            "pid {} ({}): {}, rip {rip:#x}: killed",
            info.pid,
            info.name(),
            cause.describe()
        ),
    }
    exit(WaitStatus::ended_by(cause))
}

/// An exception from ring 3: a page fault the address space can satisfy
/// (lazy loading, heap, stack) is served; anything else kills the process.
pub fn user_fault(tf: &mut TrapFrame) {
    let me = current();
    let cause = match tf.vector as u8 {
        14 => {
            let addr = cpu::read_cr2();
            let (write, fetch) = (tf.error & 2 != 0, tf.error & 16 != 0);
            let r = match pcb(me).space.as_mut() {
                Some(s) if tf.error & 1 == 0 => s.fault_in(addr, write, fetch),
                _ => Err(Cause::PageFault),
            };
            match r {
                Ok(()) => {
                    let pc = pcb(me);
                    pc.info.page_faults += 1;
                    pc.info.mem_bytes += PAGE_SIZE;
                    return;
                }
                Err(cause) => die(cause, Some(addr), tf.rip),
            }
        }
        0 => Cause::DivideError,
        6 => Cause::InvalidOpcode,
        13 => Cause::GeneralProtection,
        12 => Cause::GeneralProtection,
        3 => Cause::Breakpoint,
        _ => Cause::OtherFault,
    };
    die(cause, None, tf.rip)
}

/// Runs before every return to ring 3: a killed process dies here.
pub fn before_user_return() {
    if let Some(me) = procs().current
        && pcb(me).info.killed != 0
    {
        exit(WaitStatus::ended_by(Cause::Killed));
    }
}

/// Carries out a command the VMM posted in the debug port's mailbox (host
/// `vmm ctl kill/stop/cont`); called at the end of every full trap, after
/// the EOI, so a stop of the interrupted process is an ordinary preemption.
pub fn host_command() {
    let Some((cmd, pid, seq)) = crate::dev::debugport::pending_command() else {
        return;
    };
    let pid = i64::from(pid);
    let result = match cmd {
        abi::debug::Command::Kill => kill(pid),
        // Stopping the interrupted process switches away inside `suspend`
        // and comes back only when it is resumed: report first.
        abi::debug::Command::Stop if super::current_pid() == pid as u64 => match target(pid) {
            Ok(_) => {
                crate::dev::debugport::complete_command(seq, 0);
                suspend(pid);
                return;
            }
            Err(e) => e,
        },
        abi::debug::Command::Stop => suspend(pid),
        abi::debug::Command::Cont => resume(pid),
        abi::debug::Command::None => -EINVAL,
    };
    crate::dev::debugport::complete_command(seq, result);
}
