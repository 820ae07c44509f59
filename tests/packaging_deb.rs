//! The Debian package metadata (`[package.metadata.deb]`, cargo-deb) installs every packaging
//! file from this repository in its FHS place, and the example configuration it installs as
//! /etc/otapush/otapushd.toml is one the daemon accepts.

use otapush_test_support::packaging::{read_repo_file, repo_file};
use std::path::Path;

fn deb() -> toml::Table {
    let cargo: toml::Table = toml::from_str(&read_repo_file("Cargo.toml")).expect("Cargo.toml");
    cargo["package"]["metadata"]["deb"].as_table().expect("[package.metadata.deb]").clone()
}

/// (source, destination) of each asset.
fn assets(deb: &toml::Table) -> Vec<(String, String)> {
    deb["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| {
            let a = a.as_array().expect("[source, dest, mode]");
            assert_eq!(a.len(), 3, "{a:?}");
            (a[0].as_str().unwrap().to_string(), a[1].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn every_packaging_file_goes_to_its_fhs_place() {
    let deb = deb();
    let assets = assets(&deb);
    let dest = |src: &str| -> String {
        assets
            .iter()
            .find(|(s, _)| s == src)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("{src} is not packaged"))
    };
    assert_eq!(dest("target/release/otapushd"), "usr/bin/");
    assert_eq!(dest("target/release/otapushctl"), "usr/bin/");
    assert_eq!(dest("dbus/org.otapush.Push1.conf"), "usr/share/dbus-1/system.d/");
    assert_eq!(dest("dbus/org.otapush.Push1.service"), "usr/share/dbus-1/system-services/");
    assert_eq!(dest("dbus/org.otapush.Push1.*.xml"), "usr/share/dbus-1/interfaces/");
    assert_eq!(dest("udev/70-otapush.rules"), "usr/lib/udev/rules.d/");
    assert_eq!(dest("board/*.toml"), "usr/share/otapush/board/");
    assert_eq!(dest("board/otapushd.toml.example"), "etc/otapush/otapushd.toml");
    // The MMS bridge (docs/mms.md): a user unit, and the udev example as documentation only.
    assert_eq!(dest("systemd/user/otapush-mms-bridge.service"), "usr/lib/systemd/user/");
    assert_eq!(dest("docs/mms.md"), "usr/share/doc/otapush/");
    assert_eq!(dest("udev/71-otapush-secondary-port.rules"), "usr/share/doc/otapush/");
    let conf_files: Vec<&str> =
        deb["conf-files"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(conf_files, ["/etc/otapush/otapushd.toml"]);

    // Every non-glob, non-build-output source exists.
    for (src, _) in &assets {
        if !src.starts_with("target/") && !src.contains('*') {
            assert!(repo_file(src).is_file(), "asset {src} does not exist");
        }
    }

    // The unit comes through cargo-deb's systemd-units (with its enable snippet).
    // The unit and the sysusers file come through cargo-deb's systemd-units, which finds
    // <unit-name>.service and <package>.sysusers in unit-scripts and adds the postinst steps.
    let units = deb["systemd-units"].as_table().expect("[package.metadata.deb.systemd-units]");
    let dir = repo_file(units["unit-scripts"].as_str().unwrap());
    let name = units["unit-name"].as_str().unwrap();
    assert!(dir.join(format!("{name}.service")).is_file());
    assert!(dir.join(format!("{}.sysusers", env!("CARGO_PKG_NAME"))).is_file());
    let scripts = deb["maintainer-scripts"].as_str().unwrap();
    let postinst = std::fs::read_to_string(repo_file(scripts).join("postinst")).expect("postinst");
    // cargo-deb replaces every occurrence of the token, comments included: exactly one, alone.
    assert_eq!(postinst.matches("#DEBHELPER#").count(), 1);
    assert!(postinst.lines().any(|l| l == "#DEBHELPER#"));
}

#[test]
fn the_example_configuration_is_accepted_by_the_daemon() {
    let path = Path::new("board/otapushd.toml.example");
    let config = otapush::config::Config::parse(&read_repo_file("board/otapushd.toml.example"), path)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.dbus.bus, "system");
    assert_eq!(config.store.dir, Path::new("/var/lib/otapush"));
    assert_eq!(config.modem.device, "/dev/modem-at");
    assert_eq!(config.cai.privileged_groups, ["otapush-admin"]);

    // The commented stream and access examples parse too once uncommented.
    let uncommented: String = read_repo_file("board/otapushd.toml.example")
        .lines()
        .map(|l| l.strip_prefix("# ").filter(|r| r.starts_with('[') || r.contains(" = ")).unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let config =
        otapush::config::Config::parse(&uncommented, path).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    assert_eq!(config.sse.len(), 1);
    assert_eq!(config.access.rules.len(), 1);
}
