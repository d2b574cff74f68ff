//! The PCB table: the [`Pcb`] record, the subsystem's globals ([`Procs`]),
//! and the one function every state change goes through ([`set_state`]).

use alloc::boxed::Box;
use core::marker::PhantomData;

use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::switch::{Context, FxArea};
use crate::fs::file::File;
use crate::mm::uvm::Space;
use crate::sync::KCell;
use abi::proc::{Pid, ProcInfo, ProcState, SleepReason};
use abi::sys::MAX_FDS;
use logic::sync::list::{Link, Links, List};

/// A process control block. All-zero is a valid Unused slot.
#[repr(C, align(64))]
pub struct Pcb {
    /// What `procinfo` and the VMM see; first, at offset 0.
    pub info: ProcInfo,
    /// The user FPU/SSE state while the process does not own the FPU.
    pub fx: FxArea,
    /// User FS and GS bases (a program may set them with `wrfsbase` where
    /// the CPU allows it); saved and loaded with the FPU state.
    pub fs_base: u64,
    /// See `fs_base`.
    pub gs_base: u64,
    /// Saved kernel registers while not running.
    pub ctx: Context,
    /// Run queue / timer list / wait queue / zombie list / free list.
    pub run: Link,
    /// Position in the parent's `kids`.
    pub sib: Link,
    /// Children (live and zombie).
    pub kids: List,
    /// Children that are zombies, oldest first.
    pub zombies: List,
    /// Top of the kernel stack (0: none); the trap frame sits just below.
    pub kstack: u64,
    /// The address space.
    pub space: Option<Box<Space>>,
    /// Open files (changed only through [`super::files`], which keeps
    /// `fd_open` and `fd_cloexec` in step).
    pub fds: [File; MAX_FDS],
    /// Bit `fd` set: fd `fd` is open.
    pub fd_open: u16,
    /// Bit `fd` set: fd `fd` is marked close-on-exec.
    pub fd_cloexec: u16,
    /// The list it sleeps on (null: none, e.g. in waitpid).
    pub chan: *mut List,
    /// Tick at which a `sleep` ends.
    pub deadline: u64,
    /// Bumped each time the slot is freed; part of the pid.
    pub generation: u32,
    /// Suspended while sleeping (so Stopped) and not yet woken: why it
    /// sleeps; it is still on its wait list, and `resume` puts it back to
    /// sleep. `None` otherwise (all-zero, as an unused PCB is).
    pub stopped_sleep: SleepReason,
    /// The signal that stopped it, until a `waitpid` with `WUNTRACED`
    /// reports the stop (0: nothing to report).
    pub stop_sig: u8,
    /// Continued, and no `waitpid` with `WCONTINUED` has reported it yet.
    pub cont_unreported: bool,
    /// Each signal's handler: `SIG_DFL` (0), `SIG_IGN` (1) or a user
    /// address.
    pub sig_handlers: [u64; abi::signal::NSIG as usize],
    /// The signals whose handler is not `SIG_DFL`: while empty, the
    /// handlers need no copying (fork) or resetting (exec).
    pub sig_set: abi::signal::SigSet,
    /// The working directory's node in the file tree (0: `/`), held while
    /// it is (see [`crate::fs::vfs::hold`]).
    pub cwd: crate::fs::tree::Id,
    /// The working directory and the fds as the host sees them, kept in
    /// step with `fds` (see [`super::files`]).
    pub files: abi::fs::FilesInfo,
}

/// The process subsystem's globals.
pub struct Procs {
    /// The PCB array.
    pub table: *mut Pcb,
    /// Number of slots.
    pub cap: usize,
    /// Slots at or above this were never used.
    pub hwm: usize,
    /// Freed slots, oldest first (so pids are not reused soon).
    pub free: List,
    /// Runnable processes, round-robin order.
    pub runq: List,
    /// Sleepers with a deadline, earliest first.
    pub timers: List,
    /// The Running process (None: idle).
    pub current: Option<usize>,
    /// The idle loop's context (on the boot stack).
    pub idle: Context,
    /// Quantum in ticks.
    pub quantum: i64,
    /// Whose FPU state is in the FPU.
    pub fpu_owner: Option<usize>,
    /// CR3 now loaded.
    pub cr3: u64,
    /// Timer rate, for sleep.
    pub hz: u32,
}

static PROCS: KCell<Procs> = KCell::new(Procs {
    table: core::ptr::null_mut(),
    cap: 0,
    hwm: 0,
    free: List::new(),
    runq: List::new(),
    timers: List::new(),
    current: None,
    idle: Context {
        rsp: 0,
        rbx: 0,
        rbp: 0,
        r12: 0,
        r13: 0,
        r14: 0,
        r15: 0,
    },
    quantum: 10,
    fpu_owner: None,
    cr3: 0,
    hz: 1000,
});

/// The timer list, as sleepers record the list they are on (reached
/// through the static's pointer, so it stays valid across borrows).
pub fn timers_list() -> *mut List {
    // SAFETY: only the field's address is computed; nothing is read.
    unsafe { &raw mut (*PROCS.as_ptr()).timers }
}

/// The idle loop's saved registers (as [`timers_list`]).
pub fn idle_context() -> *mut Context {
    // SAFETY: as timers_list.
    unsafe { &raw mut (*PROCS.as_ptr()).idle }
}

/// The right to touch the process table and the subsystem's globals: a
/// zero-sized token. Every access goes through `&mut Kernel`, and what it
/// hands out borrows the token, so no two references to a PCB (or to
/// [`Procs`]) are ever used interleaved: the borrow checker proves it. A
/// context switch takes the token too, so no reference is held across one.
pub struct Kernel(PhantomData<*mut ()>);

impl Kernel {
    /// The token of a kernel entry.
    ///
    /// # Safety
    /// Interrupts are off (one CPU), and while the token lives no reference
    /// obtained through another token is used. That holds for a trap
    /// handler (the code it interrupted resumes only after it returns, and
    /// kernel paths suspended in a context switch hold no references: the
    /// switch takes their token), for boot, and for the idle loop, which
    /// enables interrupts only while halted, holding no references.
    pub unsafe fn enter() -> Kernel {
        Kernel(PhantomData)
    }

    /// The subsystem's globals.
    #[inline(always)]
    pub fn procs(&mut self) -> &mut Procs {
        // SAFETY: the token's contract: no other reference into PROCS is
        // in use while this one, which borrows the token, lives.
        unsafe { &mut *PROCS.as_ptr() }
    }

    /// The PCB of `slot` (< capacity).
    #[inline(always)]
    pub fn pcb(&mut self, slot: usize) -> &mut Pcb {
        let p = self.procs();
        debug_assert!(slot < p.cap);
        let table = p.table;
        // SAFETY: the table has cap PCBs (init), apart from PROCS; the
        // reference borrows the token.
        unsafe { &mut *table.add(slot) }
    }

    /// Where the PCB of `slot` (< capacity) is, without forming a
    /// reference: for addresses that outlive a borrow (the timer fast
    /// path's tick counter, saved contexts).
    #[inline(always)]
    pub fn pcb_ptr(&mut self, slot: usize) -> *mut Pcb {
        let p = self.procs();
        debug_assert!(slot < p.cap);
        p.table.wrapping_add(slot)
    }

    /// The globals, and the PCBs' `run` links apart from them (for the
    /// free list, run queue and timer list).
    #[inline(always)]
    pub fn run_lists(&mut self) -> (&mut Procs, RunLinks<'_>) {
        // SAFETY: as procs(); the links reach only the PCB array, which
        // PROCS does not contain.
        let p = unsafe { &mut *PROCS.as_ptr() };
        let links = RunLinks(p.table, PhantomData);
        (p, links)
    }

    /// The PCBs' `run` links (for a wait list outside the globals).
    #[inline(always)]
    pub fn run(&mut self) -> RunLinks<'_> {
        RunLinks(self.procs().table, PhantomData)
    }

    /// The PCBs' `sib` links (a parent's children).
    #[inline(always)]
    pub fn sib(&mut self) -> SibLinks<'_> {
        SibLinks(self.procs().table, PhantomData)
    }
}

/// The `run` links of the table, borrowing the token.
pub struct RunLinks<'k>(*mut Pcb, PhantomData<&'k mut Kernel>);
impl Links for RunLinks<'_> {
    #[inline(always)]
    fn link(&mut self, slot: usize) -> &mut Link {
        // SAFETY: a slot of the table (list links name table slots); the
        // reference borrows the token through self.
        unsafe { &mut (*self.0.add(slot)).run }
    }
}

/// The `sib` links of the table, borrowing the token.
pub struct SibLinks<'k>(*mut Pcb, PhantomData<&'k mut Kernel>);
impl Links for SibLinks<'_> {
    #[inline(always)]
    fn link(&mut self, slot: usize) -> &mut Link {
        // SAFETY: as for RunLinks.
        unsafe { &mut (*self.0.add(slot)).sib }
    }
}

impl Kernel {
    /// Allocates the zeroed table of `cap` slots and sets the scheduler's
    /// parameters. Boot only.
    pub fn init(&mut self, cap: usize, quantum: u32, hz: u32) {
        let layout = core::alloc::Layout::array::<Pcb>(cap).expect("table size");
        // SAFETY: a non-zero-sized layout. All-zero is a valid (Unused) Pcb,
        // see the module documentation; the heap takes never-used (zero)
        // frames for it rather than zeroing them.
        let table = unsafe { alloc::alloc::alloc_zeroed(layout) } as *mut Pcb;
        if table.is_null() {
            panic!("no memory for a process table of {cap} slots");
        }
        let p = self.procs();
        p.table = table;
        p.cap = cap;
        p.quantum = i64::from(quantum.max(1));
        p.hz = hz;
        p.cr3 = crate::arch::x86_64::cpu::read_cr3();
        crate::dev::debugport::register_table(
            crate::arch::x86_64::layout::direct_to_phys(table as u64).0,
            cap as u32,
            core::mem::size_of::<Pcb>() as u32,
            core::mem::offset_of!(Pcb, files) as u32,
        );
    }

    /// Changes a process's state: the one place every state transition
    /// goes through (tracing hooks in here).
    /// The VMM reads the table meanwhile: the change is bracketed by the
    /// debug port's generation counter, and recorded in its event ring.
    pub fn set_state(&mut self, slot: usize, state: ProcState, reason: SleepReason) {
        let old = self.set_state_untraced(slot, state, reason);
        crate::dev::debugport::emit(
            abi::debug::EventKind::State,
            self.pcb(slot).info.pid,
            old,
            state as u32,
            reason as u32,
            0,
        );
    }

    /// [`Kernel::set_state`] without its event: for the scheduler, which
    /// records the two transitions of a switch as one
    /// [`abi::debug::EventKind::Switch`]. Returns the old state.
    #[inline(always)]
    pub fn set_state_untraced(
        &mut self,
        slot: usize,
        state: ProcState,
        reason: SleepReason,
    ) -> u32 {
        use crate::dev::debugport;
        debugport::begin_change();
        let info = &mut self.pcb(slot).info;
        let old = info.state;
        info.state = state as u32;
        info.reason = reason as u32;
        debugport::end_change();
        old
    }

    /// Gives `slot` its address space, and its PCB the record's sizes.
    pub fn set_space(&mut self, slot: usize, space: Box<Space>) {
        let pc = self.pcb(slot);
        pc.info.brk = space.brk;
        pc.info.mem_bytes = space.mem_bytes();
        pc.space = Some(space);
    }

    /// Records a lifecycle event of `slot` in the debug port's ring.
    pub fn trace(&mut self, slot: usize, kind: abi::debug::EventKind, reason: u32, arg: u64) {
        crate::dev::debugport::emit(kind, self.pcb(slot).info.pid, 0, 0, reason, arg);
    }

    /// The state of `slot`.
    pub fn state(&mut self, slot: usize) -> ProcState {
        ProcState::from_raw(self.pcb(slot).info.state).unwrap_or(ProcState::Unused)
    }

    /// The slot of live or zombie process `pid`.
    pub fn lookup(&mut self, pid: Pid) -> Option<usize> {
        let p = self.procs();
        let (cap, hwm) = (p.cap, p.hwm);
        let slot = logic::proc::pid::slot_of(pid, cap)?;
        (slot < hwm && self.pcb(slot).info.pid == pid && self.state(slot) != ProcState::Unused)
            .then_some(slot)
    }

    /// The trap frame of `slot` (at the top of its kernel stack).
    pub fn trap_frame(&mut self, slot: usize) -> &mut TrapFrame {
        let top = self.pcb(slot).kstack;
        // SAFETY: every process has a mapped kernel stack whose top holds
        // its user-mode trap frame; the reference borrows the token.
        unsafe { &mut *((top - core::mem::size_of::<TrapFrame>() as u64) as *mut TrapFrame) }
    }

    /// The running process's slot. Panics in the idle loop (a kernel bug).
    pub fn current(&mut self) -> usize {
        self.procs().current.expect("no current process")
    }

    /// The running process's PCB.
    pub fn me(&mut self) -> &mut Pcb {
        let slot = self.current();
        self.pcb(slot)
    }

    /// Prints the table (Ctrl-P, xv6's procdump) as `ps` does: one row per
    /// process, the console's foreground group `fg` marked.
    pub fn procdump(&mut self, fg: Pid) {
        use abi::proc::{PS_HEADER, PsRow};
        println!("\n{PS_HEADER}");
        for slot in 0..self.procs().hwm {
            if self.state(slot) != ProcState::Unused {
                println!("{}", PsRow(&self.pcb(slot).info, fg));
            }
        }
    }
}

/// The running process's pid, none in the idle loop, for reports made
/// without a token (a crash, a panic): read in place, without forming a
/// reference.
pub fn current_pid() -> Pid {
    let p = PROCS.as_ptr();
    // SAFETY: plain reads of the static's fields through its pointer (no
    // reference is formed); `table` has `cap` PCBs once set.
    unsafe {
        match (*p).current {
            Some(slot) if slot < (*p).cap => (*(*p).table.add(slot)).info.pid,
            _ => Pid::NONE,
        }
    }
}
