//! The shell's command language: words, quotes, `$?`, and the operators
//! that join commands.
//!
//! - Words are split on blanks. `'...'` keeps everything literally;
//!   `"..."` too, but `$?` inside is expanded; `\` outside quotes takes
//!   the next character literally. `#` at the start of a word begins a
//!   comment.
//! - `$?` is the status of the last command (an exit code, or 128 + the
//!   signal that ended it), expanded when the command runs.
//! - `a | b` is a pipeline: `a`'s standard output is `b`'s standard input;
//!   its status is the last command's.
//! - Redirections, anywhere among a command's words: `< FILE` (standard
//!   input), `> FILE` and `>> FILE` (standard output, emptied or appended
//!   to), `2> FILE`, `2>> FILE`, and `N>&M` (fd N a copy of fd M, e.g.
//!   `2>&1`); a digit right before `<` or `>` names the fd. They apply in
//!   order, after the pipe.
//! - `a ; b` runs one after the other; `a && b` runs `b` if `a` succeeded
//!   (status 0); `a || b` if it failed; `a &` runs `a` (an and-or chain)
//!   in the background. `;`, `&`, `&&`, `||`, `|`, `<` and `>` need no
//!   blanks around them.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// A piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// `$?`.
    Status,
}

/// A word, expanded when its command runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word(pub Vec<Part>);

impl Word {
    /// The text, with `$?` as `status`.
    pub fn expand(&self, status: i32) -> String {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Status => s.push_str(&status.to_string()),
            }
        }
        s
    }

    fn push_char(&mut self, c: char) {
        match self.0.last_mut() {
            Some(Part::Text(t)) => t.push(c),
            _ => self.0.push(Part::Text(c.into())),
        }
    }
}

/// When a command of a chain runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Always (the first of a chain).
    Always,
    /// After `&&`: if the previous command succeeded.
    Ok,
    /// After `||`: if it failed.
    Failed,
}

/// What a redirection does to its fd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// `N< FILE`: the file, read only.
    Read(Word),
    /// `N> FILE`: the file, emptied (made if missing), write only.
    Write(Word),
    /// `N>> FILE`: the file, appended to (made if missing).
    Append(Word),
    /// `N>&M`: a copy of fd M.
    Dup(u32),
}

/// One command of a pipeline: its words and redirections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    /// The words; the first is the program or builtin. Never empty.
    pub words: Vec<Word>,
    /// The redirections, in order: (fd, what).
    pub redirects: Vec<(u32, Redirect)>,
}

/// Commands joined by `|` (one alone is a pipeline of one).
pub type Pipeline = Vec<Command>;

/// Pipelines joined by `&&` and `||`, run in the foreground or (`&`) the
/// background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The pipelines, with when each runs.
    pub commands: Vec<(When, Pipeline)>,
    /// Ended by `&`.
    pub background: bool,
    /// The source text, for job listings.
    pub text: String,
}

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(Word),
    Semi,
    Amp,
    And,
    Or,
    Pipe,
    /// A redirection operator with its fd: `<`, `>`, `>>`, or `>&M`.
    Redir(u32, RedirOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RedirOp {
    Read,
    Write,
    Append,
    Dup(u32),
}

impl Tok {
    fn show(&self) -> &'static str {
        match self {
            Tok::Word(_) => "word",
            Tok::Semi => ";",
            Tok::Amp => "&",
            Tok::And => "&&",
            Tok::Or => "||",
            Tok::Pipe => "|",
            Tok::Redir(_, RedirOp::Read) => "<",
            Tok::Redir(_, RedirOp::Write) => ">",
            Tok::Redir(_, RedirOp::Append) => ">>",
            Tok::Redir(_, RedirOp::Dup(_)) => ">&",
        }
    }
}

/// Splits `line` into tokens with their start offsets.
fn tokens(line: &str) -> Result<Vec<(usize, Tok)>, String> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    let mut word: Option<(usize, Word)> = None;
    // The word being read had a quote or a backslash (so `'2'>` is a word
    // and a redirection of fd 1, not of fd 2).
    let mut quoted = false;
    let end_word = |word: &mut Option<(usize, Word)>, out: &mut Vec<(usize, Tok)>| {
        if let Some((at, w)) = word.take() {
            out.push((at, Tok::Word(w)));
        }
    };
    while let Some((i, c)) = chars.next() {
        if word.is_none() {
            quoted = false;
        }
        match c {
            ' ' | '\t' | '\r' | '\n' => end_word(&mut word, &mut out),
            '#' if word.is_none() => break,
            ';' => {
                end_word(&mut word, &mut out);
                out.push((i, Tok::Semi));
            }
            '&' | '|' => {
                end_word(&mut word, &mut out);
                let double = chars.peek().map(|&(_, n)| n) == Some(c);
                if double {
                    chars.next();
                }
                out.push((
                    i,
                    match (c, double) {
                        ('&', true) => Tok::And,
                        ('&', false) => Tok::Amp,
                        ('|', true) => Tok::Or,
                        _ => Tok::Pipe,
                    },
                ));
            }
            '<' | '>' => {
                // A word of one digit right before it names the fd.
                let fd = match &word {
                    Some((_, w)) if !quoted && is_fd_digit(w) => {
                        let d = w.expand(0).as_bytes()[0] - b'0';
                        word = None;
                        u32::from(d)
                    }
                    _ => {
                        end_word(&mut word, &mut out);
                        u32::from(c == '>')
                    }
                };
                let op = if c == '<' {
                    RedirOp::Read
                } else if chars.peek().map(|&(_, n)| n) == Some('>') {
                    chars.next();
                    RedirOp::Append
                } else if chars.peek().map(|&(_, n)| n) == Some('&') {
                    chars.next();
                    match chars.next() {
                        Some((_, d)) if d.is_ascii_digit() => RedirOp::Dup(d as u32 - '0' as u32),
                        _ => return Err("'>&' needs an fd number after it (2>&1)".into()),
                    }
                } else {
                    RedirOp::Write
                };
                out.push((i, Tok::Redir(fd, op)));
            }
            '\'' | '"' => {
                quoted = true;
                let w = &mut word.get_or_insert_with(|| (i, Word::default())).1;
                // An empty quoted word is still a word.
                if w.0.is_empty() {
                    w.0.push(Part::Text(String::new()));
                }
                loop {
                    match chars.next() {
                        None => return Err(alloc::format!("unmatched {c}")),
                        Some((_, q)) if q == c => break,
                        Some((_, '$'))
                            if c == '"' && chars.peek().map(|&(_, n)| n) == Some('?') =>
                        {
                            chars.next();
                            w.0.push(Part::Status);
                        }
                        Some((_, q)) => w.push_char(q),
                    }
                }
            }
            '\\' => {
                quoted = true;
                let w = &mut word.get_or_insert_with(|| (i, Word::default())).1;
                if let Some((_, n)) = chars.next() {
                    w.push_char(n);
                }
            }
            '$' if chars.peek().map(|&(_, n)| n) == Some('?') => {
                chars.next();
                word.get_or_insert_with(|| (i, Word::default()))
                    .1
                    .0
                    .push(Part::Status);
            }
            c => word
                .get_or_insert_with(|| (i, Word::default()))
                .1
                .push_char(c),
        }
    }
    end_word(&mut word, &mut out);
    Ok(out)
}

/// Whether `w` is a single unquoted digit, as in `2>`.
fn is_fd_digit(w: &Word) -> bool {
    matches!(w.0.as_slice(), [Part::Text(t)] if t.len() == 1 && t.as_bytes()[0].is_ascii_digit())
}

/// Parses a line into chains, in order; an empty list for a blank line or
/// a comment. `Err` says what is wrong (`syntax error near '&&'`).
pub fn parse(line: &str) -> Result<Vec<Chain>, String> {
    let toks = tokens(line)?;
    let mut chains = Vec::new();
    let mut pipelines: Vec<(When, Pipeline)> = Vec::new();
    let mut pipeline: Pipeline = Vec::new();
    let mut cmd = Command::default();
    let mut when = When::Always;
    let mut start: Option<usize> = None;
    let syntax = |t: &Tok| Err(alloc::format!("syntax error near '{}'", t.show()));
    let mut toks = toks.into_iter().peekable();
    while let Some((at, t)) = toks.next() {
        match t {
            Tok::Word(w) => {
                start.get_or_insert(at);
                cmd.words.push(w);
            }
            Tok::Redir(fd, op) => {
                start.get_or_insert(at);
                let r = match op {
                    RedirOp::Dup(m) => Redirect::Dup(m),
                    op => {
                        let Some((_, Tok::Word(file))) = toks.next() else {
                            return Err(alloc::format!(
                                "syntax error: '{}' needs a file name after it",
                                t.show()
                            ));
                        };
                        match op {
                            RedirOp::Read => Redirect::Read(file),
                            RedirOp::Write => Redirect::Write(file),
                            _ => Redirect::Append(file),
                        }
                    }
                };
                cmd.redirects.push((fd, r));
            }
            Tok::Pipe => {
                if cmd.words.is_empty() {
                    return syntax(&t);
                }
                pipeline.push(core::mem::take(&mut cmd));
            }
            Tok::And | Tok::Or => {
                if cmd.words.is_empty() {
                    return syntax(&t);
                }
                pipeline.push(core::mem::take(&mut cmd));
                pipelines.push((when, core::mem::take(&mut pipeline)));
                when = if t == Tok::And {
                    When::Ok
                } else {
                    When::Failed
                };
            }
            Tok::Semi | Tok::Amp => {
                if cmd.words.is_empty() {
                    return syntax(&t);
                }
                pipeline.push(core::mem::take(&mut cmd));
                pipelines.push((when, core::mem::take(&mut pipeline)));
                when = When::Always;
                let from = start.take().unwrap_or(0);
                chains.push(Chain {
                    commands: core::mem::take(&mut pipelines),
                    background: t == Tok::Amp,
                    text: line[from..at].trim().into(),
                });
            }
        }
    }
    if !cmd.words.is_empty() {
        pipeline.push(cmd);
        pipelines.push((when, pipeline));
        let from = start.unwrap_or(0);
        chains.push(Chain {
            commands: pipelines,
            background: false,
            text: line[from..].trim().into(),
        });
    } else if !cmd.redirects.is_empty() {
        return Err("syntax error: a redirection with no command".into());
    } else if !pipelines.is_empty() || !pipeline.is_empty() {
        return Err("syntax error: the line ends after '&&', '||' or '|'".into());
    }
    Ok(chains)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// The chains of `line` as (texts of each command's words, background).
    fn shape(line: &str) -> Vec<(Vec<(When, Vec<String>)>, bool)> {
        parse(line)
            .unwrap()
            .into_iter()
            .map(|c| {
                let cmds = c
                    .commands
                    .iter()
                    .map(|(w, p)| {
                        assert_eq!(p.len(), 1, "a pipeline of one");
                        (*w, p[0].words.iter().map(|w| w.expand(7)).collect())
                    })
                    .collect();
                (cmds, c.background)
            })
            .collect()
    }

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn blank_and_comments() {
        assert!(parse("  ").unwrap().is_empty());
        assert!(parse("# note").unwrap().is_empty());
        assert_eq!(
            shape("echo a # note"),
            vec![(vec![(When::Always, words(&["echo", "a"]))], false)]
        );
        assert_eq!(
            shape("echo a#b"),
            vec![(vec![(When::Always, words(&["echo", "a#b"]))], false)]
        );
    }

    #[test]
    fn operators() {
        assert_eq!(
            shape("spin 100&"),
            vec![(vec![(When::Always, words(&["spin", "100"]))], true)]
        );
        assert_eq!(
            shape("false;echo $?"),
            vec![
                (vec![(When::Always, words(&["false"]))], false),
                (vec![(When::Always, words(&["echo", "7"]))], false),
            ]
        );
        assert_eq!(
            shape("a && b || c & d"),
            vec![
                (
                    vec![
                        (When::Always, words(&["a"])),
                        (When::Ok, words(&["b"])),
                        (When::Failed, words(&["c"]))
                    ],
                    true
                ),
                (vec![(When::Always, words(&["d"]))], false),
            ]
        );
        let chains = parse("sleep 1 && echo x &  spin 5").unwrap();
        assert_eq!(chains[0].text, "sleep 1 && echo x");
        assert_eq!(chains[1].text, "spin 5");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            shape(r#"echo 'a;b' "c  $?" d\ e '' x"$?"y"#),
            vec![(
                vec![(
                    When::Always,
                    words(&["echo", "a;b", "c  7", "d e", "", "x7y"])
                )],
                false
            )]
        );
        assert_eq!(shape("echo '$?'")[0].0[0].1, words(&["echo", "$?"]));
        assert_eq!(shape("echo $x $")[0].0[0].1, words(&["echo", "$x", "$"]));
    }

    /// The words and redirections of each command of the first pipeline.
    fn pipeline(line: &str) -> Vec<(Vec<String>, Vec<(u32, String)>)> {
        let chains = parse(line).unwrap();
        chains[0].commands[0]
            .1
            .iter()
            .map(|c| {
                let words = c.words.iter().map(|w| w.expand(0)).collect();
                let redirects = c
                    .redirects
                    .iter()
                    .map(|(fd, r)| {
                        let what = match r {
                            Redirect::Read(w) => alloc::format!("<{}", w.expand(0)),
                            Redirect::Write(w) => alloc::format!(">{}", w.expand(0)),
                            Redirect::Append(w) => alloc::format!(">>{}", w.expand(0)),
                            Redirect::Dup(m) => alloc::format!(">&{m}"),
                        };
                        (*fd, what)
                    })
                    .collect();
                (words, redirects)
            })
            .collect()
    }

    #[test]
    fn pipelines_and_redirections() {
        assert_eq!(
            pipeline("ps | grep sh|wc -l"),
            vec![
                (words(&["ps"]), vec![]),
                (words(&["grep", "sh"]), vec![]),
                (words(&["wc", "-l"]), vec![]),
            ]
        );
        assert_eq!(
            pipeline("sort <in >out 2>&1"),
            vec![(
                words(&["sort"]),
                vec![(0, "<in".into()), (1, ">out".into()), (2, ">&1".into())]
            )]
        );
        assert_eq!(
            pipeline("echo a >>log 2> err b"),
            vec![(
                words(&["echo", "a", "b"]),
                vec![(1, ">>log".into()), (2, ">err".into())]
            )]
        );
        // A digit glued to a word is a word; a quoted 2 is a word too.
        assert_eq!(
            pipeline("echo x2>f '2'>g"),
            vec![(
                words(&["echo", "x2", "2"]),
                vec![(1, ">f".into()), (1, ">g".into())]
            )]
        );
        let chains = parse("ls /tmp | wc -l && echo ok &").unwrap();
        assert!(chains[0].background);
        assert_eq!(chains[0].commands.len(), 2);
        assert_eq!(chains[0].commands[0].1.len(), 2);
        assert_eq!(chains[0].text, "ls /tmp | wc -l && echo ok");
    }

    #[test]
    fn errors() {
        for bad in [
            "&& a",
            "a && && b",
            "; a",
            "a &&",
            "a ||",
            "echo 'x",
            "a & &",
            "| a",
            "a |",
            "a | | b",
            "a >",
            "a < ;",
            "> f",
            "a >&",
            "a 2>&x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("; a").unwrap_err(), "syntax error near ';'");
        assert_eq!(parse("echo \"x").unwrap_err(), "unmatched \"");
    }
}
