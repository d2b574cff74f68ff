//! Files as the shell uses them: redirections in each direction, `>>`,
//! pipelines, `cd` and relative paths, `ls`, and the errors a user meets.
//! Each test pipes a script into a fresh VM and checks what the guest
//! printed (output lines have two blanks where the typed line has one, so
//! the console's echo of the script never matches).

mod common;

use common::*;

/// Runs `script` (lines) in a fresh VM; its output.
fn run(script: &str) -> Run {
    let r = boot(&[], &format!("{script}\nexit 0\n"));
    assert_eq!(r.code, 0, "{}", r.dump());
    r
}

fn assert_lines(r: &Run, want: &[&str]) {
    for w in want {
        assert!(has_line(&r.stdout, w), "no line {w:?}:\n{}", r.dump());
    }
}

#[test]
fn output_input_and_append_redirections() {
    let r = run("echo  first  line > /tmp/f\n\
         echo  second >> /tmp/f\n\
         cat < /tmp/f\n\
         cat /tmp/f > /tmp/g\n\
         cat  /tmp/g");
    // `cat < /tmp/f` and `cat /tmp/g` each print both lines.
    for w in ["first line", "second"] {
        let n = r
            .stdout
            .lines()
            .filter(|l| l.trim_start_matches("$ ") == w)
            .count();
        assert_eq!(n, 2, "{w:?} {n} times:\n{}", r.dump());
    }
    // `>` empties what was there.
    let r = run("echo  old > /tmp/h\necho  new > /tmp/h\ncat /tmp/h");
    assert_lines(&r, &["new"]);
    assert!(!has_line(&r.stdout, "old"), "{}", r.dump());
}

#[test]
fn standard_error_goes_where_it_is_sent() {
    let r = run("cat /no/such 2> /tmp/err\n\
         echo  \"status $?\"\n\
         cat /tmp/err\n\
         cat /no/other > /tmp/both 2>&1\n\
         cat /tmp/both");
    assert_lines(
        &r,
        &[
            "status 1",
            "cat: /no/such: no such file or directory",
            "cat: /no/other: no such file or directory",
        ],
    );
    // The first error went to the file only: it shows once (from `cat`).
    let n = r
        .stdout
        .lines()
        .filter(|l| l.ends_with("cat: /no/such: no such file or directory"))
        .count();
    assert_eq!(n, 1, "{}", r.dump());
}

#[test]
fn pipelines_connect_their_commands() {
    let r = run("echo  through  three  pipes | cat | cat | cat\n\
         ls /bin | cat > /tmp/list\n\
         cat /tmp/list\n\
         ps | grep sh | wc -l");
    assert_lines(&r, &["through three pipes", "sh", "init", "ls"]);
    // One shell in the table: wc counted one line (its count alone on
    // its line, as Unix's wc -l prints it).
    assert!(
        r.stdout
            .lines()
            .any(|l| l.trim_start_matches("$ ").trim() == "1"),
        "{}",
        r.dump()
    );
}

#[test]
fn a_pipeline_is_one_job_in_one_process_group() {
    let mut s = Session::start(&[]);
    s.expect("$ ");
    let job = s.sh("spin 100000 | cat &");
    let first = job_pid(&job);
    let ps = s.sh("ps");
    let spin = row(&ps, first);
    let cat = parse_ps(&ps)
        .into_iter()
        .find(|r| r.name == "cat")
        .unwrap_or_else(|| panic!("no cat in:\n{ps}"));
    assert_eq!(spin.pgid, first, "{ps}");
    assert_eq!(
        cat.pgid, first,
        "the pipeline shares the first's group:\n{ps}"
    );
    let out = s.sh(&format!("kill %{}; wait", job_number(&job)));
    assert!(
        has_job_report(&out, job_number(&job), "Terminated"),
        "{out}"
    );
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn cd_pwd_and_relative_paths() {
    let r = run("cd /tmp\n\
         pwd\n\
         echo  here > rel\n\
         cat /tmp/rel\n\
         cd ..\n\
         pwd\n\
         cat tmp/rel\n\
         cd /nope\n\
         cd /etc/motd\n\
         pwd");
    assert_lines(
        &r,
        &[
            "/tmp",
            "/",
            "here",
            "sh: cd: /nope: no such file or directory",
            "sh: cd: /etc/motd: not a directory",
        ],
    );
}

#[test]
fn ls_lists_directories() {
    let r = run("ls /\nls -l /etc\nls /nope");
    assert_lines(
        &r,
        &["bin", "etc", "tmp", "ls: /nope: no such file or directory"],
    );
    let motd = r
        .stdout
        .lines()
        .map(|l| l.trim_start_matches("$ "))
        .find(|l| l.starts_with("- ") && l.ends_with(" motd"))
        .unwrap_or_else(|| panic!("no motd line:\n{}", r.dump()));
    let size: u64 = motd.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(size > 0, "{motd}");
}

#[test]
fn redirection_errors_are_one_line_and_the_shell_goes_on() {
    let r = run("echo  x > /no/such/dir/f\n\
         echo  \"after $?\"\n\
         cat < /nope\n\
         echo  x > /etc\n\
         echo  x 2>&9\n\
         echo  still  here");
    assert_lines(
        &r,
        &[
            "sh: /no/such/dir/f: no such file or directory",
            "after 1",
            "sh: /nope: no such file or directory",
            "sh: /etc: is a directory",
            "sh: 9: bad file descriptor",
            "still here",
        ],
    );
}

/// `vmm ctl --json files PID` of the VM at `sock`.
fn files(sock: &std::path::Path, pid: u32) -> serde_json::Value {
    let r = ctl(sock, &["--json", "files", &pid.to_string()]);
    assert_eq!(r.code, 0, "{}", r.dump());
    serde_json::from_str(r.stdout.trim()).expect("JSON")
}

/// Waits until `pid` is stopped (the host's view of the table).
fn await_stopped(sock: &std::path::Path, pid: u32) {
    let deadline = std::time::Instant::now() + EXPECT_LIMIT;
    loop {
        let ps = ctl(sock, &["ps"]);
        if find_row(&ps.stdout, pid).is_some_and(|r| r.state == "stopped") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pid {pid} not stopped:\n{}",
            ps.stdout
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn the_host_sees_the_fds_the_shell_redirected() {
    let sock = scratch_dir("redir-files").join("vm.sock");
    let mut s = Session::start(&["--api-sock", sock.to_str().unwrap()]);
    s.expect("$ ");
    s.sh("cd /tmp");
    // cat reads the console from the background (so it stops, SIGTTIN),
    // its output to a file, appended to.
    let cat = job_pid(&s.sh("cat >> /tmp/out &"));
    await_stopped(&sock, cat);
    let v = files(&sock, cat);
    assert_eq!(v["cwd"], "/tmp", "{v}");
    let fd1 = &v["fds"][1];
    assert_eq!(
        (&fd1["fd"], &fd1["kind"], &fd1["flags"], &fd1["path"]),
        (
            &1.into(),
            &"file".into(),
            &"w,append".into(),
            &"/tmp/out".into()
        ),
        "{v}"
    );
    assert_eq!(v["fds"][0]["kind"], "console", "{v}");
    // A pipeline: the first cat's fd 1 and the second's fd 0 are the two
    // ends of one pipe.
    let job = s.sh("cat | cat &");
    let first = job_pid(&job);
    await_stopped(&sock, first);
    let second = parse_ps(&ctl(&sock, &["ps"]).stdout)
        .into_iter()
        .find(|r| r.name == "cat" && r.pgid == first && r.pid != first)
        .expect("the second cat")
        .pid;
    let (a, b) = (files(&sock, first), files(&sock, second));
    let out = a["fds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fd"] == 1)
        .unwrap()
        .clone();
    let inp = b["fds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fd"] == 0)
        .unwrap()
        .clone();
    assert_eq!(out["kind"], "pipe (write)", "{a}");
    assert_eq!(inp["kind"], "pipe (read)", "{b}");
    assert_eq!(out["id"], inp["id"], "one pipe:\n{a}\n{b}");
    // The shell's own fds came back as they were.
    s.send("kill -9 %1 %2; wait\n");
    s.expect("$ ");
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

/// The walkthrough's redirection lesson, step by step: `redir -s` forks;
/// the child stops just after the fork (its fds are its parent's), then
/// with fd 1 on the file, before it execs `wc`, whose count lands in the
/// file.
#[test]
fn redir_shows_fork_close_open_exec() {
    let sock = scratch_dir("redir-lesson").join("vm.sock");
    let mut s = Session::start(&["--api-sock", sock.to_str().unwrap()]);
    s.expect("$ ");
    let parent = job_pid(&s.sh("redir -s /tmp/count wc /etc/motd &"));
    // The child: redir's only child.
    let child = {
        let deadline = std::time::Instant::now() + EXPECT_LIMIT;
        loop {
            let ps = ctl(&sock, &["ps"]);
            if let Some(r) = parse_ps(&ps.stdout)
                .into_iter()
                .find(|r| r.ppid == parent && r.state == "stopped")
            {
                break r.pid;
            }
            assert!(std::time::Instant::now() < deadline, "{}", ps.stdout);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let before = files(&sock, child);
    assert_eq!(before["name"], "redir", "{before}");
    assert_eq!(before["fds"][1]["kind"], "console", "{before}");
    s.sh(&format!("cont {child}"));
    // Stopped again, with fd 1 on the file: wait for the second stop.
    let deadline = std::time::Instant::now() + EXPECT_LIMIT;
    let after = loop {
        let v = files(&sock, child);
        if v["state"] == "stopped" && v["fds"][1]["kind"] == "file" {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "{v}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(
        (&after["fds"][1]["path"], &after["fds"][1]["flags"]),
        (&"/tmp/count".into(), &"w".into()),
        "{after}"
    );
    assert_eq!(after["fds"][0]["kind"], "console", "{after}");
    s.sh(&format!("cont {child}"));
    let out = s.sh("wait %1") + &s.sh("cat /tmp/count");
    assert!(
        has_line(&out, &format!("redir: child {child} (wc) exit 0")),
        "{out}"
    );
    // wc's line: lines, words, bytes, the name.
    let count = out
        .lines()
        .map(|l| l.trim_start_matches("$ ").split_whitespace().collect::<Vec<_>>())
        .find(|w| {
            w.len() == 4 && w[3] == "/etc/motd" && w[..3].iter().all(|n| n.parse::<u64>().is_ok())
        });
    assert!(count.is_some(), "no count of /etc/motd in:\n{out}");
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}
