//! The repository documents its own fixed names: no comment cites a document that lives outside
//! it, every config key is in docs/config.md, and every D-Bus member is in docs/dbus-api.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Text files under `dir`, skipping build output and non-UTF-8 files (fuzz corpora).
fn text_files(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "corpus" | "artifacts" | "coverage") {
                text_files(&path, out);
            }
        } else if name != "Cargo.lock" {
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.push((path, text));
            }
        }
    }
}

/// Names of documents that are not in the repository. Built from parts, so this file does not
/// name them itself.
fn outside_documents() -> Vec<String> {
    let mut v: Vec<String> = ["contract", "modem-at", "sms-wdp", "wsp-tables", "sse-client", "push-dispatch"]
        .iter()
        .chain(&["packaging"])
        .map(|n| format!("{n}.md"))
        .collect();
    v.push(["..", "shared"].join("/"));
    v.push(["shared", "reference"].join("/"));
    v.push(["reference", ""].join("/"));
    v.push(["modem-at", "reference"].join(" "));
    v
}

/// The comment part of a line: after `//` in Rust, after `#` or inside `<!-- -->` elsewhere
/// (approximate: a `#` or `//` inside a string counts too, which only makes the check stricter).
fn comment_of<'a>(path: &Path, line: &'a str, in_xml_comment: &mut bool) -> Option<&'a str> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "rs" => line.find("//").map(|i| &line[i..]),
        "xml" | "conf" | "service" if line.contains("<!--") || *in_xml_comment => {
            *in_xml_comment = !line.contains("-->");
            Some(line)
        }
        "xml" | "conf" => None,
        _ => line.find('#').map(|i| &line[i..]),
    }
}

/// Whether `text` holds `word` as a whole word (letters, digits and `_` are word characters).
fn has_word(text: &str, word: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    lower.match_indices(word).any(|(i, _)| {
        !is_word(lower[..i].chars().next_back()) && !is_word(lower[i + word.len()..].chars().next())
    })
}

#[test]
fn no_comment_cites_a_document_outside_the_repository() {
    let mut files = Vec::new();
    for dir in [
        "src", "crates", "tests", "benches", "examples", "fuzz", "scripts", "board", "dbus", "systemd",
        "udev", ".ci",
    ] {
        text_files(&root().join(dir), &mut files);
    }
    files.push((root().join("Cargo.toml"), read("Cargo.toml")));
    assert!(files.len() > 50, "the walk found only {} files", files.len());
    let docs = outside_documents();
    let word = ["contr", "act"].concat();
    let mut found = Vec::new();
    for (path, text) in &files {
        let mut in_xml = false;
        for (n, line) in text.lines().enumerate() {
            let Some(comment) = comment_of(path, line, &mut in_xml) else { continue };
            let lower = comment.to_ascii_lowercase();
            let cites = docs.iter().any(|d| lower.contains(d.as_str())) || has_word(comment, &word);
            if cites {
                let rel = path.strip_prefix(root()).unwrap_or(path);
                found.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "comments citing documents outside the repository (cite the spec or docs/ instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_word_check_sees_whole_words_only() {
    let word = ["contr", "act"].concat();
    assert!(has_word(&format!("// see the {word}."), &word));
    assert!(has_word(&format!("// the {}'s name", word.to_uppercase()), &word));
    assert!(!has_word(&format!("fn {word}_shape()"), &word));
    assert!(!has_word(&format!("// {word}ed"), &word));
    let mut x = false;
    assert_eq!(comment_of(Path::new("a.rs"), "let a = 1; // note", &mut x), Some("// note"));
    assert_eq!(comment_of(Path::new("a.toml"), "k = 1", &mut x), None);
}

/// Serde field names of the structs deriving `Deserialize` in config.rs, with `rename` applied:
/// (struct, key).
fn config_keys(src: &str) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    let mut derive_de = false;
    let mut current: Option<String> = None;
    let mut rename: Option<String> = None;
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("#[derive(") {
            derive_de = t.contains("Deserialize");
        } else if let Some(rest) = t.strip_prefix("pub struct ") {
            let name = rest.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
            current = derive_de.then(|| name.to_string());
        } else if t == "}" {
            current = None;
        } else if let Some(r) = t.strip_prefix("#[serde(rename = \"") {
            rename = r.split('"').next().map(str::to_string);
        } else if let (Some(s), Some(rest)) = (&current, t.strip_prefix("pub ")) {
            if let Some((field, _)) = rest.split_once(':') {
                keys.push((s.clone(), rename.take().unwrap_or_else(|| field.trim().to_string())));
            }
        }
    }
    keys
}

/// Variant names of `rename_all = "snake_case"` enums in config.rs, in snake case.
fn config_enum_values(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut snake = false;
    let mut inside = false;
    for line in src.lines() {
        let t = line.trim();
        if t.contains("rename_all = \"snake_case\"") {
            snake = true;
        } else if t.starts_with("pub enum ") {
            inside = snake;
            snake = false;
        } else if t == "}" {
            inside = false;
        } else if inside && !t.starts_with('#') && !t.starts_with("//") && !t.is_empty() {
            let camel = t.trim_end_matches(',');
            let mut s = String::new();
            for (i, c) in camel.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    s.push('_');
                }
                s.push(c.to_ascii_lowercase());
            }
            out.push(s);
        }
    }
    out
}

#[test]
fn every_config_key_is_documented() {
    let src = read("src/config.rs");
    let doc = read("docs/config.md");
    let keys = config_keys(&src);
    assert!(keys.len() >= 30, "found only {} config keys: {keys:?}", keys.len());
    let mut missing = Vec::new();
    for (section, key) in &keys {
        let documented = if section == "Config" {
            // A section: `[modem]`, `[[sse]]`, `[[access.rule]]`.
            doc.contains(&format!("[{key}]")) || doc.contains(&format!("[{key}."))
        } else {
            doc.contains(&format!("`{key}`"))
        };
        if !documented {
            missing.push(format!("{section}.{key}"));
        }
    }
    for value in config_enum_values(&src) {
        if !doc.contains(&format!("\"{value}\"")) {
            missing.push(format!("value \"{value}\""));
        }
    }
    let daemon = read("src/bin/otapushd.rs");
    let help = daemon.split("const HELP: &str = \"").nth(1).and_then(|h| h.split("\";").next()).unwrap();
    let flags: BTreeSet<&str> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect();
    assert!(flags.contains("--state-dir"), "{flags:?}");
    for f in flags {
        if !doc.contains(&format!("`{f}")) {
            missing.push(format!("flag {f}"));
        }
    }
    assert!(missing.is_empty(), "not in docs/config.md: {missing:?}");
}

/// `name="…"` of every interface, method, signal and property in the introspection XML.
fn dbus_members(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in ["<interface name=\"", "<method name=\"", "<signal name=\"", "<property name=\""] {
        for (i, _) in xml.match_indices(tag) {
            if let Some(name) = xml[i + tag.len()..].split('"').next() {
                out.push(name.to_string());
            }
        }
    }
    out
}

#[test]
fn every_dbus_member_and_error_is_documented() {
    let doc = read("docs/dbus-api.md");
    let mut members = Vec::new();
    for e in std::fs::read_dir(root().join("dbus")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "xml") {
            members.extend(dbus_members(&std::fs::read_to_string(e.path()).unwrap()));
        }
    }
    assert!(members.len() >= 14, "found only {members:?}");
    let errors = read("src/cai/error.rs");
    let enum_body = errors.split("pub enum PushError {").nth(1).and_then(|b| b.split('}').next()).unwrap();
    let variants: Vec<String> = enum_body
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split('(').next().map(str::to_string))
        .filter(|v| v != "ZBus")
        .collect();
    assert!(variants.len() >= 8, "{variants:?}");
    let missing: Vec<&String> =
        members.iter().chain(&variants).filter(|m| !doc.contains(&format!("`{m}`"))).collect();
    assert!(missing.is_empty(), "not in docs/dbus-api.md: {missing:?}");
    for key in ["Source", "Originator", "SentTime", "ReceivedTime", "ContentTypeParams", "EventId"] {
        assert!(doc.contains(&format!("| `{key}` |")), "meta key {key} not in the table");
    }
}
