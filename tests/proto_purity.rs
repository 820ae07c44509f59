//! The protocol crate (crates/otapush-proto) stays pure: no async runtime, D-Bus, SQLite, HTTP
//! or libc among its dependencies (direct, or reached through them per Cargo.lock), and no file
//! system, network, process, environment, thread or clock access in its sources. The I/O
//! shells live in the daemon crate.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Never a direct dependency of the protocol crate (a name, or a prefix ending in `*`).
const FORBIDDEN_DIRECT: &[&str] = &[
    "tokio*",
    "zbus*",
    "rusqlite",
    "libsqlite3-sys",
    "hyper*",
    "rustls*",
    "libc",
    "nix",
    "rustix",
    "mio",
    "socket2",
];

/// Never reached through its dependencies either. (libc may be: e.g. `cpufeatures` uses it on
/// aarch64 to read the CPU's features, which is not I/O the crate does.)
const FORBIDDEN_ANYWHERE: &[&str] =
    &["tokio*", "zbus*", "rusqlite", "libsqlite3-sys", "hyper*", "mio", "socket2"];

/// Paths below `std` the sources may not name: I/O, processes, environment, threads.
const FORBIDDEN_STD: &[&str] = &["fs", "net", "process", "env", "thread", "os"];

/// Clock reads (a pure core takes the time as a value).
const CLOCK_READS: &[&str] = &["SystemTime::now", "Instant::now", ".elapsed()", "UNIX_EPOCH.elapsed"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn proto() -> PathBuf {
    root().join("crates/otapush-proto")
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

fn forbidden(list: &[&str], name: &str) -> bool {
    list.iter().any(|p| matches(p, name))
}

/// Dependency names of every table of kind `kind` (`dependencies`, `build-dependencies`,
/// `dev-dependencies`), the target-specific ones included.
fn deps(manifest: &toml::Table, kind: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |t: Option<&toml::Value>| {
        for (key, v) in t.and_then(toml::Value::as_table).into_iter().flatten() {
            // `foo = { package = "bar" }` depends on bar.
            let name = v.get("package").and_then(toml::Value::as_str).unwrap_or(key);
            out.insert(name.to_string());
        }
    };
    add(manifest.get(kind));
    for target in manifest.get("target").and_then(toml::Value::as_table).into_iter().flatten() {
        add(target.1.get(kind));
    }
    out
}

fn manifest() -> toml::Table {
    let text = std::fs::read_to_string(proto().join("Cargo.toml")).expect("crates/otapush-proto/Cargo.toml");
    text.parse().expect("valid TOML")
}

#[test]
fn no_forbidden_direct_dependency() {
    let m = manifest();
    let normal: BTreeSet<String> =
        deps(&m, "dependencies").into_iter().chain(deps(&m, "build-dependencies")).collect();
    assert!(normal.contains("thiserror"), "the manifest was not read: {normal:?}");
    let bad: Vec<&String> = normal.iter().filter(|n| forbidden(FORBIDDEN_DIRECT, n)).collect();
    assert!(bad.is_empty(), "otapush-proto depends on {bad:?}: I/O belongs in the daemon crate");
    let path_deps: Vec<&String> =
        normal.iter().filter(|n| n.starts_with("otapush") && *n != "otapush-proto").collect();
    assert!(path_deps.is_empty(), "otapush-proto depends on {path_deps:?}");
}

/// Every package Cargo.lock resolves for `start`'s normal and build dependencies (and their
/// optional ones: the lock does not say which features are on, so this errs on the strict side).
fn reachable(lock: &toml::Table, start: &str, skip_first: &BTreeSet<String>) -> BTreeSet<String> {
    let packages = lock.get("package").and_then(toml::Value::as_array).expect("[[package]] in Cargo.lock");
    // "name" and "name version" → its dependency list.
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    for p in packages {
        let name = p.get("name").and_then(toml::Value::as_str).unwrap_or_default();
        let version = p.get("version").and_then(toml::Value::as_str).unwrap_or_default();
        let d: Vec<String> = p
            .get("dependencies")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        by_key.insert(format!("{name} {version}"), d.clone());
        by_key.entry(name.to_string()).or_insert(d);
    }
    let first = by_key.get(start).unwrap_or_else(|| panic!("{start} not in Cargo.lock"));
    let mut todo: Vec<String> = first
        .iter()
        .filter(|d| !skip_first.contains(d.split(' ').next().unwrap_or_default()))
        .cloned()
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(key) = todo.pop() {
        // A lock entry names "name" or "name version" (or "name version (source)").
        let mut parts = key.split(' ');
        let name = parts.next().unwrap_or_default().to_string();
        let lookup = match parts.next() {
            Some(v) => format!("{name} {v}"),
            None => name.clone(),
        };
        if !seen.insert(lookup.clone()) {
            continue;
        }
        todo.extend(by_key.get(&lookup).into_iter().flatten().cloned());
    }
    seen.into_iter().map(|k| k.split(' ').next().unwrap_or_default().to_string()).collect()
}

#[test]
fn no_forbidden_dependency_through_the_lock() {
    let m = manifest();
    let normal: BTreeSet<String> =
        deps(&m, "dependencies").into_iter().chain(deps(&m, "build-dependencies")).collect();
    let dev_only: BTreeSet<String> = deps(&m, "dev-dependencies").difference(&normal).cloned().collect();
    let lock: toml::Table =
        std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock").parse().expect("valid TOML");
    let all = reachable(&lock, "otapush-proto", &dev_only);
    assert!(all.contains("memchr") && !all.contains("proptest"), "the lock walk is wrong: {all:?}");
    let bad: Vec<&String> = all.iter().filter(|n| forbidden(FORBIDDEN_ANYWHERE, n)).collect();
    assert!(bad.is_empty(), "otapush-proto reaches {bad:?} through its dependencies");
}

/// The source with comments (line, block, doc) and the contents of string and char literals
/// removed, so prose and test data do not count.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).copied()) {
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            // A raw string, r"…" or r#"…"# (b/br prefixes are left as code).
            (b'r', Some(b'"' | b'#'))
                if i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let end: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                i += 2 + hashes;
                while i < b.len() && !b[i..].starts_with(&end) {
                    i += 1;
                }
                i += end.len();
                out.push_str("\"\"");
            }
            (b'"', _) => {
                out.push_str("\"\"");
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            // A char literal ('x', '\n', '\u{7f}'), not a lifetime ('a).
            (b'\'', _) if b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\') => {
                out.push_str("' '");
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ => {
                let c = src[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// `code` without its `#[cfg(test)] mod name { … }` blocks. A unit test may read the clock: an
/// engine that takes `Instant`s as values needs one to start from, and `Instant` has no other
/// constructor.
fn without_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(i) = rest.find("#[cfg(test)]mod") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(open) = after.find(['{', ';']) else { break };
        if after.as_bytes()[open] == b';' {
            out.push_str(&after[..=open]);
            rest = &after[open + 1..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (j, c) in after.char_indices().skip(open) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// What `src` does that a pure core may not: `std::fs`, `use std::{fs, …}`, `Instant::now()`…
/// (clock reads in unit-test modules excepted: see [`without_test_modules`]).
fn impurities(src: &str) -> Vec<String> {
    impurities_in(src, false)
}

/// [`impurities`] of a file that holds only tests (`tests.rs`): the clock is allowed there.
fn impurities_in(src: &str, test_file: bool) -> Vec<String> {
    let code: String = code_only(src).split_whitespace().collect();
    let mut found = Vec::new();
    for m in FORBIDDEN_STD {
        let path = format!("std::{m}");
        let at_boundary = |rest: &str| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if code.match_indices(&path).any(|(i, _)| at_boundary(&code[i + path.len()..])) {
            found.push(path);
        }
    }
    // Grouped imports: the top-level names of every `std::{…}`.
    for (i, _) in code.match_indices("std::{") {
        let (mut depth, mut name, mut top) = (0, String::new(), true);
        for c in code[i + 5..].chars() {
            if depth == 1 && (c.is_alphanumeric() || c == '_') {
                if top {
                    name.push(c);
                }
                continue;
            }
            if FORBIDDEN_STD.contains(&name.as_str()) {
                found.push(format!("std::{{{name}}}"));
            }
            name.clear();
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                break;
            }
            // A name starts a path after `{` or `,` at the top level; after `::` it goes on.
            if depth == 1 {
                top = matches!(c, '{' | ',' | '}');
            }
        }
    }
    let outside_tests = if test_file { String::new() } else { without_test_modules(&code) };
    for c in CLOCK_READS {
        if outside_tests.contains(&c.replace(' ', "")) {
            found.push(c.to_string());
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn sources_do_no_io_and_read_no_clock() {
    let mut files = Vec::new();
    rust_files(&proto().join("src"), &mut files);
    assert!(files.len() > 20, "sources not found: {files:?}");
    let mut bad = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let test_file = f.file_name().is_some_and(|n| n == "tests.rs");
        for what in impurities_in(&src, test_file) {
            bad.push(format!("{}: {what}", f.strip_prefix(root()).unwrap_or(f).display()));
        }
    }
    assert!(bad.is_empty(), "the protocol crate does I/O or reads the clock:\n{}", bad.join("\n"));
}

#[test]
fn lints_and_unsafe_stay_on() {
    let lib = std::fs::read_to_string(proto().join("src/lib.rs")).unwrap();
    for attr in ["#![warn(unreachable_pub, missing_docs)]", "#![forbid(unsafe_code)]"] {
        assert!(lib.contains(attr), "crates/otapush-proto/src/lib.rs lost {attr}");
    }
}

/// The checks themselves find what they look for.
#[test]
fn the_checks_catch_impurities() {
    assert_eq!(impurities("use std::fs::File;"), ["std::fs"]);
    assert_eq!(impurities("use std::{collections::HashMap, net::TcpStream};"), ["std::{net}"]);
    assert_eq!(impurities("use std::{\n    fs,\n    io,\n};"), ["std::{fs}"]);
    assert_eq!(impurities("let t = std::time::Instant::now();"), ["Instant::now"]);
    assert_eq!(impurities("let d = SystemTime :: now();"), ["SystemTime::now"]);
    assert_eq!(impurities("fn f(t0: Instant) -> u64 { t0.elapsed().as_millis() as u64 }"), [".elapsed()"]);
    assert_eq!(impurities("std::process::exit(1)"), ["std::process"]);
    // The clock in a unit-test module is allowed, I/O is not; outside it neither.
    let with_tests =
        "fn f(t: Instant) {}\n#[cfg(test)]\nmod tests {\n    fn g() { let t = Instant::now(); { } }\n}\n";
    assert!(impurities(with_tests).is_empty());
    assert_eq!(impurities(&format!("{with_tests}fn h() {{ Instant::now(); }}")), ["Instant::now"]);
    assert_eq!(impurities("#[cfg(test)] mod tests { use std::fs::File; }"), ["std::fs"]);
    assert_eq!(impurities("#[cfg(test)] mod tests; fn h() { Instant::now(); }"), ["Instant::now"]);
    assert!(impurities_in("let t = Instant::now();", true).is_empty());
    // Words, comments and literals that only look alike.
    assert!(impurities("use std::fmt; use std::{fmt, collections::HashSet};").is_empty());
    assert!(impurities("// std::fs is for the daemon\n/* Instant::now() */ let s = \"std::net\";").is_empty());
    assert!(impurities("fn f<'a>(x: &'a str) -> char { let _ = x; '\"' }").is_empty());
    assert!(impurities("use std::{io::{self, Read}, fmt};").is_empty());
    assert!(impurities("let s = r#\"std::fs \"quoted\" Instant::now()\"#; let r = 1;").is_empty());
    assert_eq!(impurities("let s = r\"x\"; std::env::var(s)"), ["std::env"]);
    assert!(forbidden(FORBIDDEN_DIRECT, "tokio-serial") && forbidden(FORBIDDEN_DIRECT, "libc"));
    assert!(!forbidden(FORBIDDEN_DIRECT, "heapless"));
}
