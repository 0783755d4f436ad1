//! The evaluated targets as a graph: which targets name which in their attrs. Built once, so
//! that "who uses this download" and "which toolchains reach it" cost a lookup each, also in
//! a BUCK file of 10⁵ targets.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use super::EvaluatedTarget;

pub struct Graph {
    /// `users[i]`: the targets whose attrs name target `i`.
    users: Vec<Vec<usize>>,
    /// `//pkg:name` (any cell, as Buck2 labels are compared here) → targets.
    by_label: HashMap<String, Vec<usize>>,
    /// (package, name) → targets.
    by_package: HashMap<(PathBuf, String), Vec<usize>>,
}

impl Graph {
    pub fn of(targets: &[EvaluatedTarget]) -> Graph {
        let mut by_label: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_package: HashMap<(PathBuf, String), Vec<usize>> = HashMap::new();
        for (i, t) in targets.iter().enumerate() {
            if let Some((_, rest)) = t.label.split_once("//") {
                by_label.entry(rest.to_owned()).or_default().push(i);
            }
            by_package
                .entry((t.package.clone(), t.name.clone()))
                .or_default()
                .push(i);
        }
        let mut graph = Graph {
            users: vec![Vec::new(); targets.len()],
            by_label,
            by_package,
        };
        for (from, o) in targets.iter().enumerate() {
            let mut named = BTreeSet::new();
            for v in o.attrs.values().chain(o.defaults.values()) {
                named.extend(graph.named_in(o, v));
            }
            for to in named.into_iter().filter(|to| *to != from) {
                graph.users[to].push(from);
            }
        }
        graph
    }

    /// The targets an attr value of `from` names (`:x`, `//pkg:x[sub]`, `$(location :x)/…`).
    pub fn named_in(&self, from: &EvaluatedTarget, value: &serde_json::Value) -> BTreeSet<usize> {
        let mut named = BTreeSet::new();
        for s in super::strings(value) {
            let s = super::macro_argument(s).unwrap_or(s);
            let s = s.split('[').next().unwrap_or(s);
            let found = match s.split_once("//") {
                Some((_, rest)) => self.by_label.get(rest),
                None => s.strip_prefix(':').and_then(|name| {
                    self.by_package
                        .get(&(from.package.clone(), name.to_owned()))
                }),
            };
            named.extend(found.into_iter().flatten().copied());
        }
        named
    }

    /// The targets whose attrs name target `i`.
    pub fn users(&self, i: usize) -> &[usize] {
        &self.users[i]
    }

    /// Target `i` and every target from which it is reached through attrs, each once.
    pub fn reaching(&self, i: usize) -> Vec<usize> {
        let mut seen = BTreeSet::from([i]);
        let mut order = vec![i];
        let mut next = 0;
        while next < order.len() {
            for &u in &self.users[order[next]] {
                if seen.insert(u) {
                    order.push(u);
                }
            }
            next += 1;
        }
        order
    }
}

/// Labels of the targets of `reached` made by the build files `cell`.
pub fn in_cell(targets: &[EvaluatedTarget], reached: &[usize], cell: &[PathBuf]) -> Vec<String> {
    reached
        .iter()
        .map(|&i| &targets[i])
        .filter(|t| cell.contains(&t.call.file))
        .map(|t| t.label.clone())
        .collect()
}
