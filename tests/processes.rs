//! Processes as a user at the console sees them: the shell runs programs,
//! the timer preempts them, `ps` shows their states, `stop`/`cont`/`kill`
//! and `wait` work, faults kill only the faulting process, a full process
//! table fails cleanly, and the kernel's own hostile battery passes.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn init_program_from_the_vmm_command_line() {
    let r = run_vmm(
        &["--timeout", "20", "--init", "/bin/echo", "hi", "there"],
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(has_line(&r.stdout, "hi there"), "{}", r.dump());
}

#[test]
fn init_is_found_by_bare_name_and_takes_any_argument() {
    let r = run_vmm(
        &[
            "--timeout",
            "20",
            "--init",
            "echo",
            "two  spaces",
            "",
            "a\"quote",
            "back\\slash",
        ],
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(r.code, 0, "{}", r.dump());
    // echo joins its arguments with one space: the double space and the
    // empty argument's extra space came through as given.
    assert!(
        has_line(&r.stdout, "two  spaces  a\"quote back\\slash"),
        "{}",
        r.dump()
    );
    let r = run_vmm(
        &["--timeout", "20", "--init", "no-such-program"],
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(r.code, 127, "{}", r.dump());
    assert!(
        has_line(
            &r.stdout,
            "kernel: cannot start init /bin/no-such-program: no such file or directory"
        ),
        "{}",
        r.dump()
    );
}

#[test]
fn init_exit_status_is_the_vm_exit_status() {
    let r = run_vmm(
        &["--timeout", "20", "--init", "/bin/false"],
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(r.code, 1, "{}", r.dump());
}

#[test]
fn shell_runs_programs_and_exits_with_a_status() {
    let r = boot(&[], "echo hello world\nnosuchprogram\ntrue\nexit 3\n");
    assert_eq!(r.code, 3, "{}", r.dump());
    assert!(r.stdout.contains("$ "), "a prompt: {}", r.dump());
    assert!(has_line(&r.stdout, "hello world"), "{}", r.dump());
    assert!(
        r.stdout.contains("sh: nosuchprogram: command not found"),
        "{}",
        r.dump()
    );
}

#[test]
fn end_of_input_ends_the_shell_and_the_vm() {
    let r = boot(&[], "echo bye\n");
    assert_eq!(r.code, 0, "{}", r.dump());
}

#[test]
fn timer_preempts_two_spinners() {
    let mut s = Session::start(&[]);
    s.expect("$ ");
    let ja = s.sh("spin 2000 &");
    let jb = s.sh("spin 2000 &");
    let (a, b) = (job_pid(&ja), job_pid(&jb));
    s.sh("sleep 0.5");
    let ps = s.sh("ps");
    let (ra, rb) = (row(&ps, a), row(&ps, b));
    // Both advanced while the shell slept: neither starved the other.
    assert!(ra.ticks >= 50 && rb.ticks >= 50, "{ra:?} {rb:?}\n{ps}");
    assert!(
        ra.involuntary > 0 && rb.involuntary > 0,
        "the timer took the CPU from both: {ra:?} {rb:?}"
    );
    // One of them is on the CPU or waiting for it, never blocked.
    for r in [&ra, &rb] {
        assert!(r.state == "runnable" || r.state == "running", "{r:?}");
    }
    // The shell reports jobs that ended before its next prompt, so the
    // report comes after `kill` or after `wait`.
    let waited = s.sh(&format!("kill {a} {b}")) + &s.sh("wait");
    // The shell's kill sends SIGTERM.
    for j in [&ja, &jb] {
        assert!(
            has_job_report(&waited, job_number(j), "Terminated"),
            "{waited}"
        );
    }
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn ps_shows_each_state() {
    let mut s = Session::start(&[]);
    s.expect("$ ");
    let spinner = job_pid(&s.sh("spin 5000 &"));
    let sleeper = job_pid(&s.sh("sleep 30 &"));
    let stopped = job_pid(&s.sh("spin 5000 &"));
    s.sh(&format!("stop {stopped}"));
    // ps in the background: the shell is then blocked reading the console.
    s.send("ps &\n");
    let ps = s.expect_where("ps's [N] PID line and its whole table", |t| {
        find_job(t)
            .is_some_and(|(_, ps_pid)| has_rows(t, &[1, 2, spinner, sleeper, stopped, ps_pid]))
    });
    let rows = parse_ps(&ps);
    let state = |pid: u32| rows.iter().find(|r| r.pid == pid).map(|r| r.state.clone());
    assert_eq!(
        state(1).as_deref(),
        Some("sleeping(wait)"),
        "init waits\n{ps}"
    );
    assert_eq!(state(sleeper).as_deref(), Some("sleeping(sleep)"), "{ps}");
    assert_eq!(state(stopped).as_deref(), Some("stopped"), "{ps}");
    let spin = state(spinner).unwrap();
    assert!(spin == "runnable" || spin == "running", "{ps}");
    let ps_row = rows.iter().find(|r| r.name == "ps").expect("ps itself");
    assert_eq!(ps_row.state, "running", "ps sees itself on the CPU\n{ps}");
    let sh_row = rows.iter().find(|r| r.name == "sh").expect("the shell");
    assert_eq!(
        sh_row.state, "sleeping(io)",
        "the shell waits for input\n{ps}"
    );
    // A zombie: a child that exited and has not been waited for.
    let z = s.sh("zombie");
    let zrows = parse_ps(&z);
    assert!(
        zrows.iter().any(|r| r.state == "zombie"),
        "the zombie demo shows one:\n{z}"
    );
    s.sh(&format!("kill {spinner} {sleeper} {stopped}"));
    s.sh("wait");
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn stop_freezes_ticks_and_cont_resumes() {
    let mut s = Session::start(&[]);
    s.expect("$ ");
    let job = s.sh("spin 10000 &");
    let pid = job_pid(&job);
    s.sh("sleep 0.2");
    s.sh(&format!("stop {pid}"));
    let t1 = row(&s.sh("ps"), pid);
    assert_eq!(t1.state, "stopped");
    s.sh("sleep 0.3");
    let t2 = row(&s.sh("ps"), pid);
    assert_eq!(t1.ticks, t2.ticks, "a stopped process does not run");
    s.sh(&format!("cont {pid}"));
    s.sh("sleep 0.3");
    let t3 = row(&s.sh("ps"), pid);
    assert!(t3.ticks > t2.ticks + 20, "{t2:?} then {t3:?}");
    let w = s.sh(&format!("kill {pid}")) + &s.sh("wait");
    assert!(has_job_report(&w, job_number(&job), "Terminated"), "{w}");
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn every_fault_kills_only_the_faulting_process() {
    let kinds = [
        ("null", "page fault"),
        ("gpf", "general protection fault"),
        ("divide", "divide error"),
        ("ud2", "invalid opcode"),
        ("stack", "stack overflow"),
        ("kernel", "page fault"),
        ("breakpoint", "breakpoint"),
    ];
    let mut input = String::new();
    for (kind, _) in kinds {
        input.push_str(&format!("crashme {kind}\necho  alive  after  {kind}\n"));
    }
    input.push_str("exit 0\n");
    let r = boot(&[], &input);
    assert_eq!(r.code, 0, "the shell and init survive: {}", r.dump());
    for (kind, cause) in kinds {
        assert!(
            has_line(&r.stdout, &format!("alive after {kind}")),
            "{kind}: {}",
            r.dump()
        );
        let line = r
            .stdout
            .lines()
            .find(|l| l.contains("(crashme): ") && l.contains(cause) && l.ends_with(": killed"));
        assert!(
            line.is_some(),
            "{kind}: no kernel line naming {cause}: {}",
            r.dump()
        );
    }
}

#[test]
fn fork_bomb_fills_the_table_and_the_system_recovers() {
    let r = boot(
        &["--cmdline", "nproc=32"],
        "forkbomb\nforkbomb\necho  still  here\nexit 0\n",
    );
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(
        r.stdout.matches("forkbomb: table full after").count(),
        2,
        "{}",
        r.dump()
    );
    assert!(r.stdout.contains("(EAGAIN)"), "{}", r.dump());
    assert!(has_line(&r.stdout, "still here"), "{}", r.dump());
}

#[test]
fn lazy_loading_shows_in_page_faults() {
    let mut s = Session::start(&[]);
    s.expect("$ ");
    let ps = s.sh("ps");
    let me = parse_ps(&ps)
        .into_iter()
        .find(|r| r.name == "ps")
        .expect("ps row");
    // ps was loaded on first touch: its text, data, stack and heap pages
    // each took a fault, and only those pages are mapped.
    assert!(me.faults >= 4, "{me:?}");
    assert!(me.mem_kib >= 4 * me.faults / 2, "{me:?}");
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn usertests_pass() {
    let r = run_vmm(
        &["--timeout", "120", "--init", "/bin/usertests"],
        b"",
        Duration::from_secs(150),
    );
    // sbrk_exhaustion fills memory only when there is little of it (see
    // hostile.rs); with the default 128 MiB it says so and skips.
    check_usertests(&r.stdout, &usertests_cases(&[]), &["sbrk_exhaustion"]);
    assert_eq!(r.code, 0, "{}", r.dump());
}

#[test]
fn a_large_piped_script_arrives_whole() {
    let mut input = String::new();
    // Well past the 4 KiB that once got stuck, with a process per line.
    for i in 0..160 {
        input.push_str(&format!("echo line {i} of a long piped script\n"));
    }
    input.push_str("exit 5\n");
    let r = boot(&[], &input);
    assert_eq!(r.code, 5, "{}", r.dump());
    for i in 0..160 {
        let want = format!("line {i} of a long piped script");
        assert!(has_line(&r.stdout, &want), "missing {want:?}");
    }
}

#[test]
fn ctrl_p_prints_the_table_from_inside_the_kernel_while_processes_spin() {
    let mut s = Session::start(&[]);
    s.expect("$ ");
    let a = job_pid(&s.sh("spin 5000 &"));
    let b = job_pid(&s.sh("spin 5000 &"));
    // Ctrl-P: the kernel prints its table from the console interrupt, with
    // no process's help (both spinners keep the CPU busy).
    s.send("\x10");
    // The kernel prints the table as `ps` does.
    let table = s.expect_where("a Ctrl-P table with init, sh and both spinners", |t| {
        t.contains("TICKS") && has_rows(t, &[1, 2, a, b])
    });
    for pid in [a, b] {
        assert_eq!(row(&table, pid).name, "spin", "{table}");
    }
    s.sh(&format!("kill {a} {b}"));
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn scrub_zeroes_every_frame_and_programs_still_run() {
    // With `scrub` the kernel does not trust fresh RAM to be zero; the
    // programs' zero-filled pages (bss, heap, stack) must be zero either way.
    let r = run_vmm(
        &[
            "--timeout",
            "60",
            "--cmdline",
            "scrub",
            "--init",
            "/bin/usertests",
            "sbrk",
        ],
        b"",
        Duration::from_secs(90),
    );
    check_usertests(&r.stdout, &usertests_cases(&["sbrk"]), &["sbrk_exhaustion"]);
    assert_eq!(r.code, 0, "{}", r.dump());
}

#[test]
fn orphans_go_to_init_which_reaps_them() {
    let mut s = Session::start(&[]);
    s.expect("$ ");
    // usertests' orphan case: a child forks a grandchild and exits; the
    // grandchild, adopted by init, reports its new parent and exits.
    let out = s.sh("usertests orphan_reparent");
    assert!(out.contains("orphan_reparent ... ok"), "{out}");
    // Once it has exited, init has reaped it: no zombie is left.
    s.sh("sleep 0.2");
    let ps = s.sh("ps");
    let rows = parse_ps(&ps);
    assert!(rows.iter().all(|r| r.state != "zombie"), "{ps}");
    assert!(rows.iter().all(|r| r.name != "usertests"), "{ps}");
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn a_sleeper_stops_at_once_and_resumes_asleep() {
    let mut s = Session::start(&[]);
    s.expect("$ ");
    let long_job = s.sh("sleep 30 &");
    let short_job = s.sh("sleep 0.3 &");
    let (long, short) = (job_pid(&long_job), job_pid(&short_job));
    s.sh(&format!("stop {long} {short}"));
    let ps = s.sh("ps");
    assert_eq!(row(&ps, long).state, "stopped", "{ps}");
    assert_eq!(row(&ps, short).state, "stopped", "{ps}");
    // The short sleep ends while stopped: it stays stopped, not finished.
    s.sh("sleep 0.5");
    let ps = s.sh("ps");
    assert_eq!(row(&ps, short).state, "stopped", "{ps}");
    // Resumed: the long one sleeps on, the short one runs and exits.
    let out = s.sh(&format!("cont {long} {short}")) + &s.sh("sleep 0.2") + &s.sh("ps");
    assert_eq!(row(&out, long).state, "sleeping(sleep)", "{out}");
    assert!(
        has_job_report(&out, job_number(&short_job), "Done"),
        "{out}"
    );
    let out = s.sh(&format!("kill {long}")) + &s.sh("wait");
    assert!(
        has_job_report(&out, job_number(&long_job), "Terminated"),
        "{out}"
    );
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn bench_reports_every_operation() {
    // Figures only (timings belong to benchmarks, not tests): each line is
    // there with a positive number.
    let r = run_vmm(
        &["--timeout", "60", "--init", "/bin/bench", "20"],
        b"",
        Duration::from_secs(90),
    );
    assert_eq!(r.code, 0, "{}", r.dump());
    for op in [
        "getpid",
        "switch_yield",
        "switch_pipe",
        "fork_exit_wait",
        "spawn_exit_wait",
        "fault_heap",
        "fault_data",
        "fault_text",
    ] {
        let line = r
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("bench: {op} ")))
            .unwrap_or_else(|| panic!("no {op} line: {}", r.dump()));
        let ns: u64 = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("median_ns="))
            .unwrap_or_else(|| panic!("no median in {line}"))
            .parse()
            .unwrap();
        assert!(ns > 0, "{line}");
    }
}

#[test]
fn a_killed_shell_is_replaced_and_stopping_your_own_shell_is_refused() {
    let r = boot(&[], "kill -9 2\necho  new  shell\nexit 5\n");
    assert_eq!(r.code, 5, "the new shell's exit ends the VM: {}", r.dump());
    assert!(
        has_line(
            &r.stdout,
            "init: the shell (pid 2) ended: killed; starting a new shell"
        ),
        "{}",
        r.dump()
    );
    assert!(has_line(&r.stdout, "new shell"), "{}", r.dump());

    let r = boot(&[], "stop 2\necho  still  here\nexit 4\n");
    assert_eq!(r.code, 4, "{}", r.dump());
    assert!(
        r.stdout.lines().any(|l| l
            .trim_start_matches("$ ")
            .starts_with("stop: 2 is the shell you are typing into;")),
        "{}",
        r.dump()
    );
    assert!(has_line(&r.stdout, "still here"), "{}", r.dump());
}
