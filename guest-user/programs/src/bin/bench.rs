//! Times process operations from inside the guest with the TSC, for
//! `scripts/bench` (which runs it under our VMM and under QEMU, and puts the
//! host's Linux beside it with `hostbench`).
//!
//! ```text
//! bench [ops] [ROUNDS]   getpid, switches (yield and pipe ping-pong), fork and spawn
//!                        + exit + wait, page faults (heap, lazy data page, shared text page)
//! bench tick MS          a CPU-bound loop for MS ms: its speed, and the time the timer takes
//! bench scale N...       create N processes (all alive at once), then have them all exit
//! bench console BYTES    write BYTES to the console (fd 1) in 4 KiB writes
//! bench ring0 K          each operation K times between two marker calls, untimed: the
//!                        instruction log of QEMU's TCG counts the kernel's part
//! ```
//!
//! Every figure is one line `bench: KEY k=v ...` (`median_ns`, `min_ns`,
//! `max_ns` over the rounds, `rounds`, `median_cycles`), which scripts/bench
//! parses.
#![no_std]
#![no_main]

use ulib::prelude::*;
use ulib::{Pid, WaitFor, eprintln, println};

ulib::entry!(main);

const PAGE: usize = 4096;
/// Pages of each fault array the lazy-load benchmarks touch.
const FAULT_PAGES: usize = 8;

/// File-backed writable pages (.data): a first touch copies the page from
/// the program file. Never touched by the parent, so every forked child
/// faults on them anew.
static mut DATA: [u8; (FAULT_PAGES + 1) * PAGE] = [1; (FAULT_PAGES + 1) * PAGE];
/// Read-only pages (.rodata): the first touch in any process fills the
/// kernel's text cache, later ones only map the cached frame.
static RODATA: [u8; (FAULT_PAGES + 1) * PAGE] = [2; (FAULT_PAGES + 1) * PAGE];

fn rdtsc() -> u64 {
    // SAFETY: rdtsc reads the time-stamp counter; ring 3 may (CR4.TSD off).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC ticks per microsecond, measured against the kernel's uptime.
fn tsc_per_us() -> u64 {
    let m = ulib::uptime_ms();
    while ulib::uptime_ms() == m {}
    let (t0, m0) = (rdtsc(), ulib::uptime_ms());
    while ulib::uptime_ms() < m0 + 50 {}
    let (t1, m1) = (rdtsc(), ulib::uptime_ms());
    ((t1 - t0) / ((m1 - m0) * 1000)).max(1)
}

/// Prints a figure: median, min and max of `samples` (cycles).
fn report(key: &str, samples: &mut [u64], per_us: u64) {
    if samples.is_empty() {
        println!("bench: {key} rounds=0");
        return;
    }
    samples.sort_unstable();
    let ns = |c: u64| c * 1000 / per_us;
    println!(
        "bench: {key} median_ns={} min_ns={} max_ns={} rounds={} median_cycles={}",
        ns(samples[samples.len() / 2]),
        ns(samples[0]),
        ns(samples[samples.len() - 1]),
        samples.len(),
        samples[samples.len() / 2]
    );
}

fn samples(rounds: usize, mut op: impl FnMut() -> u64) -> Vec<u64> {
    (0..rounds).map(|_| op()).collect()
}

fn fork_or_die() -> Pid {
    match ulib::fork() {
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("bench: fork: {e}");
            ulib::exit(1)
        }
    }
}

fn pipe_or_die() -> (i32, i32) {
    match ulib::pipe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench: pipe: {e}");
            ulib::exit(1)
        }
    }
}

fn put(fd: i32) {
    let _ = ulib::write(fd, &[0]);
}

fn get(fd: i32) -> bool {
    matches!(ulib::read(fd, &mut [0]), Ok(1))
}

/// Two processes yielding to each other: one yield there and back is two
/// switches. Returns the partner.
fn start_yielder() -> Pid {
    let pid = fork_or_die();
    if pid.is_none() {
        loop {
            ulib::yield_now();
        }
    }
    pid
}

fn stop(pid: Pid) {
    let _ = ulib::kill(pid, ulib::signal::SIGKILL);
    let _ = ulib::waitpid(pid, 0);
}

/// A partner echoing bytes from one pipe to another until end of file
/// (lmbench's lat_ctx token passing): the pipes' parent ends, its pid.
fn start_echo() -> (i32, i32, Pid) {
    let (there_r, there_w) = pipe_or_die();
    let (back_r, back_w) = pipe_or_die();
    let pid = fork_or_die();
    if pid.is_none() {
        let _ = ulib::close(there_w);
        let _ = ulib::close(back_r);
        while get(there_r) {
            put(back_w);
        }
        ulib::exit(0);
    }
    let _ = ulib::close(there_r);
    let _ = ulib::close(back_w);
    (there_w, back_r, pid)
}

fn stop_echo((w, r, pid): (i32, i32, Pid)) {
    let _ = ulib::close(w);
    let _ = ulib::close(r);
    let _ = ulib::waitpid(pid, 0);
}

fn fork_exit_wait() {
    if fork_or_die().is_none() {
        ulib::exit(0);
    }
    let _ = ulib::waitpid(WaitFor::Any, 0);
}

fn spawn_exit_wait() {
    if let Ok(pid) = ulib::spawn("/bin/true", &["true"]) {
        let _ = ulib::waitpid(pid, 0);
    }
}

/// The page-aligned addresses of `FAULT_PAGES` pages inside `base`.
fn pages_of(base: *const u8) -> impl Iterator<Item = *const u8> {
    let first = (base as usize).next_multiple_of(PAGE);
    (0..FAULT_PAGES).map(move |i| (first + i * PAGE) as *const u8)
}

fn touch(p: *const u8) {
    // SAFETY: p lies inside one of our static arrays or our heap.
    core::hint::black_box(unsafe { core::ptr::read_volatile(p) });
}

/// Grows the heap by `FAULT_PAGES` pages, touches each (a zero-fill fault
/// each), shrinks it back; the cycles of each touch.
fn heap_faults(out: &mut Vec<u64>) {
    let bytes = (FAULT_PAGES * PAGE) as i64;
    // No allocation between the two sbrk calls: the allocator uses sbrk.
    out.reserve(FAULT_PAGES);
    let Ok(old) = ulib::sbrk(bytes) else {
        return;
    };
    let first = (old as usize).next_multiple_of(PAGE);
    for i in 0..FAULT_PAGES - 1 {
        let p = (first + i * PAGE) as *mut u8;
        let t = rdtsc();
        // SAFETY: inside the heap just grown.
        unsafe { core::ptr::write_volatile(p, 1) };
        out.push(rdtsc() - t);
    }
    let _ = ulib::sbrk(-bytes);
}

/// In a forked child: touches the lazily loaded pages of `base` and sends
/// the cycles of each touch back through `w`.
fn child_faults(base: *const u8, w: i32) -> ! {
    let mut buf = [0u8; FAULT_PAGES * 8];
    for (i, p) in pages_of(base).enumerate() {
        let t = rdtsc();
        touch(p);
        buf[i * 8..i * 8 + 8].copy_from_slice(&(rdtsc() - t).to_le_bytes());
    }
    let _ = ulib::write(w, &buf);
    ulib::exit(0)
}

/// Forks a child that touches `base`'s pages; their cycles.
fn fault_round(base: *const u8, out: &mut Vec<u64>) {
    let (r, w) = pipe_or_die();
    if fork_or_die().is_none() {
        let _ = ulib::close(r);
        child_faults(base, w);
    }
    let _ = ulib::close(w);
    let mut buf = [0u8; FAULT_PAGES * 8];
    let got = ulib::io::read_full(r, &mut buf);
    let _ = ulib::close(r);
    let _ = ulib::waitpid(WaitFor::Any, 0);
    for c in buf[..got].chunks_exact(8) {
        out.push(u64::from_le_bytes(c.try_into().unwrap()));
    }
}

fn data_base() -> *const u8 {
    (&raw const DATA).cast()
}

fn ops(rounds: usize) -> i32 {
    let per_us = tsc_per_us();
    println!("bench: tsc mhz={per_us} rounds={rounds}");
    let heavy = (rounds / 10).max(5);

    let mut s = samples(rounds, || {
        let t = rdtsc();
        core::hint::black_box(ulib::getpid());
        rdtsc() - t
    });
    report("getpid", &mut s, per_us);

    let partner = start_yielder();
    let mut s = samples(rounds, || {
        let t = rdtsc();
        ulib::yield_now();
        (rdtsc() - t) / 2
    });
    stop(partner);
    report("switch_yield", &mut s, per_us);

    let echo = start_echo();
    let mut s = samples(rounds, || {
        let t = rdtsc();
        put(echo.0);
        get(echo.1);
        (rdtsc() - t) / 2
    });
    stop_echo(echo);
    report("switch_pipe", &mut s, per_us);

    let mut s = samples(heavy, || {
        let t = rdtsc();
        fork_exit_wait();
        rdtsc() - t
    });
    report("fork_exit_wait", &mut s, per_us);

    let mut s = samples(heavy, || {
        let t = rdtsc();
        spawn_exit_wait();
        rdtsc() - t
    });
    report("spawn_exit_wait", &mut s, per_us);

    let fault_rounds = (heavy / 2).max(3);
    let mut s = Vec::new();
    for _ in 0..fault_rounds {
        heap_faults(&mut s);
    }
    report("fault_heap", &mut s, per_us);
    let mut s = Vec::new();
    for _ in 0..fault_rounds {
        fault_round(data_base(), &mut s);
    }
    report("fault_data", &mut s, per_us);
    // The first child fills the text cache; the later ones only map.
    let mut s = Vec::new();
    fault_round(RODATA.as_ptr(), &mut s);
    s.clear();
    for _ in 0..fault_rounds {
        fault_round(RODATA.as_ptr(), &mut s);
    }
    report("fault_text", &mut s, per_us);
    0
}

/// A CPU-bound loop for `ms` milliseconds: how many iterations it does, and
/// the gaps in it (interrupts: the timer's ticks) with what they cost.
fn tick(ms: u64) -> i32 {
    let per_us = tsc_per_us();
    // An iteration is a TSC read and a compare (tens of cycles); a gap of
    // more than 2 us is an interruption.
    let threshold = 2 * per_us;
    let end = rdtsc() + ms * 1000 * per_us;
    let (mut iters, mut gaps, mut gap_cycles) = (0u64, 0u64, 0u64);
    let mut last = rdtsc();
    let start = last;
    loop {
        let t = rdtsc();
        let d = t - last;
        if d > threshold {
            gaps += 1;
            gap_cycles += d;
        }
        last = t;
        iters += 1;
        if t >= end {
            break;
        }
    }
    let total = last - start;
    println!(
        "bench: tick iters_per_ms={} gaps={} gap_ns={} stolen_ppm={} ms={ms}",
        iters * 1000 * per_us / total.max(1),
        gaps,
        (gap_cycles * 1000 / per_us).checked_div(gaps).unwrap_or(0),
        gap_cycles * 1_000_000 / total.max(1)
    );
    0
}

/// Free frames, found with sbrk: the kernel refuses growth past the free
/// frame count (it maps nothing until a page is touched).
fn free_frames() -> u64 {
    let (mut lo, mut hi) = (0u64, 1u64 << 22);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        match ulib::sbrk((mid * PAGE as u64) as i64) {
            Ok(_) => {
                let _ = ulib::sbrk(-((mid * PAGE as u64) as i64));
                lo = mid;
            }
            Err(_) => hi = mid,
        }
    }
    lo
}

/// `bench hold R W`: a scale child. Closes W, waits for end of file on R.
fn hold(args: &[&str]) -> i32 {
    let fd = |i: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(-1);
    let _ = ulib::close(fd(3));
    get(fd(2));
    0
}

/// Creates `n` processes that all stay alive (each waits on a pipe), then
/// closes the pipe so that all exit, and reaps them.
fn scale(n: usize, per_us: u64) -> bool {
    let (r, w) = pipe_or_die();
    let (rs, ws) = (format!("{r}"), format!("{w}"));
    let free0 = free_frames();
    begin(0);
    let t0 = rdtsc();
    let mut made = 0;
    // Cycles inside the spawn calls (the rest of t1 - t0 is the children
    // running up to their read, and timer ticks).
    let mut in_spawn = 0;
    while made < n {
        let t = rdtsc();
        let r = ulib::spawn("/bin/bench", &["bench", "hold", &rs, &ws]);
        in_spawn += rdtsc() - t;
        match r {
            Ok(_) => made += 1,
            Err(e) => {
                eprintln!("bench: scale {n}: spawn {}: {e}", made + 1);
                break;
            }
        }
    }
    let t1 = rdtsc();
    // Let every child run to its read (each closes its copy of W first).
    ulib::yield_now();
    end(0);
    let free1 = free_frames();
    let _ = ulib::close(w);
    let _ = ulib::close(r);
    begin(1);
    let t2 = rdtsc();
    for _ in 0..made {
        let _ = ulib::waitpid(WaitFor::Any, 0);
    }
    let t3 = rdtsc();
    end(1);
    let per = |c: u64| c * 1000 / per_us / made.max(1) as u64;
    println!(
        "bench: scale n={made} create_ns={} spawn_call_ns={} exit_wait_ns={} total_ns={} frames_per_proc={}.{:02}",
        per(t1 - t0),
        per(in_spawn),
        per(t3 - t2),
        per(t1 - t0 + t3 - t2),
        (free0 - free1) / made.max(1) as u64,
        (free0 - free1) * 100 / made.max(1) as u64 % 100,
    );
    made == n
}

/// Writes `bytes` to the console in 4 KiB writes of 64-byte lines.
fn console(bytes: usize) -> i32 {
    let per_us = tsc_per_us();
    let mut buf = [b'x'; 4096];
    for line in buf.chunks_mut(64) {
        line[63] = b'\n';
    }
    let t = rdtsc();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len());
        let _ = ulib::io::write_all(1, &buf[..n]);
        left -= n;
    }
    let c = rdtsc() - t;
    println!(
        "bench: console bytes={bytes} ns={} bytes_per_s={}",
        c * 1000 / per_us,
        (bytes as u64 * 1_000_000 * per_us) / c.max(1)
    );
    0
}

/// Marks where an operation's K rounds begin (in `ring0` mode); the
/// instruction log shows its address, which `ring0` prints.
#[inline(never)]
fn begin(op: usize) {
    core::hint::black_box(op);
}

/// Marks where they end.
#[inline(never)]
fn end(op: usize) {
    core::hint::black_box(op ^ 0x5A5A);
}

/// The operations of `ring0`, in order.
const RING0_OPS: [&str; 7] = [
    "getpid",
    "switch_yield",
    "switch_pipe",
    "fork_exit_wait",
    "spawn_exit_wait",
    "fault_heap",
    "fault_data",
];

/// Maps every page of the program's text and rodata (a read of each).
/// fork and exit cost one step per mapped page, and which of these pages
/// a run has touched depends on where the linker put each function, which
/// varies between builds from different checkouts (cargo's symbol hashes
/// follow the path); with all of them mapped, the ring-0 counts do not.
fn map_text_and_rodata() {
    unsafe extern "C" {
        /// Defined by user.ld.
        static __rodata_end: u8;
    }
    let end = (&raw const __rodata_end) as usize;
    for p in (abi::sys::USER_BASE as usize..end).step_by(PAGE) {
        touch(p as *const u8);
    }
}

fn ring0(k: usize) -> i32 {
    map_text_and_rodata();
    println!(
        "bench: ring0 begin={:#x} end={:#x} k={k} ops={}",
        begin as *const () as usize,
        end as *const () as usize,
        RING0_OPS.join(",")
    );
    begin(0);
    for _ in 0..k {
        core::hint::black_box(ulib::getpid());
    }
    end(0);
    let partner = start_yielder();
    begin(1);
    for _ in 0..k {
        ulib::yield_now();
    }
    end(1);
    stop(partner);
    let echo = start_echo();
    begin(2);
    for _ in 0..k {
        put(echo.0);
        get(echo.1);
    }
    end(2);
    stop_echo(echo);
    // One round first: the counts are the steady state (the first spawn
    // of a program also indexes the initrd up to it, and fills the text
    // cache).
    fork_exit_wait();
    begin(3);
    for _ in 0..k {
        fork_exit_wait();
    }
    end(3);
    spawn_exit_wait();
    begin(4);
    for _ in 0..k {
        spawn_exit_wait();
    }
    end(4);
    let bytes = (k * PAGE) as i64;
    let old = ulib::sbrk(bytes).unwrap_or(0) as usize;
    let first = old.next_multiple_of(PAGE);
    begin(5);
    for i in 0..k - 1 {
        // SAFETY: inside the heap just grown.
        unsafe { core::ptr::write_volatile((first + i * PAGE) as *mut u8, 1) };
    }
    end(5);
    let _ = ulib::sbrk(-bytes);
    let n = k.min(FAULT_PAGES);
    begin(6);
    for p in pages_of(data_base()).take(n) {
        touch(p);
    }
    end(6);
    println!(
        "bench: ring0 done per_op=1,2,2,1,1,1,1 rounds={k},{k},{k},{k},{k},{},{n}",
        k - 1
    );
    0
}

fn number(args: &[&str], i: usize, default: usize) -> Option<usize> {
    match args.get(i).map(|a| a.parse()) {
        None => Some(default),
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => None,
    }
}

const USAGE: &str = "usage: bench [ops] [ROUNDS] | tick MS | scale N... | console BYTES | ring0 K";

fn main(args: &[&str]) -> i32 {
    let first_is_number = args.get(1).is_some_and(|a| a.parse::<usize>().is_ok());
    let (cmd, at) = match args.get(1) {
        Some(_) if first_is_number => ("ops", 1),
        Some(c) => (*c, 2),
        None => ("ops", 1),
    };
    let code = match cmd {
        "ops" => number(args, at, 200).map(ops),
        "tick" => number(args, at, 1000).map(|ms| tick(ms as u64)),
        "console" => number(args, at, 64 * 1024).map(console),
        "ring0" => number(args, at, 20).filter(|&k| k >= 2).map(ring0),
        "hold" => Some(hold(args)),
        "scale" => {
            let per_us = tsc_per_us();
            let ns: Vec<usize> = args[at..].iter().filter_map(|a| a.parse().ok()).collect();
            if ns.is_empty() || ns.len() != args.len() - at {
                None
            } else {
                // The marked sections, for an instruction log (see ring0).
                let ops: Vec<String> = ns
                    .iter()
                    .flat_map(|n| [format!("create_{n}"), format!("exit_wait_{n}")])
                    .collect();
                let rounds: Vec<String> = ns
                    .iter()
                    .flat_map(|n| [n.to_string(), n.to_string()])
                    .collect();
                println!(
                    "bench: ring0 begin={:#x} end={:#x} k=0 ops={}",
                    begin as *const () as usize,
                    end as *const () as usize,
                    ops.join(",")
                );
                let ok = ns.iter().all(|&n| scale(n, per_us));
                println!(
                    "bench: ring0 done per_op={} rounds={}",
                    vec!["1"; ops.len()].join(","),
                    rounds.join(",")
                );
                Some(if ok { 0 } else { 1 })
            }
        }
        _ => None,
    };
    code.unwrap_or_else(|| {
        eprintln!("{USAGE}");
        2
    })
}
