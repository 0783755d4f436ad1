//! Which system rules `--nix-pinned` pins (data: nix/pinned/pinned.json).

use serde::Deserialize;

use crate::error::UserError;

const BUILTIN: &str = include_str!("../../nix/pinned/pinned.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub notes: Vec<String>,
    pub rules: Vec<PinnedRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedRule {
    /// The prelude rule it replaces (`system_cxx_toolchain`).
    pub system_rule: String,
    /// The macro of nix_pinned.bzl that replaces it (`nix_cxx_toolchain`).
    pub macro_name: String,
    /// Tools it takes from packages beyond the system rule's own.
    #[serde(default)]
    pub extra_tools: Vec<ExtraTool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraTool {
    pub binary: String,
    pub nix: String,
}

impl Rules {
    pub fn builtin() -> Result<Rules, UserError> {
        serde_json::from_str(BUILTIN)
            .map_err(|e| UserError::new(format!("internal error: nix/pinned/pinned.json: {e}")))
    }

    /// The rule a call of `rule` (a system rule or an already pinned macro) stands for.
    pub fn for_rule(&self, rule: &str) -> Option<&PinnedRule> {
        self.rules
            .iter()
            .find(|r| r.system_rule == rule || r.macro_name == rule)
    }

    pub fn system_rule_names(&self) -> Vec<String> {
        self.rules.iter().map(|r| r.system_rule.clone()).collect()
    }
}
