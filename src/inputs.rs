//! Everything one run reads, assembled in one place at the top before anything is planned:
//! the toolchains cell (repo, knowledge, parsed files) and the flake. Each later step gets
//! what it needs passed down; none of them reads on its own.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::UserError;
use crate::flake::drift::Drift;
use crate::flake::Flake;
use crate::inventory::{self, Context, Inventory};
use crate::repo::Repo;

/// Which Nix file holds the devshell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FlakeChoice {
    /// `flake.nix` at the root, else `shell.nix` there, if there is one.
    #[default]
    Default,
    /// `--flake FILE`, root-relative or absolute inside the root.
    File(PathBuf),
    /// `--no-flake`.
    Skip,
}

pub struct Inputs {
    pub ctx: Context,
    pub flake: Option<Flake>,
}

impl Inputs {
    /// Read the cell and the flake: a syntax error in any file stops the run before a
    /// single byte is written.
    pub fn read(repo: Repo, choice: &FlakeChoice) -> Result<Inputs, UserError> {
        let flake = read_flake(&repo, choice)?;
        let ctx = Context::load(repo)?;
        Ok(Inputs { ctx, flake })
    }

    /// The inventory, with the version drift between its pins and the flake's devshell.
    pub fn inventory(&self) -> Result<Scan, UserError> {
        self.scan(inventory::take(&self.ctx)?)
    }

    /// [`Inputs::inventory`] without the downloads (see [`inventory::take_before_downloads`]).
    pub fn inventory_before_downloads(&self) -> Result<Scan, UserError> {
        self.scan(inventory::take_before_downloads(&self.ctx)?)
    }

    fn scan(&self, inventory: inventory::Inventory) -> Result<Scan, UserError> {
        let version_drift = match &self.flake {
            Some(flake) => {
                crate::flake::drift::find(&self.ctx.repo.root, &inventory, flake, &self.ctx.know)
            }
            None => Vec::new(),
        };
        Ok(Scan {
            inventory,
            version_drift,
        })
    }
}

/// The `scan --json` document: what the cell holds, and where the devshell drifts from the
/// versions it pinned. An inventory with one more key, so it reads as one.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    #[serde(flatten)]
    pub inventory: Inventory,
    pub version_drift: Vec<Drift>,
}

impl From<Inventory> for Scan {
    fn from(inventory: Inventory) -> Scan {
        Scan {
            inventory,
            version_drift: Vec::new(),
        }
    }
}

impl std::ops::Deref for Scan {
    type Target = Inventory;
    fn deref(&self) -> &Inventory {
        &self.inventory
    }
}

impl std::ops::DerefMut for Scan {
    fn deref_mut(&mut self) -> &mut Inventory {
        &mut self.inventory
    }
}

fn read_flake(repo: &Repo, choice: &FlakeChoice) -> Result<Option<Flake>, UserError> {
    match choice {
        FlakeChoice::Skip => Ok(None),
        // flake.nix at the root, else a shell.nix there (`nix-shell` repos: its `mkShell`).
        FlakeChoice::Default => ["flake.nix", "shell.nix"]
            .iter()
            .map(Path::new)
            .find(|p| repo.root.join(p).is_file())
            .map(|p| Flake::read(&repo.root, p))
            .transpose(),
        FlakeChoice::File(path) => {
            let rel = path.strip_prefix(&repo.root).unwrap_or(path).to_path_buf();
            Ok(Some(Flake::read(&repo.root, &rel)?))
        }
    }
}
