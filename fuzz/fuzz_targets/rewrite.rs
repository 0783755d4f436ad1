//! toolchains/BUCK text → read → plan → rewrite, against the SI-shaped fixture's .bzl files.
//! Properties: no panic; a plan's output loads and plans again to itself (idempotent).
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use si_nixify::inventory::{rewrite, Context, FlakeChoice};
use si_nixify::repo::Repo;

thread_local! {
    static CTX: Context = {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/si-latest");
        let repo = Repo::open(root.canonicalize().unwrap()).unwrap();
        Context::load_with(repo, &FlakeChoice::Skip).unwrap()
    };
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    CTX.with(|ctx| {
        let Ok(input) = ctx.with_buck_text(text.to_owned()) else {
            return;
        };
        let Ok(plan) = rewrite(&input) else { return };
        let output = input
            .with_buck_text(plan.new.clone())
            .expect("a rewritten BUCK file must load");
        let again = rewrite(&output).expect("a rewritten BUCK file must plan");
        assert_eq!(again.new, plan.new, "a second run must change nothing");
    });
});
