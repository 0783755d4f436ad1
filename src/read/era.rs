//! Type annotations of every Buck2 era.
//!
//! Preludes and `.bzl` files of 2023–2024 annotate with `ctx: "context"`, `-> "cmd_args"`,
//! `LinkerInfo.type` and `[str]`. The buck2 of their day accepted them; today's
//! `starlark_syntax` rejects each one. No dialect setting lets them through: with
//! `DialectTypes::ParseOnly` or `Enable` every annotation still goes through
//! `TypeExprUnpackP::unpack` (grammar_util.rs, `dialect_check_type`), which refuses string
//! literals, `X.type` and one-element lists, and `Disable` refuses every annotation.
//!
//! si-nixify never reads an annotation, so the permissive reading is: find the annotations
//! with `starlark_syntax`'s own lexer (parameter `: T`, return `-> T`, assignment `x: T = …`),
//! blank them byte for byte (spans and line numbers stay exact) and parse again. It is used
//! only when the strict parse failed *inside* an annotation, so a real syntax error anywhere
//! else is still reported where it is.

use starlark_syntax::codemap::CodeMap;
use starlark_syntax::lexer::{Lexer, Token};

use super::ir::Span;

/// Byte ranges of every type annotation in `text`, each from its `:` or `->` to the end of
/// the type. Empty when the text does not lex (the strict parse reports that).
pub fn annotation_spans(text: &str) -> Vec<Span> {
    let Some(tokens) = tokens(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut at_statement_start = true;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].1 {
            Token::Def => i = def_header(&tokens, i, &mut out),
            Token::Identifier(_)
                if at_statement_start
                    && matches!(tokens.get(i + 1), Some((_, Token::Colon, _))) =>
            {
                // `name: T = value`: the annotation runs to the `=` (or the line end).
                let end = type_end(&tokens, i + 2, |t| matches!(t, Token::Equal));
                push(&mut out, &tokens, i + 1, end);
                i = end;
            }
            _ => i += 1,
        }
        at_statement_start = matches!(
            tokens.get(i.wrapping_sub(1)).map(|t| &t.1),
            None | Some(Token::Newline | Token::Indent | Token::Dedent | Token::Semicolon)
        );
    }
    out
}

/// Byte ranges of the type names 2024 preludes write as strings inside a type's subscript
/// (`field([list["PluginKind"], None], None)` in `prelude/decls/common.bzl`): a value, not an
/// annotation, which today's `starlark` refuses when it makes the type ("String literals are
/// not allowed in type expressions"). See [`as_free_names`].
pub fn string_type_spans(text: &str) -> Vec<Span> {
    let Some(tokens) = tokens(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // The brackets open at each point, innermost last, with what they are.
    let mut open: Vec<Bracket> = Vec::new();
    for (i, (start, token, end)) in tokens.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| &tokens[p].1);
        let after = |names: &[&str]| matches!(previous, Some(Token::Identifier(n)) if names.contains(&n.as_str()));
        match token {
            Token::OpeningSquare if after(TYPE_CONSTRUCTORS) => open.push(Bracket::Subscript),
            Token::OpeningRound if after(&["record"]) => open.push(Bracket::Record),
            Token::OpeningRound if after(&["field"]) => open.push(Bracket::Field { commas: 0 }),
            Token::OpeningSquare | Token::OpeningRound | Token::OpeningCurly => {
                open.push(Bracket::Plain)
            }
            Token::ClosingSquare | Token::ClosingRound | Token::ClosingCurly => {
                open.pop();
            }
            Token::Comma => {
                if let Some(Bracket::Field { commas }) = open.last_mut() {
                    *commas += 1;
                }
            }
            Token::String(name) if is_type_name(name) && names_a_type(&open) => {
                let next = tokens.get(i + 1).map(|t| &t.1);
                let alone = matches!(
                    previous,
                    Some(Token::OpeningSquare | Token::OpeningRound | Token::Comma | Token::Equal)
                ) && matches!(
                    next,
                    Some(Token::ClosingSquare | Token::ClosingRound | Token::Comma)
                );
                if alone {
                    out.push(Span {
                        start: *start,
                        end: *end,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// What a bracket opened: a type's subscript (`list[`), a `record(` of field types, a
/// `field(` (type first, then the default), or anything else.
enum Bracket {
    Subscript,
    Record,
    Field { commas: usize },
    Plain,
}

/// Whether a string at this point stands for a type: inside a subscript or a record's
/// fields, and not in a `field()`'s default.
fn names_a_type(open: &[Bracket]) -> bool {
    for b in open.iter().rev() {
        match b {
            Bracket::Field { commas } if *commas > 0 => return false,
            Bracket::Subscript | Bracket::Record => return true,
            Bracket::Field { .. } | Bracket::Plain => {}
        }
    }
    false
}

/// `PluginKind`, `cmd_args`, `LinkerInfo.type`: what a type named as a string looks like.
fn is_type_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
}

/// The generic types whose subscripts name types.
const TYPE_CONSTRUCTORS: &[&str] = &["list", "dict", "set", "tuple"];

/// `text` with each of `spans` (string literals naming a type) turned into a name of the same
/// length no file binds (`"PluginKind"` → `____________`): unbound names of a `.bzl` file
/// stand for values only Buck2 has, whose type is any.
pub fn as_free_names(text: &str, spans: &[Span]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for s in spans {
        for b in &mut bytes[s.start..s.end] {
            *b = b'_';
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// The tokens of `text` with their byte ranges, by `starlark_syntax`'s own lexer; `None` when
/// it does not lex.
fn tokens(text: &str) -> Option<Vec<(usize, Token, usize)>> {
    let lexer = Lexer::new(
        text,
        &super::ir::buck2_dialect(),
        CodeMap::new(String::new(), text.to_owned()),
    );
    lexer.map(Result::ok).collect()
}

/// `text` with every byte of `spans` replaced by a space, newlines kept.
pub fn blank(text: &str, spans: &[Span]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for s in spans {
        for b in &mut bytes[s.start..s.end] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
        // An annotation over several lines (`-> list[[\n A,\n]]`) keeps its newlines for the
        // line numbers, and so needs brackets around them: it becomes `-> (None … )`.
        let over_lines = text[s.start..s.end].contains('\n');
        let head = if text[s.start..].starts_with("->") {
            "->(None"
        } else {
            ":(None"
        };
        if over_lines && s.end - s.start > head.len() + 1 {
            bytes[s.start..s.start + head.len()].copy_from_slice(head.as_bytes());
            bytes[s.end - 1] = b')';
        }
    }
    // Whole characters were blanked (spans start and end on token boundaries), so every byte
    // is either untouched UTF-8 or an ASCII space.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// Record the annotation from token `from` (its `:` or `->`) up to token `end` (exclusive).
fn push(out: &mut Vec<Span>, tokens: &[(usize, Token, usize)], from: usize, end: usize) {
    if end > from {
        out.push(Span {
            start: tokens[from].0,
            end: tokens[end - 1].2,
        });
    }
}

/// The index of the first token at bracket depth 0 from `from` on that `stops` accepts, or a
/// newline; brackets opened inside the type are skipped over.
fn type_end(
    tokens: &[(usize, Token, usize)],
    from: usize,
    stops: impl Fn(&Token) -> bool,
) -> usize {
    let mut depth = 0usize;
    for (i, (_, token, _)) in tokens.iter().enumerate().skip(from) {
        match token {
            Token::OpeningRound | Token::OpeningSquare | Token::OpeningCurly => depth += 1,
            Token::ClosingRound | Token::ClosingSquare | Token::ClosingCurly if depth == 0 => {
                return i
            }
            Token::ClosingRound | Token::ClosingSquare | Token::ClosingCurly => depth -= 1,
            // Inside brackets a type may run over lines (`-> list[[\n A,\n B,\n]]`).
            Token::Newline if depth == 0 => return i,
            t if depth == 0 && stops(t) => return i,
            _ => {}
        }
    }
    tokens.len()
}

/// Annotations of one `def NAME(params) -> T:` header starting at token `def`; returns the
/// index after the header.
fn def_header(tokens: &[(usize, Token, usize)], def: usize, out: &mut Vec<Span>) -> usize {
    let Some(open) = (def..tokens.len()).find(|&j| matches!(tokens[j].1, Token::OpeningRound))
    else {
        return def + 1;
    };
    let mut depth = 0usize;
    let mut in_default = false;
    let mut in_lambda = false;
    let mut i = open;
    while i < tokens.len() {
        match &tokens[i].1 {
            Token::OpeningRound | Token::OpeningSquare | Token::OpeningCurly => depth += 1,
            Token::ClosingRound | Token::ClosingSquare | Token::ClosingCurly => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            Token::Lambda if depth == 1 => in_lambda = true,
            Token::Colon if depth == 1 && in_lambda => in_lambda = false,
            Token::Comma if depth == 1 && !in_lambda => in_default = false,
            Token::Equal if depth == 1 => in_default = true,
            // Only a `:` right after a parameter name starts its type (`(:` is an error the
            // strict parse reports).
            Token::Colon
                if depth == 1 && !in_default && matches!(tokens[i - 1].1, Token::Identifier(_)) =>
            {
                let end = type_end(tokens, i + 1, |t| matches!(t, Token::Comma | Token::Equal));
                push(out, tokens, i, end);
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // `-> T` between the closing `)` and the header's `:`.
    let arrow = i + 1;
    if matches!(tokens.get(arrow), Some((_, Token::MinusGreater, _))) {
        let end = type_end(tokens, arrow + 1, |t| matches!(t, Token::Colon));
        push(out, tokens, arrow, end);
        return end;
    }
    arrow
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blanked(text: &str) -> String {
        blank(text, &annotation_spans(text))
    }

    #[test]
    fn a_return_type_over_several_lines_is_blanked_whole() {
        // SI's prelude-si/deno.bzl (2025): `-> list[[DefaultInfo, ArtifactInfo]]` over 4 lines.
        let text = "def _impl(ctx) -> list[[\n    DefaultInfo,\n    RunInfo,\n]]:\n    return []\n";
        let out = blanked(text);
        assert_eq!(out.len(), text.len());
        assert_eq!(out.lines().count(), text.lines().count());
        assert!(!out.contains("DefaultInfo") && !out.contains("]]"), "{out}");
        assert!(out.starts_with("def _impl(ctx) ->(None"), "{out}");
        let dialect = starlark_syntax::dialect::Dialect {
            enable_types: starlark_syntax::dialect::DialectTypes::ParseOnly,
            ..starlark_syntax::dialect::Dialect::Extended
        };
        starlark_syntax::syntax::AstModule::parse("t.bzl", out.clone(), &dialect)
            .unwrap_or_else(|e| panic!("{e}\n{out}"));
    }

    #[test]
    fn blanks_every_2023_annotation_form_keeping_offsets() {
        let text = "def _impl(ctx: \"context\", deps: [\"dependency\"] = [], *args: [str], **kw) -> [\"provider\"]:\n    x: LinkerInfo.type = ctx.attrs.x\n    return [DefaultInfo()]\n";
        let out = blanked(text);
        assert_eq!(out.len(), text.len());
        assert_eq!(
            out,
            "def _impl(ctx           , deps                 = [], *args       , **kw)                :\n    x                  = ctx.attrs.x\n    return [DefaultInfo()]\n"
        );
    }

    #[test]
    fn a_colon_that_follows_no_parameter_is_not_an_annotation() {
        assert!(annotation_spans("def f(:\n    pass\n").is_empty());
    }

    #[test]
    fn leaves_lambdas_dicts_and_slices_alone() {
        let text = "def f(key = lambda a, b: a, d = {\"k\": 1}):\n    return d[1:2]\n\nx = {\"a\": 1}\nif x: pass\n";
        assert_eq!(blanked(text), text);
    }

    #[test]
    fn multi_line_parameter_types_keep_their_newlines() {
        let text =
            "def f(\n    a: dict[\n        str, \"x\"],\n    b: int = 1) -> None:\n    pass\n";
        let out = blanked(text);
        assert_eq!(out.matches('\n').count(), text.matches('\n').count());
        assert!(!out.contains("dict") && !out.contains("-> None"), "{out}");
        assert!(out.contains("b      = 1)"), "{out}");
        assert!(
            out.contains("a:(None"),
            "a type over lines keeps brackets: {out}"
        );
    }

    /// The 2024 prelude's string types in values (`decls/common.bzl`, `android_providers.bzl`,
    /// `cxx/argsfiles.bzl`) become free names; strings that are data stay.
    #[test]
    fn string_types_in_values_become_names_and_data_stays() {
        let text = r#"A = record(k = field([list["PluginKind"], None], None), e = ["Exo", None], i = field(list[["artifacts", cmd_args]]), d = field(str, "default"))
B = ["plain", None]
C = dict[str, "X"]
"#;
        let out = as_free_names(text, &string_type_spans(text));
        for gone in ["\"PluginKind\"", "\"Exo\"", "\"artifacts\"", "\"X\""] {
            assert!(!out.contains(gone), "{gone} left in {out}");
        }
        assert!(
            out.contains("\"default\"") && out.contains("\"plain\""),
            "{out}"
        );
        assert_eq!(out.len(), text.len());
    }
}
