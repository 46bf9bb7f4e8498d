// A legitimate native build: compile C with the system compiler (no cc crate, so
// nothing else is needed from the registry) and link it statically.
use std::process::Command;

fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let obj = format!("{}/hello.o", out);
    let st = Command::new("cc").args(["-c", "-fPIC", "src/hello.c", "-o", &obj]).status().expect("running cc");
    assert!(st.success(), "cc failed");
    let st = Command::new("ar").args(["rcs", &format!("{}/libpboxhello.a", out), &obj]).status().expect("running ar");
    assert!(st.success(), "ar failed");
    println!("cargo:rustc-link-search=native={}", out);
    println!("cargo:rustc-link-lib=static=pboxhello");
    println!("cargo:rerun-if-changed=src/hello.c");
}
