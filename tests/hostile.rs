//! Hostile input and faults: the kernel survives, reports clearly, and
//! loses nothing. usertests' memory exhaustion (the rest of its battery
//! runs in processes.rs), the system-call fuzzer with its process table
//! checked from the host (`vmm ctl --json ps` while it lingers, and the
//! `--events` file of the whole run), and a process's kernel stack
//! running into its guard page; and the host side of the console under a
//! guest that floods it and a host that floods the guest.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use vmm::exitcode::GUEST_CRASH;

#[test]
fn a_process_that_takes_all_memory_fails_cleanly_and_everything_comes_back() {
    // 16 MiB, so the hog fills it in a few seconds (a page fault is slow
    // where ring 0 is emulated). The case checks sbrk's ENOMEM, fork, spawn and
    // pipe while memory is gone, that shrinking frees it, that pipes and
    // spawn work again; the battery checks every frame and slot came back.
    let r = run_vmm(
        &[
            "--timeout",
            "120",
            "--memory",
            "16M",
            "--init",
            "/bin/usertests",
            "sbrk",
            "pipe",
            "spawn",
        ],
        b"",
        Duration::from_secs(150),
    );
    // All of them run here, sbrk_exhaustion included.
    check_usertests(&r.stdout, &usertests_cases(&["sbrk", "pipe", "spawn"]), &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
}

#[test]
fn usertests_with_a_small_table_and_little_memory() {
    // The table fills at 16 slots; the hostile cases that do not depend on
    // memory size.
    let names = [
        "fork_",
        "kill",
        "suspend",
        "wait",
        "pids_not_reused",
        "reparent",
        "sysinfo",
        "bad_pointers",
        "huge_lengths",
    ];
    let mut args = vec![
        "--timeout",
        "120",
        "--memory",
        "32M",
        "--cmdline",
        "nproc=16",
        "--init",
        "/bin/usertests",
    ];
    args.extend(names);
    let r = run_vmm(&args, b"", Duration::from_secs(150));
    check_usertests(&r.stdout, &usertests_cases(&names), &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
}

/// A sysfuzz run as init with a control socket and an events file: the
/// guest's own verdict, then the host's look at its table while it
/// lingers, then the events of the whole run.
fn fuzz_and_check(seed: u64, calls: u64, extra: &[&str]) {
    let dir = scratch_dir(&format!("sysfuzz-{seed}"));
    let (sock, events) = (dir.join("vm.sock"), dir.join("events.jsonl"));
    let seed_s = seed.to_string();
    let calls_s = calls.to_string();
    let mut args = vec![
        "--timeout",
        "150",
        "--api-sock",
        sock.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend(["--init", "/bin/sysfuzz", &seed_s, &calls_s, "3000"]);
    require_kvm();
    let mut s = Session::spawn(&args);
    // The whole run, within vmm's --timeout.
    let out = s.expect_within("sysfuzz: done", Duration::from_secs(150));
    // The guest's verdict: calls made, nothing found, nothing left.
    let calls_line = out
        .lines()
        .find(|l| l.contains(" calls by "))
        .unwrap_or_else(|| panic!("no summary:\n{out}"));
    let made: u64 = calls_line
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{calls_line}"));
    assert!(made >= calls / 2, "only {made} calls: {calls_line}");
    assert!(out.contains("; 0 findings"), "{out}");
    assert!(out.contains("sysfuzz: table clean"), "{out}");
    assert!(!out.contains("LEFT") && !out.contains("LEAK"), "{out}");

    // The host's view while it lingers: sysfuzz alone, asleep; the table
    // read consistently. It prints "done" just before it goes to sleep, so
    // the host looks until it sees it asleep (or it has lingered long).
    let deadline = Instant::now() + Duration::from_secs(2);
    let v = loop {
        let ps = ctl(&sock, &["--json", "ps"]);
        assert_eq!(ps.code, 0, "{}", ps.dump());
        let v: Value = serde_json::from_str(ps.stdout.trim()).expect("JSON");
        if v["procs"][0]["state"] == "sleeping" || Instant::now() > deadline {
            break v;
        }
    };
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["consistent"], true, "{v}");
    let procs = v["procs"].as_array().unwrap();
    assert_eq!(procs.len(), 1, "only init is left: {v}");
    assert_eq!(procs[0]["pid"], 1);
    assert_eq!(procs[0]["name"], "sysfuzz");
    assert_eq!(procs[0]["state"], "sleeping", "{v}");

    // It lingers 3 s more, then powers off.
    let r = s.finish();
    assert_eq!(r.code, 0, "{}", r.dump());

    // The events of the whole run: every process the fuzz made was
    // created once, ended and was freed; states changed only between
    // valid ones, each from the state it was in.
    let text = std::fs::read_to_string(&events).unwrap();
    let evs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    const STATES: [&str; 7] = [
        "unused", "embryo", "sleeping", "runnable", "running", "zombie", "stopped",
    ];
    let mut created: HashSet<u64> = HashSet::new();
    let mut state: HashMap<u64, String> = HashMap::new();
    let (mut exited, mut freed) = (HashSet::new(), HashSet::new());
    for e in &evs {
        let pid = e["pid"].as_u64().unwrap();
        match e["event"].as_str().unwrap() {
            "create" => assert!(created.insert(pid), "pid {pid} created twice"),
            "exit" => assert!(exited.insert(pid), "pid {pid} exited twice"),
            "state" => {
                let (from, to) = (e["from"].as_str().unwrap(), e["to"].as_str().unwrap());
                assert!(STATES.contains(&from) && STATES.contains(&to), "{e}");
                let was = state.get(&pid).map_or("unused", String::as_str);
                assert_eq!(was, from, "pid {pid}: {e}");
                if to == "unused" {
                    assert!(freed.insert(pid), "pid {pid} freed twice");
                }
                state.insert(pid, to.to_string());
            }
            _ => {}
        }
    }
    assert!(created.len() > 20, "{} processes", created.len());
    for pid in &created {
        if *pid == 1 {
            continue;
        }
        assert!(exited.contains(pid), "pid {pid} never exited");
        assert!(freed.contains(pid), "pid {pid} never freed");
        assert_eq!(state[pid], "unused", "pid {pid}");
    }
}

#[test]
fn sysfuzz_seed_1_leaves_a_clean_table() {
    fuzz_and_check(1, 1500, &[]);
}

#[test]
fn sysfuzz_seed_2_leaves_a_clean_table() {
    fuzz_and_check(2, 1500, &[]);
}

#[test]
fn sysfuzz_in_a_small_machine_leaves_a_clean_table() {
    // A 16-slot table and 16 MiB: forks and spawns fail for want of slots
    // and memory along the way.
    fuzz_and_check(3, 1500, &["--memory", "16M", "--cmdline", "nproc=16"]);
}

#[test]
fn sysfuzz_refuses_bad_usage() {
    let r = run_vmm(
        &["--timeout", "20", "--init", "/bin/sysfuzz", "x"],
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(r.code, 2, "{}", r.dump());
    assert!(r.stdout.contains("usage: sysfuzz"), "{}", r.dump());
}

/// Checks the report of a kernel stack overflow of slot 0.
fn check_kstack_report(r: &Run, who: &str) {
    assert_eq!(r.code, GUEST_CRASH, "{}", r.dump());
    let report = r
        .stdout
        .lines()
        .find(|l| l.contains("KERNEL CRASH: "))
        .unwrap_or_else(|| panic!("no crash report: {}", r.dump()));
    assert!(report.contains("(#DF, vector 8)"), "{report}");
    // The faulting access was in the guard page just below the stack.
    assert!(report.contains("cr2=0xffffff0000000"), "{report}");
    assert!(
        r.stdout.contains(&format!(
            "kernel stack overflow: rsp=0xffffff0000001000 reached the guard page of the kernel stack of slot 0 ({who})"
        )),
        "{}",
        r.dump()
    );
    assert!(
        r.stderr.contains("guest crashed: kernel double fault"),
        "{}",
        r.dump()
    );
}

#[test]
fn a_process_kernel_stack_overflow_hits_its_guard_page_and_is_reported() {
    let r = boot(&["--cmdline", "crash=kstack", "--init", "/bin/true"], "");
    check_kstack_report(&r, "pid 1, true");
    // The post-mortem shows the process whose stack it was.
    assert!(r.stderr.contains("current pid 0"), "{}", r.dump());
    assert!(r.stderr.contains("true"), "{}", r.dump());
}

#[test]
fn a_kernel_stack_overflow_without_processes_is_reported_too() {
    let r = boot_kmon(&["--cmdline", "crash=kstack"], "");
    check_kstack_report(&r, "pid 0, no process");
}

/// Waits up to `limit` for `child` to end (killing it then); its status.
fn wait_within(child: &mut Child, limit: Duration) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vmm still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A thread that collects everything `src` yields.
fn collect(mut src: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = src.read_to_end(&mut all);
        all
    })
}

#[test]
fn a_console_flood_into_a_stalled_stdout_neither_stops_the_guest_nor_loses_count() {
    require_kvm();
    // 256 KiB: four times the pipe, which nobody reads until vmm ends.
    let flood = 256 << 10;
    let start = Instant::now();
    let mut child = Command::new(vmm_bin())
        .args([
            "--timeout",
            "60",
            "--init",
            "/bin/flood",
            &flood.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = collect(child.stderr.take().unwrap());
    let code = wait_within(&mut child, Duration::from_secs(90));
    let elapsed = start.elapsed();
    // Only now is stdout read: what the pipe held when vmm gave up.
    let got = collect(child.stdout.take().unwrap()).join().unwrap();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
    assert_eq!(code, 0, "flood's status is the VM's: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("bytes of console output could not be written"))
        .unwrap_or_else(|| panic!("no count of the lost output: {stderr}"));
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [lost, total] = numbers[..] else {
        panic!("no 'L of the T bytes' in {line:?}")
    };
    assert!(
        total > flood + flood / 64,
        "the guest wrote its lines (each with \\r\\n): {line}"
    );
    assert_eq!(
        got.len() as u64 + lost,
        total,
        "every byte the guest wrote is on stdout or counted as lost: {line}"
    );
    assert!(
        lost > 0 && got.len() >= 4096,
        "{} bytes reached stdout",
        got.len()
    );
    // The vCPU never waited for the pipe: the run ends its 2 s grace for
    // the writer after the guest powered off, not when a timeout hits.
    assert!(
        elapsed < Duration::from_secs(50),
        "the guest was held up by the stalled stdout ({elapsed:?})"
    );
}

#[test]
fn a_host_input_flood_is_held_off_while_the_guest_does_not_read() {
    require_kvm();
    let mut child = Command::new(vmm_bin())
        .args(["--timeout", "60", "--init", "/bin/sleep", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = (
        collect(child.stdout.take().unwrap()),
        collect(child.stderr.take().unwrap()),
    );
    // Offers 256 MiB, a chunk at a time, until vmm stops taking it.
    let accepted = Arc::new(AtomicU64::new(0));
    let writer = {
        let mut stdin = child.stdin.take().unwrap();
        let accepted = accepted.clone();
        std::thread::spawn(move || {
            let chunk = vec![b'x'; 64 << 10];
            for _ in 0..4096 {
                if stdin.write_all(&chunk).is_err() {
                    break;
                }
                accepted.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        })
    };
    // Samples what vmm took and its memory for as long as the guest runs
    // (it never reads): the bounds must hold at every moment.
    let rss_kib = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
    };
    let (mut during, mut rss_max) = (0, 0);
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        during = during.max(accepted.load(Ordering::SeqCst));
        rss_max = rss_max.max(rss_kib(child.id()).unwrap_or(0));
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "vmm still running after 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    writer.join().unwrap();
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let dump = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    assert_eq!(code, 0, "sleep ends the VM normally: {dump}");
    // What vmm may hold: its 64 KiB budget, a 4 KiB read, the kernel's
    // 4 KiB ring and the UART's FIFO; the pipe holds 64 KiB more.
    assert!(
        during <= 512 << 10,
        "vmm took {during} bytes of input nobody reads"
    );
    assert!(
        rss_max < 256 << 10,
        "vmm's resident memory grew to {rss_max} KiB"
    );
    assert!(during > 0, "the writer got some input in: {dump}");
}

/// The `--stats` count of accesses to nothing: port reads, port writes,
/// MMIO reads, MMIO writes (zeros when the line is absent: there were none).
fn unassigned_counts(r: &Run) -> [u64; 4] {
    let Some(line) = r.stderr.lines().find(|l| l.contains("accesses to nothing")) else {
        return [0; 4];
    };
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.trim_end_matches(',').parse().ok())
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|_| panic!("four counts in {line:?}"))
}

#[test]
fn ports_and_mmio_nobody_claims_read_all_ones_at_every_width_and_the_vm_runs_on() {
    let quiet = boot_kmon(&["--stats"], "poweroff 3\n");
    let probed = boot_kmon(&["--stats"], "probe\nprobe\necho still here\npoweroff 3\n");
    for r in [&quiet, &probed] {
        assert_eq!(r.code, 3, "{}", r.dump());
    }
    let port = format!(
        "probe: port {:#x}: in8 0xff, in16 0xffff, in32 0xffffffff; out8, out16, out32 done",
        abi::port::PROBE_PORT
    );
    let mmio = format!(
        "probe: mmio {:#x}: read8 0xff, read16 0xffff, read32 0xffffffff, \
         read64 0xffffffffffffffff; write8, write16, write32, write64 done",
        abi::port::PROBE_MMIO
    );
    assert_eq!(
        lines_starting(&probed.stdout, &port).len(),
        2,
        "{}",
        probed.dump()
    );
    assert_eq!(
        lines_starting(&probed.stdout, &mmio).len(),
        2,
        "{}",
        probed.dump()
    );
    assert!(has_line(&probed.stdout, "still here"), "{}", probed.dump());
    // Each access is one exit, counted by direction: two probes of three
    // port reads, three port writes, four MMIO reads and four MMIO writes.
    let (a, b) = (unassigned_counts(&quiet), unassigned_counts(&probed));
    let grew: Vec<u64> = (0..4).map(|i| b[i] - a[i]).collect();
    assert_eq!(grew, [6, 6, 8, 8], "{}", probed.dump());
}
