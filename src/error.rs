//! Errors a user can act on: what was wrong, where, and what to do.
//!
//! Every failure caused by the input (a syntax error, a missing cell, an unreadable file) is a
//! [`UserError`]. The CLI turns any error into exit code 2, so the type exists to carry a
//! location and a hint, not to choose the exit code.

use std::fmt;
use std::path::{Path, PathBuf};

/// A place in a file, 1-based line and column as editors show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

impl Location {
    /// The location of byte `offset` in `text` (columns count characters).
    pub fn from_offset(file: &Path, text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            file: file.to_path_buf(),
            line: before.matches('\n').count() + 1,
            col: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    /// `file:line:col`, or only `file` for an error about a whole file (line 0).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

#[derive(Debug, Clone)]
pub struct UserError {
    pub message: String,
    pub at: Option<Location>,
    pub hint: Option<String>,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
            at: None,
            hint: None,
        }
    }

    pub fn at(mut self, at: Location) -> Self {
        self.at = Some(at);
        self
    }

    /// A location with only a file, for errors about a whole file (an unreadable file has
    /// no line to point at; `:1:1` would send the reader to the wrong place).
    pub fn in_file(self, file: &Path) -> Self {
        self.at(Location {
            file: file.to_path_buf(),
            line: 0,
            col: 0,
        })
    }

    /// `file:line:col: message`, without the hint.
    pub fn headline(&self) -> String {
        match &self.at {
            Some(at) => format!("{at}: {}", self.message),
            None => self.message.clone(),
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UserError {}

/// Shorthand used across the pipeline.
pub fn user_error(message: impl Into<String>) -> UserError {
    UserError::new(message)
}
