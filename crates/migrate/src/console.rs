//! Talking to the person running the command: printed lines, and yes/no questions when there is
//! a terminal to ask on.
//!
//! Every verb here takes a `&mut dyn Prompt` instead of touching stdin/stdout directly, so the
//! interactive paths (TTY prompts) are tested with [`Scripted`] answers and the CLI brings its
//! own terminal prompt.

use std::collections::VecDeque;

/// Where output lines go and where answers come from.
pub trait Prompt {
    /// Prints one line of output.
    fn say(&mut self, line: &str);

    /// True when a person can answer questions (stdin is a terminal). Destructive steps refuse
    /// or only print instructions when this is false, so a pipe or cron job never triggers them.
    fn is_interactive(&self) -> bool;

    /// Asks `question` (printed without a newline) and returns the answer line, trimmed.
    /// End of input reads as an empty answer, which every question treats as "no".
    fn ask(&mut self, question: &str) -> String;
}

/// True when `answer` means yes (`y` or `yes`, any case). Everything else is no.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// A prompt with answers given up front; records everything said and asked (tests, and callers
/// that want the text instead of printing it).
#[derive(Debug, Default, Clone)]
pub struct Scripted {
    /// Whether to claim a person is there to answer.
    pub interactive: bool,
    /// Answers handed out in order; when they run out every answer is empty ("no").
    pub answers: VecDeque<String>,
    /// Every line said, in order.
    pub lines: Vec<String>,
    /// Every question asked, in order.
    pub questions: Vec<String>,
}

impl Scripted {
    /// A non-interactive prompt (like a pipe): questions are never expected.
    pub fn non_interactive() -> Self {
        Self::default()
    }

    /// An interactive prompt that answers with `answers` in order.
    pub fn answering(answers: &[&str]) -> Self {
        Self {
            interactive: true,
            answers: answers.iter().map(|a| a.to_string()).collect(),
            ..Self::default()
        }
    }

    /// Everything said, joined with newlines (for assertion messages).
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

impl Prompt for Scripted {
    fn say(&mut self, line: &str) {
        self.lines.push(line.to_string());
    }

    fn is_interactive(&self) -> bool {
        self.interactive
    }

    fn ask(&mut self, question: &str) -> String {
        self.questions.push(question.to_string());
        self.answers.pop_front().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_and_yes_mean_yes() {
        for yes in ["y", "Y", "yes", " YES "] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "n", "no", "yep", "q"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }

    #[test]
    fn scripted_answers_run_out_as_no() {
        let mut p = Scripted::answering(&["y"]);
        assert_eq!(p.ask("one? "), "y");
        assert_eq!(p.ask("two? "), "");
        p.say("hello");
        assert_eq!(p.questions, ["one? ", "two? "]);
        assert_eq!(p.text(), "hello");
    }
}
