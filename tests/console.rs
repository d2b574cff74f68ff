//! The console's line discipline as a script piped into `vmm` meets it:
//! lines of any length up to the limit come back whole, a line past it is
//! cut with a message, escape sequences (arrow keys) never become
//! commands, and nothing hangs.

mod common;

use common::*;

/// A command line of exactly `n` bytes, `echo` and words two spaces
/// apart, and what the guest prints for it: the words one space apart. The
/// console's echo of the typed line keeps both spaces, so finding the
/// output proves the shell ran the line (a long echo may share its screen
/// line with output, so the output is looked for anywhere).
fn echo_line(n: usize) -> (String, String) {
    let mut line = String::from("echo");
    let mut words = Vec::new();
    let mut i = 0;
    while line.len() + 3 <= n {
        let word: String = (0..(n - line.len() - 2).min(60))
            .map(|k| (b'a' + ((i * 7 + k) % 26) as u8) as char)
            .collect();
        line.push_str("  ");
        line.push_str(&word);
        words.push(word);
        i += 1;
    }
    while line.len() < n {
        line.push(' ');
    }
    assert_eq!(line.len(), n);
    (line, words.join(" ") + "\r\n")
}

#[test]
fn piped_lines_of_every_length_up_to_the_limit_come_back_whole() {
    // 63 and 64 bytes straddle the line discipline's share of a pass; 100
    // spans two; 4000 and 4095 (the limit) span many.
    for n in [63, 64, 65, 100, 4000, 4095] {
        let (line, out) = echo_line(n);
        let r = boot(&[], &format!("{line}\nexit 3\n"));
        assert_eq!(r.code, 3, "a {n}-byte line: {}", r.dump());
        assert!(
            r.stdout.contains(&out),
            "a {n}-byte line comes back whole: {}",
            r.dump()
        );
        assert!(!r.stdout.contains("console: "), "{}", r.dump());
    }
}

#[test]
fn many_long_lines_in_a_row_all_arrive() {
    let mut input = String::new();
    let mut words = Vec::new();
    for i in 0..12 {
        let (line, out) = echo_line(300 + 337 * i);
        input.push_str(&line);
        input.push('\n');
        words.push(out);
    }
    input.push_str("exit 5\n");
    let r = boot(&[], &input);
    assert_eq!(r.code, 5, "{}", r.dump());
    for w in &words {
        assert!(r.stdout.contains(w), "{} bytes: {}", w.len(), r.dump());
    }
}

#[test]
fn a_long_comment_as_the_first_line_is_skipped() {
    let comment = format!("# {}", "a comment that goes on and on ".repeat(3));
    assert!(comment.len() > 64);
    let r = boot(&[], &format!("{comment}\necho after the comment\nexit 4\n"));
    assert_eq!(r.code, 4, "{}", r.dump());
    assert!(has_line(&r.stdout, "after the comment"), "{}", r.dump());
}

#[test]
fn a_line_past_the_limit_is_cut_and_the_console_says_so() {
    let (line, _) = echo_line(4095 + 300);
    // The first 4095 bytes are the command, as a terminal delivers them.
    let kept: Vec<&str> = line[..4095].split_whitespace().skip(1).collect();
    let out = kept.join(" ") + "\r\n";
    let r = boot(&[], &format!("{line}\necho next\nexit 6\n"));
    assert_eq!(r.code, 6, "{}", r.dump());
    assert!(
        has_line(
            &r.stdout,
            "console: this line is longer than 4095 bytes; the rest of it is dropped"
        ),
        "{}",
        r.dump()
    );
    assert!(r.stdout.contains(&out), "{}", r.dump());
    assert!(has_line(&r.stdout, "next"), "the next line is whole");
}

#[test]
fn escape_sequences_are_consumed_whole_never_run() {
    // Up, down, right, left arrows; Home/End in both encodings; Delete; F1.
    let keys = "\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F\x1bOH\x1b[3~\x1bOP";
    let r = boot(
        &[],
        &format!("{keys}\necho  a{keys}b  c\n\x1b[Aecho  up  arrow\nexit 7\n"),
    );
    assert_eq!(r.code, 7, "{}", r.dump());
    assert!(!r.stdout.contains("command not found"), "{}", r.dump());
    assert!(has_line(&r.stdout, "ab c"), "{}", r.dump());
    assert!(has_line(&r.stdout, "up arrow"), "{}", r.dump());
}
