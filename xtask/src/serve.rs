//! A small std-only static file server for the page (index.html + web/) on 127.0.0.1.

use crate::repo_root;
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// `cargo xtask serve`: optionally builds the page, then serves until interrupted.
pub fn serve_command(port: u16, build: bool) -> Result<()> {
    if build {
        crate::wasm::build_page()?;
    }
    let root = repo_root();
    if !root.join("web/pkg/wgsplat.js").is_file() {
        println!("warning: web/pkg/wgsplat.js is missing: run without --no-build first");
    }
    let listener = bind(port)?;
    let addr = listener.local_addr()?;
    crate::cmd::section("serving");
    println!("wgsplat page: http://{addr}/   (Ctrl-C to stop)");
    accept_loop(listener, root);
    Ok(())
}

/// Binds 127.0.0.1:`port`, or a free port when that one is taken (or `port` is 0).
pub fn bind(port: u16) -> Result<TcpListener> {
    let loopback = Ipv4Addr::LOCALHOST;
    match TcpListener::bind(SocketAddr::from((loopback, port))) {
        Ok(listener) => Ok(listener),
        Err(e) => {
            println!("port {port} unavailable ({e}); picking a free one");
            TcpListener::bind(SocketAddr::from((loopback, 0))).context("binding a free port on 127.0.0.1")
        }
    }
}

/// Starts serving `root` on a background thread; returns the base URL.
pub fn spawn(root: PathBuf) -> Result<String> {
    let listener = bind(0)?;
    let url = format!("http://{}/", listener.local_addr()?);
    std::thread::spawn(move || accept_loop(listener, root));
    Ok(url)
}

fn accept_loop(listener: TcpListener, root: PathBuf) {
    for stream in listener.incoming().flatten() {
        let root = root.clone();
        std::thread::spawn(move || {
            if let Err(e) = handle(stream, &root) {
                eprintln!("serve: {e:#}");
            }
        });
    }
}

fn handle(mut stream: TcpStream, root: &Path) -> Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        // Skip the headers; we need none of them.
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
                break;
            }
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("");
        let target = parts.next().unwrap_or("/");
        if method != "GET" && method != "HEAD" {
            respond(&mut stream, "405 Method Not Allowed", "text/plain", b"method not allowed\n", method == "HEAD")?;
            continue;
        }
        match resolve(root, target) {
            Some(path) => match std::fs::read(&path) {
                Ok(body) => respond(&mut stream, "200 OK", mime(&path), &body, method == "HEAD")?,
                Err(_) => respond(&mut stream, "404 Not Found", "text/plain", b"not found\n", method == "HEAD")?,
            },
            None => respond(&mut stream, "404 Not Found", "text/plain", b"not found\n", method == "HEAD")?,
        }
    }
}

fn respond(stream: &mut TcpStream, status: &str, mime: &str, body: &[u8], head: bool) -> Result<()> {
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
         Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes())?;
    if !head {
        stream.write_all(body)?;
    }
    stream.flush()?;
    Ok(())
}

/// Maps a request target to a file under `root`: no `..`, no hidden components; `/` and
/// directories map to their `index.html`.
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let mut out = root.to_path_buf();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(name) if !name.to_string_lossy().starts_with('.') => out.push(name),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    out.is_file().then_some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_rejects_escapes_and_hidden_files() {
        let root = repo_root();
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")).filter(|p| p.is_file()));
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        assert_eq!(resolve(&root, "/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(&root, "/.git/config"), None);
        assert_eq!(resolve(&root, "/Cargo.toml?x=1"), Some(root.join("Cargo.toml")));
    }

    #[test]
    fn wasm_gets_its_mime_type() {
        assert_eq!(mime(Path::new("web/pkg/wgsplat_bg.wasm")), "application/wasm");
        assert_eq!(mime(Path::new("web/main.js")), "text/javascript; charset=utf-8");
    }
}
