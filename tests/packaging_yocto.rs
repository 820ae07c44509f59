//! The Yocto recipe and the Buildroot package: the crate list is what Cargo.lock says, the
//! license checksum is that of Cargo.toml's license line, every repository file they install
//! exists, and the BusyBox init script starts the daemon with the unit's environment.

use otapush_test_support::packaging::{read_repo_file, repo_file, run};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn crates_inc_is_generated_from_cargo_lock() {
    let (ok, out, err) = run(Command::new("python3").arg(repo_file("scripts/yocto-crates")).arg("--check"));
    assert!(ok, "{out}{err}");

    let lock: toml::Table = toml::from_str(&read_repo_file("Cargo.lock")).unwrap();
    let registry: Vec<String> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p.get("source").and_then(|s| s.as_str()).is_some_and(|s| s.starts_with("registry+")))
        .map(|p| {
            format!("crate://crates.io/{}/{}", p["name"].as_str().unwrap(), p["version"].as_str().unwrap())
        })
        .collect();
    let inc = read_repo_file("board/yocto/otapush-crates.inc");
    let listed: Vec<&str> = inc.lines().map(str::trim).filter(|l| l.starts_with("crate://")).collect();
    assert_eq!(listed.len(), registry.len());
    for c in &registry {
        assert!(listed.iter().any(|l| l.trim_end_matches(" \\") == c), "{c} missing");
    }
    assert_eq!(inc.matches(".sha256sum] = \"").count(), registry.len());
}

#[test]
fn license_checksum_matches_cargo_toml() {
    let recipe = read_repo_file("board/yocto/otapush_0.1.0.bb");
    let chk = recipe
        .lines()
        .find_map(|l| l.strip_prefix("LIC_FILES_CHKSUM = \"file://Cargo.toml;"))
        .expect("LIC_FILES_CHKSUM on Cargo.toml");
    let field = |k: &str| {
        chk.split(';').find_map(|p| p.strip_prefix(&format!("{k}="))).unwrap().trim_end_matches('"')
    };
    let (begin, end): (usize, usize) =
        (field("beginline").parse().unwrap(), field("endline").parse().unwrap());
    let lines: String = read_repo_file("Cargo.toml")
        .lines()
        .skip(begin - 1)
        .take(end - begin + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        lines.starts_with("license = "),
        "lines {begin}-{end} of Cargo.toml are not the license: {lines}"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("lines");
    std::fs::write(&f, &lines).unwrap();
    let (ok, out, _) = run(Command::new("md5sum").arg(&f));
    assert!(ok);
    assert_eq!(out.split_whitespace().next(), Some(field("md5")));
}

/// Repository paths after `prefix` in `text` (up to whitespace), globs left out.
fn installed_sources(text: &str, prefix: &str) -> Vec<String> {
    text.split(prefix)
        .skip(1)
        .map(|rest| rest.split(|c: char| c.is_whitespace()).next().unwrap_or_default().to_string())
        .filter(|p| !p.contains('*') && !p.is_empty())
        .collect()
}

#[test]
fn recipe_and_buildroot_package_install_existing_files() {
    for (file, prefix) in
        [("board/yocto/otapush_0.1.0.bb", "${S}/"), ("board/buildroot/otapush/otapush.mk", "$(@D)/")]
    {
        let sources = installed_sources(&read_repo_file(file), prefix);
        assert!(sources.len() >= 6, "{file}: too few files installed: {sources:?}");
        for s in sources {
            assert!(repo_file(&s).is_file(), "{file} installs {s}, which does not exist");
        }
    }
    let mk = read_repo_file("board/buildroot/otapush/otapush.mk");
    assert!(mk.trim_end().ends_with("$(eval $(cargo-package))"));
    assert!(repo_file("board/buildroot/otapush/S97otapushd").is_file());
    let config_in = read_repo_file("board/buildroot/otapush/Config.in");
    assert!(config_in.contains("select BR2_PACKAGE_HOST_RUSTC"));
}

/// `S97otapushd start` with stand-ins for `install` and `start-stop-daemon` on PATH: the daemon
/// is started with every `Environment=` setting of the systemd unit, so both inits run it alike.
#[test]
fn busybox_init_script_starts_the_daemon_with_the_units_environment() {
    let unit = read_repo_file("systemd/otapushd.service");
    let settings: Vec<&str> = unit.lines().filter_map(|l| l.trim().strip_prefix("Environment=")).collect();
    assert!(!settings.is_empty(), "the unit sets no environment");

    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    let mut names = String::new();
    for s in &settings {
        let name = s.split_once('=').map_or(*s, |(n, _)| n);
        names.push_str(&format!(" {name}=\"${name}\""));
    }
    for (tool, body) in [
        ("install", "exit 0".to_string()),
        ("start-stop-daemon", format!("echo{names} \"$@\" > '{}'", seen.display())),
    ] {
        let path = dir.path().join(tool);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("sh");
    cmd.arg(repo_file("board/buildroot/otapush/S97otapushd")).arg("start").env("PATH", path);
    for s in &settings {
        cmd.env_remove(s.split_once('=').map_or(*s, |(n, _)| n));
    }
    // A stand-in just written can be "busy" for exec while another test's child, forked in
    // that moment, still holds the written file open: that is the test's race, not the script's.
    let (mut ok, mut out, mut err) = run(&mut cmd);
    for _ in 0..3 {
        if !err.contains("Text file busy") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        (ok, out, err) = run(&mut cmd);
    }
    assert!(ok && out.contains("OK"), "{out}{err}");
    let seen = std::fs::read_to_string(&seen).unwrap();
    for s in &settings {
        assert!(seen.contains(&format!("{s} ")), "started without {s}: {seen}");
    }
    assert!(seen.contains("-x /usr/bin/otapushd"), "{seen}");
}
