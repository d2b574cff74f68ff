//! The shell's command-line parsing.

use alloc::vec::Vec;

/// One parsed command line.
#[derive(Debug, PartialEq, Eq)]
pub struct Command<'a> {
    /// The words; the first is the command name. Never empty.
    pub words: Vec<&'a str>,
    /// Run in the background (a trailing `&`, alone or glued to the last word).
    pub background: bool,
}

/// Splits `line` on whitespace; `None` for a blank line or a comment (`#`).
pub fn parse_line(line: &str) -> Option<Command<'_>> {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    let mut background = false;
    if let Some(last) = words.last_mut()
        && let Some(rest) = last.strip_suffix('&')
    {
        background = true;
        *last = rest;
        if rest.is_empty() {
            words.pop();
        }
    }
    match words.first() {
        None => None,
        Some(w) if w.starts_with('#') => None,
        Some(_) => Some(Command { words, background }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Option<(Vec<&str>, bool)> {
        parse_line(line).map(|c| (c.words, c.background))
    }

    #[test]
    fn lines() {
        assert_eq!(words("  "), None);
        assert_eq!(words("# note"), None);
        assert_eq!(words("&"), None);
        assert_eq!(words("echo  a\tb "), Some((vec!["echo", "a", "b"], false)));
        assert_eq!(words("spin 100 &"), Some((vec!["spin", "100"], true)));
        assert_eq!(words("spin 100&"), Some((vec!["spin", "100"], true)));
        assert_eq!(words("spin&"), Some((vec!["spin"], true)));
        assert_eq!(
            words("echo a & b"),
            Some((vec!["echo", "a", "&", "b"], false))
        );
    }
}
