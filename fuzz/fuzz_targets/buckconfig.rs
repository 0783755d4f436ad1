//! .buckconfig parsing: any text either parses or gives a located error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = si_nixify::repo::buckconfig::parse(text, Path::new(".buckconfig")) {
            assert!(e.at.is_some(), "every .buckconfig error names a line");
        }
    }
});
