//! `hostbench`: the host half of `scripts/bench`.
//!
//! ```text
//! hostbench ops [ROUNDS]      the guest's `bench` operations on this Linux, by the same
//!                             method; prints one JSON object
//! hostbench kvm [MEMORY_MIB [irqchip]]
//!                             a bare VM: open /dev/kvm, create a VM (with `irqchip`, its
//!                             in-kernel LAPIC, IOAPIC and PIT, as vmm), its memory and a
//!                             vCPU, and exit (scripts/bench times the whole process)
//! ```
//!
//! The method is the guest's (`guest-user/programs/src/bin/bench.rs`): each
//! round of an operation is timed alone with the TSC, and the figures are
//! the median, minimum and maximum of the rounds. Both processes of a
//! ping-pong are pinned to one CPU (the guest has one), so every hand-over
//! is a context switch, as in lmbench's `lat_ctx`.

use std::ffi::CString;
use std::time::Instant;

fn rdtsc() -> u64 {
    // SAFETY: rdtsc only reads the time-stamp counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC cycles per microsecond, against the monotonic clock over 50 ms.
fn tsc_per_us() -> f64 {
    let (t0, c0) = (Instant::now(), rdtsc());
    while t0.elapsed().as_millis() < 50 {}
    let (t1, c1) = (Instant::now(), rdtsc());
    (c1 - c0) as f64 / (t1 - t0).as_secs_f64() / 1e6
}

/// Median, min and max of `rounds` timings of `op` (each returns its own
/// cycle count), as a JSON object in nanoseconds.
fn measure(rounds: usize, per_us: f64, mut op: impl FnMut() -> u64) -> String {
    let mut v: Vec<u64> = (0..rounds).map(|_| op()).collect();
    v.sort_unstable();
    let ns = |c: u64| c as f64 * 1000.0 / per_us;
    format!(
        "{{\"median_ns\": {:.1}, \"min_ns\": {:.1}, \"max_ns\": {:.1}, \"rounds\": {}}}",
        ns(v[v.len() / 2]),
        ns(v[0]),
        ns(v[v.len() - 1]),
        rounds
    )
}

/// Pins the calling process (and so its children) to CPU 0.
fn pin_to_cpu0() {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET and
    // sched_setaffinity only read and write it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            eprintln!(
                "hostbench: sched_setaffinity: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

fn fork() -> libc::pid_t {
    // SAFETY: the child only makes system calls and _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        panic!("fork: {}", std::io::Error::last_os_error());
    }
    pid
}

fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

fn kill_and_reap(pid: libc::pid_t) {
    // SAFETY: our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid);
}

/// One byte through a pipe: write.
fn put(fd: i32) {
    let b = 0u8;
    // SAFETY: one byte from a live local.
    while unsafe { libc::write(fd, (&raw const b).cast(), 1) } != 1 {}
}

/// One byte through a pipe: read (false at end of file).
fn get(fd: i32) -> bool {
    let mut b = 0u8;
    // SAFETY: one byte into a live local.
    unsafe { libc::read(fd, (&raw mut b).cast(), 1) == 1 }
}

fn pipe() -> [i32; 2] {
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        panic!("pipe: {}", std::io::Error::last_os_error());
    }
    fds
}

fn ops(rounds: usize) {
    pin_to_cpu0();
    let per_us = tsc_per_us();
    let heavy = (rounds / 10).max(5);
    let mut out = Vec::new();

    out.push((
        "getpid",
        measure(rounds, per_us, || {
            let t = rdtsc();
            // SAFETY: getpid has no arguments and no effect.
            std::hint::black_box(unsafe { libc::syscall(libc::SYS_getpid) });
            rdtsc() - t
        }),
    ));

    // sched_yield ping-pong: each yield hands the CPU to the partner.
    let partner = fork();
    if partner == 0 {
        loop {
            // SAFETY: no arguments.
            unsafe { libc::sched_yield() };
        }
    }
    out.push((
        "switch_yield",
        measure(rounds, per_us, || {
            let t = rdtsc();
            // SAFETY: no arguments.
            unsafe { libc::sched_yield() };
            (rdtsc() - t) / 2
        }),
    ));
    kill_and_reap(partner);

    // Pipe ping-pong: a byte there and back is two switches.
    let (there, back) = (pipe(), pipe());
    let partner = fork();
    if partner == 0 {
        // SAFETY: the other ends, ours to close.
        unsafe { libc::close(there[1]) };
        // SAFETY: as above.
        unsafe { libc::close(back[0]) };
        while get(there[0]) {
            put(back[1]);
        }
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    out.push((
        "switch_pipe",
        measure(rounds, per_us, || {
            let t = rdtsc();
            put(there[1]);
            get(back[0]);
            (rdtsc() - t) / 2
        }),
    ));
    for fd in [there[0], there[1], back[0], back[1]] {
        // SAFETY: our descriptors.
        unsafe { libc::close(fd) };
    }
    reap(partner);

    out.push((
        "fork_exit_wait",
        measure(heavy, per_us, || {
            let t = rdtsc();
            let pid = fork();
            if pid == 0 {
                // SAFETY: ends the child at once.
                unsafe { libc::_exit(0) };
            }
            reap(pid);
            rdtsc() - t
        }),
    ));

    let path = CString::new("/bin/true").unwrap();
    let argv = [path.as_ptr(), std::ptr::null()];
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    out.push((
        "spawn_exit_wait",
        measure(heavy, per_us, || {
            let t = rdtsc();
            let mut pid = 0;
            // SAFETY: path, argv and envp are NUL-terminated and live.
            let r = unsafe {
                libc::posix_spawn(
                    &mut pid,
                    path.as_ptr(),
                    std::ptr::null(),
                    std::ptr::null(),
                    argv.as_ptr() as *const *mut libc::c_char,
                    envp.as_ptr() as *const *mut libc::c_char,
                )
            };
            if r == 0 {
                reap(pid);
            }
            rdtsc() - t
        }),
    ));

    let body: Vec<String> = out.iter().map(|(k, v)| format!("  \"{k}\": {v}")).collect();
    println!("{{\n  \"tsc_mhz\": {per_us:.1},\n{}\n}}", body.join(",\n"));
}

/// A VM and nothing else: what any KVM VMM pays before its guest runs.
/// With `irqchip`, the in-kernel LAPIC/IOAPIC and PIT first, as vmm has
/// them. `HOSTBENCH_VERBOSE` prints the time of each step.
fn kvm(mib: usize, irqchip: bool) -> i32 {
    let t0 = Instant::now();
    let verbose = std::env::var_os("HOSTBENCH_VERBOSE").is_some();
    let step = |what: &str| {
        if verbose {
            eprintln!("{:>8.3} ms  {what}", t0.elapsed().as_secs_f64() * 1e3);
        }
    };
    use kvm_bindings::kvm_userspace_memory_region;
    let kvm = match kvm_ioctls::Kvm::new() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("hostbench: /dev/kvm: {e}");
            return 1;
        }
    };
    let vm = kvm.create_vm().expect("KVM_CREATE_VM");
    step("KVM_CREATE_VM");
    if irqchip {
        vm.create_irq_chip().expect("KVM_CREATE_IRQCHIP");
        vm.create_pit2(kvm_bindings::kvm_pit_config::default())
            .expect("KVM_CREATE_PIT2");
        step("KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2");
    }
    let size = mib << 20;
    // SAFETY: a fresh anonymous private mapping.
    let mem = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    assert_ne!(mem, libc::MAP_FAILED, "mmap");
    let region = kvm_userspace_memory_region {
        slot: 0,
        flags: 0,
        guest_phys_addr: 0,
        memory_size: size as u64,
        userspace_addr: mem as u64,
    };
    // SAFETY: the region is our live mapping of `size` bytes.
    unsafe { vm.set_user_memory_region(region) }.expect("KVM_SET_USER_MEMORY_REGION");
    step("KVM_SET_USER_MEMORY_REGION");
    if std::env::var_os("HOSTBENCH_IRQCHIP_AFTER").is_some() {
        vm.create_irq_chip().expect("KVM_CREATE_IRQCHIP");
        vm.create_pit2(kvm_bindings::kvm_pit_config::default())
            .expect("KVM_CREATE_PIT2");
        step("KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2 (after the memory)");
    }
    let vcpu = vm.create_vcpu(0).expect("KVM_CREATE_VCPU");
    step("KVM_CREATE_VCPU");
    drop(vcpu);
    drop(vm);
    0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize, default: usize| {
        args.get(i)
            .map(|a| a.parse().expect("a number"))
            .unwrap_or(default)
    };
    let code = match args.get(1).map(String::as_str) {
        Some("ops") => {
            ops(num(2, 200));
            0
        }
        Some("kvm") => kvm(num(2, 128), args.get(3).is_some_and(|a| a == "irqchip")),
        _ => {
            eprintln!("usage: hostbench ops [ROUNDS] | hostbench kvm [MEMORY_MIB [irqchip]]");
            2
        }
    };
    std::process::exit(code);
}
