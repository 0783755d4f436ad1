//! The evaluated targets as a graph: which targets name which in their attrs. Built once, so
//! that "who uses this download" and "which toolchains reach it" cost a lookup each, also in
//! a BUCK file of 10⁵ targets.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::EvaluatedTarget;

pub struct Graph {
    /// `users[i]`: the targets whose attrs name target `i`.
    users: Vec<Vec<usize>>,
}

impl Graph {
    pub fn of(targets: &[EvaluatedTarget]) -> Graph {
        // `//pkg:name` (any cell, as Buck2 labels are compared here) and (package, name).
        let mut by_label: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_package: HashMap<(&Path, &str), Vec<usize>> = HashMap::new();
        for (i, t) in targets.iter().enumerate() {
            if let Some((_, rest)) = t.label.split_once("//") {
                by_label.entry(rest).or_default().push(i);
            }
            by_package
                .entry((t.package.as_path(), t.name.as_str()))
                .or_default()
                .push(i);
        }
        let mut users = vec![Vec::new(); targets.len()];
        for (from, o) in targets.iter().enumerate() {
            let mut named = BTreeSet::new();
            for s in o.attrs.values().flat_map(super::strings) {
                let s = super::macro_argument(s).unwrap_or(s);
                let s = s.split('[').next().unwrap_or(s);
                let found = match s.split_once("//") {
                    Some((_, rest)) => by_label.get(rest),
                    None => s
                        .strip_prefix(':')
                        .and_then(|name| by_package.get(&(o.package.as_path(), name))),
                };
                named.extend(found.into_iter().flatten().copied());
            }
            for to in named.into_iter().filter(|to| *to != from) {
                users[to].push(from);
            }
        }
        Graph { users }
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
