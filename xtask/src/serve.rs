//! A small std-only static file server for the page (index.html + web/) on 127.0.0.1, and the
//! routes `bench-web` adds: the dataset folder it benchmarks and the results the page POSTs.

use crate::repo_root;
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Sender;

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
    accept_loop(listener, root, None);
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
    spawn_with(root, None)
}

/// What `bench-web` serves besides the page: `GET /bench/dataset.json` (the folder's name and
/// files), `GET /bench/dataset/<file>`, and `POST /bench/result` (each body is sent on).
pub struct BenchRoutes {
    pub dataset: Option<PathBuf>,
    pub results: Sender<String>,
}

/// The largest result a page may POST (its profile is most of it).
const MAX_RESULT_BYTES: usize = 512 << 20;

/// Like `spawn`, with the bench routes.
pub fn spawn_with(root: PathBuf, bench: Option<Arc<BenchRoutes>>) -> Result<String> {
    let listener = bind(0)?;
    let url = format!("http://{}/", listener.local_addr()?);
    std::thread::spawn(move || accept_loop(listener, root, bench));
    Ok(url)
}

fn accept_loop(listener: TcpListener, root: PathBuf, bench: Option<Arc<BenchRoutes>>) {
    for stream in listener.incoming().flatten() {
        let root = root.clone();
        let bench = bench.clone();
        std::thread::spawn(move || {
            if let Err(e) = handle(stream, &root, bench.as_deref()) {
                eprintln!("serve: {e:#}");
            }
        });
    }
}

fn handle(mut stream: TcpStream, root: &Path, bench: Option<&BenchRoutes>) -> Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        // Of the headers, only a body's length matters here.
        let mut content_length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().context("a Content-Length that is not a number")?;
            }
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("");
        let target = parts.next().unwrap_or("/");
        if let Some(bench) = bench {
            if method == "POST" && target == "/bench/result" {
                if content_length > MAX_RESULT_BYTES {
                    respond(&mut stream, "413 Payload Too Large", "text/plain", b"too large\n", false)?;
                    return Ok(());
                }
                let mut body = vec![0u8; content_length];
                reader.read_exact(&mut body)?;
                let text = String::from_utf8(body).context("a result that is not UTF-8")?;
                let _ = bench.results.send(text);
                respond(&mut stream, "200 OK", "text/plain", b"ok\n", false)?;
                continue;
            }
            if method == "GET"
                && let Some(answer) = bench_get(bench, target)
            {
                match answer {
                    Some((mime, body)) => respond(&mut stream, "200 OK", mime, &body, false)?,
                    None => respond(&mut stream, "404 Not Found", "text/plain", b"not found\n", false)?,
                }
                continue;
            }
        }
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

/// The bench routes' answer to `GET target`: None when the target is not one of them, Some(None)
/// when it is but names nothing.
fn bench_get(bench: &BenchRoutes, target: &str) -> Option<Option<(&'static str, Vec<u8>)>> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    if path == "/bench/dataset.json" {
        let Some(dir) = &bench.dataset else { return Some(None) };
        let mut files = Vec::new();
        list_files(dir, Path::new(""), &mut files);
        files.sort();
        let name = dir.file_name().map_or_else(|| "dataset".to_string(), |n| n.to_string_lossy().into_owned());
        let body = serde_json::json!({ "name": name, "files": files }).to_string().into_bytes();
        return Some(Some(("application/json", body)));
    }
    let rest = path.strip_prefix("/bench/dataset/")?;
    let file = bench.dataset.as_ref().and_then(|dir| resolve(dir, &format!("/{rest}")));
    Some(file.and_then(|f| std::fs::read(&f).ok().map(|body| (mime(&f), body))))
}

/// Every file under `dir` (hidden ones left out), as paths relative to it with `/`.
fn list_files(dir: &Path, prefix: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir.join(prefix)) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let relative = prefix.join(&name);
        // Following links, as reading the files does.
        if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
            list_files(dir, &relative, out);
        } else {
            out.push(relative.to_string_lossy().replace('\\', "/"));
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

    /// The bench routes: the dataset's listing and files, nothing outside it, and a POSTed
    /// result handed on whole.
    #[test]
    fn bench_routes_list_serve_and_receive() {
        let dir = std::env::temp_dir().join(format!("wgsplat-bench-routes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("lego/train")).unwrap();
        std::fs::write(dir.join("lego/transforms_train.json"), b"{}").unwrap();
        std::fs::write(dir.join("lego/train/r_0.png"), b"png").unwrap();
        std::fs::write(dir.join("lego/.hidden"), b"no").unwrap();
        std::fs::write(dir.join("outside.txt"), b"no").unwrap();
        let (sender, results) = std::sync::mpsc::channel();
        let routes = BenchRoutes { dataset: Some(dir.join("lego")), results: sender };

        let (mime, listing) = bench_get(&routes, "/bench/dataset.json").unwrap().unwrap();
        assert_eq!(mime, "application/json");
        let listing: serde_json::Value = serde_json::from_slice(&listing).unwrap();
        assert_eq!(listing, serde_json::json!({"name": "lego", "files": ["train/r_0.png", "transforms_train.json"]}));
        assert_eq!(bench_get(&routes, "/bench/dataset/train/r_0.png").unwrap().unwrap().1, b"png");
        assert!(bench_get(&routes, "/bench/dataset/../outside.txt").unwrap().is_none());
        assert!(bench_get(&routes, "/bench/dataset/.hidden").unwrap().is_none());
        assert!(bench_get(&routes, "/index.html").is_none(), "not a bench route");

        let base = spawn_with(repo_root(), Some(Arc::new(routes))).unwrap();
        let address = base.trim_start_matches("http://").trim_end_matches('/');
        let body = r#"{"ok":true,"steps":3}"#;
        let mut stream = TcpStream::connect(address).unwrap();
        write!(
            stream,
            "POST /bench/result HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let received = results.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(received, body);
        let mut reply = [0u8; 15];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"HTTP/1.1 200 OK");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
