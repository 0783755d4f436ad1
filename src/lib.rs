//! si-nixify: rewrite a Buck2 repo's download toolchains into the prelude's system toolchains,
//! and make a Nix devshell provide what they call.
//!
//! The pipeline, one module per step (see DESIGN.md):
//! [`repo`] → [`read`] → [`know`] → [`inventory`] (what is there) → [`plan`] → [`write`];
//! [`inputs`] assembles what a run reads, at the top.

pub mod clean;
pub mod cli;
pub mod doctor;
pub mod downloads;
pub mod error;
pub mod flake;
pub mod inputs;
pub mod inventory;
pub mod know;
pub mod pinned;
pub mod plan;
pub mod process;
pub mod read;
pub mod repo;
pub mod text;
pub mod write;
