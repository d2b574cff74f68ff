//! The shell's command language: words, quotes, `$?`, and the operators
//! that join commands.
//!
//! - Words are split on blanks. `'...'` keeps everything literally;
//!   `"..."` too, but `$?` inside is expanded; `\` outside quotes takes
//!   the next character literally. `#` at the start of a word begins a
//!   comment.
//! - `$?` is the status of the last command (an exit code, or 128 + the
//!   signal that ended it), expanded when the command runs.
//! - `a ; b` runs one after the other; `a && b` runs `b` if `a` succeeded
//!   (status 0); `a || b` if it failed; `a &` runs `a` (an and-or chain)
//!   in the background. `;`, `&`, `&&` and `||` need no blanks around them.

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

/// Commands joined by `&&` and `||`, run in the foreground or (`&`) the
/// background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The commands (each a non-empty list of words), with when each runs.
    pub commands: Vec<(When, Vec<Word>)>,
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
}

impl Tok {
    fn show(&self) -> &'static str {
        match self {
            Tok::Word(_) => "word",
            Tok::Semi => ";",
            Tok::Amp => "&",
            Tok::And => "&&",
            Tok::Or => "||",
        }
    }
}

/// Splits `line` into tokens with their start offsets.
fn tokens(line: &str) -> Result<Vec<(usize, Tok)>, String> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    let mut word: Option<(usize, Word)> = None;
    let end_word = |word: &mut Option<(usize, Word)>, out: &mut Vec<(usize, Tok)>| {
        if let Some((at, w)) = word.take() {
            out.push((at, Tok::Word(w)));
        }
    };
    while let Some((i, c)) = chars.next() {
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
                        _ => return Err("pipes (`|`) are not supported yet".into()),
                    },
                ));
            }
            '\'' | '"' => {
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

/// Parses a line into chains, in order; an empty list for a blank line or
/// a comment. `Err` says what is wrong (`syntax error near '&&'`).
pub fn parse(line: &str) -> Result<Vec<Chain>, String> {
    let toks = tokens(line)?;
    let mut chains = Vec::new();
    let mut commands: Vec<(When, Vec<Word>)> = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    let mut when = When::Always;
    let mut start: Option<usize> = None;
    let syntax = |t: &Tok| Err(alloc::format!("syntax error near '{}'", t.show()));
    for (at, t) in toks {
        match t {
            Tok::Word(w) => {
                start.get_or_insert(at);
                words.push(w);
            }
            Tok::And | Tok::Or => {
                if words.is_empty() {
                    return syntax(&t);
                }
                commands.push((when, core::mem::take(&mut words)));
                when = if t == Tok::And {
                    When::Ok
                } else {
                    When::Failed
                };
            }
            Tok::Semi | Tok::Amp => {
                if words.is_empty() {
                    return syntax(&t);
                }
                commands.push((when, core::mem::take(&mut words)));
                when = When::Always;
                let from = start.take().unwrap_or(0);
                chains.push(Chain {
                    commands: core::mem::take(&mut commands),
                    background: t == Tok::Amp,
                    text: line[from..at].trim().into(),
                });
            }
        }
    }
    if !words.is_empty() {
        commands.push((when, words));
        let from = start.unwrap_or(0);
        chains.push(Chain {
            commands,
            background: false,
            text: line[from..].trim().into(),
        });
    } else if !commands.is_empty() {
        return Err("syntax error: the line ends after '&&' or '||'".into());
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
                    .map(|(w, ws)| (*w, ws.iter().map(|w| w.expand(7)).collect()))
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

    #[test]
    fn errors() {
        for bad in [
            "&& a",
            "a && && b",
            "; a",
            "a &&",
            "a ||",
            "echo 'x",
            "a | b",
            "a & &",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("; a").unwrap_err(), "syntax error near ';'");
        assert_eq!(parse("echo \"x").unwrap_err(), "unmatched \"");
    }
}
