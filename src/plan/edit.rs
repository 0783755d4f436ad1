//! Edits as byte-range splices on the original text, and the helpers that widen a span to
//! whole lines so deletions keep the file's blank-line rhythm.

use crate::read::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub text: String,
}

impl Edit {
    pub fn delete(span: Span) -> Edit {
        Edit {
            span,
            text: String::new(),
        }
    }

    pub fn replace(span: Span, text: impl Into<String>) -> Edit {
        Edit {
            span,
            text: text.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit {
            span: Span { start: at, end: at },
            text: text.into(),
        }
    }
}

/// Apply edits to `text`. Insertions at one offset keep the order they were planned in.
/// Overlapping edits are a planning bug and are reported, never half-applied.
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, String> {
    let mut ordered: Vec<(usize, &Edit)> = edits.iter().enumerate().collect();
    ordered.sort_by_key(|(i, e)| (e.span.start, e.span.end, *i));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (_, e) in ordered {
        if e.span.start < pos {
            return Err(format!(
                "overlapping edits at bytes {}..{}",
                e.span.start, e.span.end
            ));
        }
        out.push_str(&text[pos..e.span.start]);
        out.push_str(&e.text);
        pos = e.span.end;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Offset just past the newline that ends the line containing `offset` (or the text end).
fn line_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// The range to delete for a whole statement: its lines, comment lines directly above it,
/// and one blank line after it when a blank line (or the file start) precedes it, so the
/// statements around it keep their spacing.
pub fn statement_region(text: &str, span: Span) -> Span {
    let mut start = line_start(text, span.start);
    let mut end = line_end(text, span.end);
    if !is_blank(&text[start..span.start]) || !is_blank(&text[span.end..end]) {
        // Shares a line with other code: delete only the statement itself.
        return span;
    }
    // Attached comments describe the statement being deleted.
    while start > 0 {
        let prev = line_start(text, start - 1);
        if text[prev..start].trim_start().starts_with('#') {
            start = prev;
        } else {
            break;
        }
    }
    let preceded_by_blank = start == 0 || {
        let prev = line_start(text, start - 1);
        is_blank(&text[prev..start])
    };
    if preceded_by_blank && end < text.len() {
        let next_end = line_end(text, end);
        if is_blank(&text[end..next_end]) {
            end = next_end;
        }
    }
    Span { start, end }
}

/// The whole lines `span` covers, their newline included.
pub fn line_region(text: &str, span: Span) -> Span {
    Span {
        start: line_start(text, span.start),
        end: line_end(text, span.end),
    }
}

/// The range to delete for one call argument or list element: the item, its trailing comma,
/// and, when it sits alone on its line(s), those whole lines.
pub fn item_region(text: &str, span: Span) -> Span {
    let mut end = span.end;
    let after = &text[end..];
    let ws = after.len() - after.trim_start_matches([' ', '\t']).len();
    if after[ws..].starts_with(',') {
        end += ws + 1;
    }
    let start_line = line_start(text, span.start);
    let end_line = line_end(text, end);
    let alone = is_blank(&text[start_line..span.start]) && {
        let rest = &text[end..end_line];
        is_blank(rest) || rest.trim_start().starts_with('#')
    };
    if alone && !text[end..end_line].trim_start().starts_with('#') {
        return Span {
            start: start_line,
            end: end_line,
        };
    }
    // Inline: also take the space after the comma so `a, b` becomes `b`, not ` b`.
    let after = &text[end..];
    let ws = after.len() - after.trim_start_matches([' ', '\t']).len();
    Span {
        start: span.start,
        end: end + ws,
    }
}

/// Edits removing the `remove`-marked items of a comma-separated sequence (call arguments,
/// list elements, load symbols) whose spans are `items`, in order. `anchor` is the end of
/// whatever precedes the first item (the `[`, or a load's module string), used when an
/// inline last item goes and the comma before it must go too.
pub fn remove_items(text: &str, items: &[Span], remove: &[bool], anchor: usize) -> Vec<Edit> {
    let mut edits = Vec::new();
    for (i, span) in items.iter().enumerate() {
        if !remove[i] {
            continue;
        }
        let region = item_region(text, *span);
        let on_own_line = region.start != span.start;
        let kept_after = (i + 1..items.len()).any(|j| !remove[j]);
        if on_own_line || kept_after {
            edits.push(Edit::delete(region));
            continue;
        }
        // Inline and nothing kept after it: take the comma before it instead, from the end
        // of the last kept item (or the anchor) — unless an earlier removal already did.
        let prev_end = (0..i)
            .rev()
            .find(|&j| !remove[j])
            .map_or(anchor, |j| items[j].end);
        let covered = edits.last().is_some_and(|e: &Edit| e.span.end > prev_end);
        let start = if covered {
            items[i - 1].end.max(prev_end)
        } else {
            prev_end
        };
        edits.push(Edit::delete(Span {
            start,
            end: span.end,
        }));
    }
    merge_adjacent(edits)
}

/// Join touching or overlapping deletions into one, so `apply` never sees an overlap.
fn merge_adjacent(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by_key(|e| e.span.start);
    let mut out: Vec<Edit> = Vec::new();
    for e in edits {
        match out.last_mut() {
            Some(last)
                if last.text.is_empty() && e.text.is_empty() && e.span.start <= last.span.end =>
            {
                last.span.end = last.span.end.max(e.span.end);
            }
            _ => out.push(e),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(text: &str, needle: &str) -> String {
        let start = text.find(needle).unwrap();
        let span = statement_region(
            text,
            Span {
                start,
                end: start + needle.len(),
            },
        );
        let mut out = text.to_owned();
        out.replace_range(span.start..span.end, "");
        out
    }

    #[test]
    fn deleting_a_statement_keeps_spacing() {
        assert_eq!(region("a()\n\nb()\n\nc()\n", "b()"), "a()\n\nc()\n");
        assert_eq!(region("a()\nb()\nc()\n", "b()"), "a()\nc()\n");
        assert_eq!(region("b()\n\nc()\n", "b()"), "c()\n");
        assert_eq!(
            region("a()\n\n# about b\nb()\n\nc()\n", "b()"),
            "a()\n\nc()\n"
        );
    }

    #[test]
    fn deleting_an_item_alone_on_its_line_takes_the_line() {
        let text = "r(\n    a = 1,\n    b = 2,\n)\n";
        let start = text.find("a = 1").unwrap();
        let span = item_region(
            text,
            Span {
                start,
                end: start + 5,
            },
        );
        assert_eq!(&text[span.start..span.end], "    a = 1,\n");
    }

    #[test]
    fn deleting_an_inline_item() {
        let text = "r(a = 1, b = 2)\n";
        let span = item_region(text, Span { start: 2, end: 7 });
        assert_eq!(&text[span.start..span.end], "a = 1, ");
    }

    fn remove(text: &str, items: &[&str], remove: &[bool]) -> String {
        let spans: Vec<Span> = items
            .iter()
            .map(|n| {
                let start = text.find(n).unwrap();
                Span {
                    start,
                    end: start + n.len(),
                }
            })
            .collect();
        let anchor = text.find('(').unwrap() + 1;
        apply(text, &remove_items(text, &spans, remove, anchor)).unwrap()
    }

    #[test]
    fn removing_items_inline_and_multiline() {
        let inline = "load(\"m\", \"a\", \"b\", \"c\")\n";
        assert_eq!(
            remove(inline, &["\"a\"", "\"b\"", "\"c\""], &[false, true, false]),
            "load(\"m\", \"a\", \"c\")\n"
        );
        assert_eq!(
            remove(inline, &["\"a\"", "\"b\"", "\"c\""], &[false, true, true]),
            "load(\"m\", \"a\")\n"
        );
        assert_eq!(
            remove(inline, &["\"a\"", "\"b\"", "\"c\""], &[true, false, false]),
            "load(\"m\", \"b\", \"c\")\n"
        );
        let multi = "load(\n    \"m\",\n    \"a\",\n    \"b\",\n)\n";
        assert_eq!(
            remove(multi, &["\"a\"", "\"b\""], &[true, false]),
            "load(\n    \"m\",\n    \"b\",\n)\n"
        );
        assert_eq!(
            remove(multi, &["\"a\"", "\"b\""], &[false, true]),
            "load(\n    \"m\",\n    \"a\",\n)\n"
        );
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let edits = [
            Edit::delete(Span { start: 0, end: 3 }),
            Edit::delete(Span { start: 2, end: 4 }),
        ];
        assert!(apply("abcdef", &edits).is_err());
    }
}
