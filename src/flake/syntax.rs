//! Nix syntax errors in words: rnix reports token kinds and byte ranges
//! (`unexpected TOKEN_L_BRACE at 499..511, wanted any of [TOKEN_SEMICOLON]`); a user needs the
//! text that was found and what would have been valid there, at a line and column.

use rnix::parser::ParseError;
use rnix::SyntaxKind::{self, *};

/// The byte offset the error points at (the end of the text for an unexpected end).
pub fn offset(err: &ParseError, text: &str) -> usize {
    match err {
        ParseError::Unexpected(r)
        | ParseError::UnexpectedExtra(r)
        | ParseError::UnexpectedWanted(_, r, _)
        | ParseError::UnexpectedDoubleBind(r)
        | ParseError::DuplicatedArgs(r, _) => usize::from(r.start()),
        _ => text.len(),
    }
}

/// What went wrong, without offsets (the location carries line and column).
pub fn describe(err: &ParseError, text: &str) -> String {
    let found = |r: &rnix::TextRange| {
        let s = text
            .get(usize::from(r.start())..usize::from(r.end()))
            .unwrap_or_default();
        let s = s.lines().next().unwrap_or_default();
        let s: String = s.chars().take(40).collect();
        format!("`{s}`")
    };
    match err {
        ParseError::Unexpected(r) => format!("unexpected {}", found(r)),
        ParseError::UnexpectedExtra(r) => {
            format!("unexpected {} after the end of the expression", found(r))
        }
        ParseError::UnexpectedWanted(_, r, wanted) => {
            format!("unexpected {}, expected {}", found(r), one_of(wanted))
        }
        ParseError::UnexpectedDoubleBind(r) => format!("{} is bound twice", found(r)),
        ParseError::UnexpectedEOF => "unexpected end of file".to_owned(),
        ParseError::UnexpectedEOFWanted(wanted) => {
            format!("unexpected end of file, expected {}", one_of(wanted))
        }
        ParseError::DuplicatedArgs(_, name) => {
            format!("the function argument `{name}` is listed twice")
        }
        ParseError::RecursionLimitExceeded => "the expression is nested too deeply".to_owned(),
        _ => "syntax error".to_owned(),
    }
}

/// `` `;` `` or `` `;` or `}` `` or `` `;`, `,` or `}` ``.
fn one_of(kinds: &[SyntaxKind]) -> String {
    let mut words: Vec<String> = Vec::new();
    for k in kinds {
        let w = word(*k);
        if !words.contains(&w) {
            words.push(w);
        }
    }
    match words.as_slice() {
        [] => "something else".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn word(kind: SyntaxKind) -> String {
    let literal = match kind {
        TOKEN_ASSERT => "assert",
        TOKEN_ELSE => "else",
        TOKEN_IF => "if",
        TOKEN_IN => "in",
        TOKEN_INHERIT => "inherit",
        TOKEN_LET => "let",
        TOKEN_OR => "or",
        TOKEN_REC => "rec",
        TOKEN_THEN => "then",
        TOKEN_WITH => "with",
        TOKEN_L_BRACE => "{",
        TOKEN_R_BRACE => "}",
        TOKEN_L_BRACK => "[",
        TOKEN_R_BRACK => "]",
        TOKEN_ASSIGN => "=",
        TOKEN_AT => "@",
        TOKEN_COLON => ":",
        TOKEN_COMMA => ",",
        TOKEN_DOT => ".",
        TOKEN_ELLIPSIS => "...",
        TOKEN_QUESTION => "?",
        TOKEN_SEMICOLON => ";",
        TOKEN_L_PAREN => "(",
        TOKEN_R_PAREN => ")",
        TOKEN_CONCAT => "++",
        TOKEN_INVERT => "!",
        TOKEN_UPDATE => "//",
        TOKEN_ADD => "+",
        TOKEN_SUB => "-",
        TOKEN_MUL => "*",
        TOKEN_DIV => "/",
        TOKEN_AND_AND => "&&",
        TOKEN_EQUAL => "==",
        TOKEN_IMPLICATION => "->",
        TOKEN_LESS => "<",
        TOKEN_LESS_OR_EQ => "<=",
        TOKEN_MORE => ">",
        TOKEN_MORE_OR_EQ => ">=",
        TOKEN_NOT_EQUAL => "!=",
        TOKEN_OR_OR => "||",
        TOKEN_PIPE_RIGHT => "|>",
        TOKEN_PIPE_LEFT => "<|",
        TOKEN_INTERPOL_START => "${",
        TOKEN_INTERPOL_END => "}",
        TOKEN_STRING_START | TOKEN_STRING_END => "\"",
        TOKEN_IDENT | NODE_IDENT => return "a name".to_owned(),
        TOKEN_INTEGER | TOKEN_FLOAT => return "a number".to_owned(),
        TOKEN_PATH => return "a path".to_owned(),
        TOKEN_URI => return "a URI".to_owned(),
        TOKEN_STRING_CONTENT | NODE_STRING => return "a string".to_owned(),
        NODE_ATTRPATH | NODE_ATTRPATH_VALUE => return "an attribute".to_owned(),
        _ => return "an expression".to_owned(),
    };
    format!("`{literal}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_error(text: &str) -> (String, usize) {
        let parse = rnix::Root::parse(text);
        let err = parse.errors().first().cloned().expect("a syntax error");
        (describe(&err, text), offset(&err, text))
    }

    #[test]
    fn a_missing_semicolon_is_said_in_words() {
        let text = "{\n  a = 1\n  b = 2;\n}\n";
        let (message, _) = first_error(text);
        assert!(!message.contains("TOKEN_"), "{message}");
        assert!(message.contains("expected `;`"), "{message}");
    }

    #[test]
    fn an_unclosed_set_is_an_unexpected_end() {
        let text = "{ a = 1;";
        let (message, at) = first_error(text);
        assert!(message.starts_with("unexpected end of file"), "{message}");
        assert_eq!(at, text.len());
    }
}
