//! Finding the schema a rewritten call is checked against: the rule's own definition in the
//! repo (its prelude, or its own .bzl), and only when the repo has no prelude at all, the
//! built-in copy in the knowledge base.

use crate::error::UserError;
use crate::inventory::Context;
use crate::read::schema::{rule_schema, AttrSchema, RuleSchema};
use crate::read::Module;
use crate::repo::{resolve_load, Label};

#[derive(Clone)]
pub struct Found {
    pub schema: RuleSchema,
    pub warning: Option<String>,
}

/// The schema of rule `name`: through BUCK's own load of it, else from `label`.
pub fn for_rule(ctx: &Context, buck: &Module, name: &str, label: &str) -> Result<Found, UserError> {
    // si-nixify's own rule, in the file the rewrite writes: read from the text it writes.
    if name == crate::inventory::generic::PATH_TOOL_RULE {
        let path = std::path::Path::new(crate::inventory::generic::PATH_TOOL_FILE);
        let module = Module::parse(path, super::PATH_TOOL_TEXT.to_owned())?;
        if let Some(schema) = rule_schema(&module, name) {
            return Ok(Found {
                schema,
                warning: None,
            });
        }
    }
    if let Some(schema) = for_call(ctx, buck, name)? {
        return Ok(Found {
            schema,
            warning: None,
        });
    }
    let at = buck.location(0);
    if !cell_exists(ctx, label) || ctx.repo.is_external_unavailable(label) {
        return builtin(ctx, name, label);
    }
    let path = resolve_load(&ctx.repo, label, &buck.path, &at).map_err(|e| {
        UserError::new(format!(
            "`{name}` should come from `{label}`, but {}",
            e.message
        ))
        .in_file(&buck.path)
        .hint("check the repo's prelude, or set `replacement.load` in .si-nixify/*.json")
    })?;
    let module = Module::read(&ctx.repo.root, &path)?;
    let schema = rule_schema(&module, name).ok_or_else(|| {
        UserError::new(format!(
            "`{}` does not define `{name} = rule(...)`",
            path.display()
        ))
        .in_file(&path)
        .hint("point `replacement.load` in the knowledge base at the file that defines the rule")
    })?;
    Ok(Found {
        schema,
        warning: None,
    })
}

/// The schema of a rule the BUCK file already calls, following its load (a file on the way
/// that does not parse is the error).
pub fn for_call(ctx: &Context, buck: &Module, rule: &str) -> Result<Option<RuleSchema>, UserError> {
    Ok(ctx
        .sources
        .find_definition(&buck.path, rule)?
        .and_then(|(module, name)| rule_schema(module, &name)))
}

fn cell_exists(ctx: &Context, label: &str) -> bool {
    match Label::parse(label) {
        Some(Label::Cell { cell, .. }) => ctx
            .repo
            .cell_dir(&cell)
            .is_some_and(|dir| ctx.repo.root.join(dir).is_dir()),
        _ => true,
    }
}

fn builtin(ctx: &Context, name: &str, label: &str) -> Result<Found, UserError> {
    let attrs = ctx.know.schemas.get(name).ok_or_else(|| {
        UserError::new(format!(
            "the repo has no cell for `{label}`, where `{name}` is defined, and no built-in schema for it exists"
        ))
        .in_file(std::path::Path::new(".buckconfig"))
        .hint("add the prelude cell to .buckconfig")
    })?;
    Ok(Found {
        schema: RuleSchema {
            rule: name.to_owned(),
            file: "(built-in schema)".into(),
            line: 0,
            attrs: attrs
                .iter()
                .map(|a| {
                    (
                        a.clone(),
                        AttrSchema {
                            optional: true,
                            default_only: false,
                            default_str: None,
                            kind: Vec::new(),
                        },
                    )
                })
                .collect(),
            impl_name: None,
        },
        warning: Some(builtin_warning(ctx, name, label)),
    })
}

/// Why the built-in schema was used: an external cell of which no copy was found, or no cell.
fn builtin_warning(ctx: &Context, name: &str, label: &str) -> String {
    let external = match Label::parse(label) {
        Some(Label::Cell { cell, .. }) => {
            let cell = ctx.repo.cell_name(&cell).to_owned();
            ctx.repo.external.get(&cell).map(|e| (cell, e))
        }
        _ => None,
    };
    match external {
        Some((cell, e)) => format!(
            "`{cell}` is an external cell ({}) and no copy of it was found (looked in {}): `{name}` was checked against si-nixify's built-in schema",
            e.origin_text(),
            e.looked_in(&cell)
        ),
        None => format!(
            "the repo has no cell for `{label}`: `{name}` was checked against si-nixify's built-in schema, not the repo's prelude"
        ),
    }
}
