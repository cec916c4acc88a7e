//! Puts memory.x where the linker script link.x (from cortex-m-rt) finds it.
use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = match env::var_os("OUT_DIR") {
        Some(o) => PathBuf::from(o),
        None => panic!("OUT_DIR is not set: build.rs must be run by cargo"),
    };
    if let Err(e) = fs::write(out.join("memory.x"), include_bytes!("memory.x")) {
        panic!("cannot write memory.x to {}: {e}", out.display());
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
