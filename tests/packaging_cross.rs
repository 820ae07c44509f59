//! `cross.toml` and its mirror `[package.metadata.cross]` in Cargo.toml (which a plain
//! `cross build` reads, since cross-rs ignores a lower-case cross.toml) must stay equal, and
//! cover the four ARM targets.

use otapush_test_support::packaging::read_repo_file;

const TARGETS: [&str; 4] = [
    "armv7-unknown-linux-gnueabihf",
    "aarch64-unknown-linux-gnu",
    "armv7-unknown-linux-musleabihf",
    "aarch64-unknown-linux-musl",
];

#[test]
fn cross_toml_and_cargo_metadata_agree_and_cover_the_targets() {
    let file: toml::Table = toml::from_str(&read_repo_file("cross.toml")).expect("cross.toml");
    let cargo: toml::Table = toml::from_str(&read_repo_file("Cargo.toml")).expect("Cargo.toml");
    let mirror = cargo
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("cross"))
        .and_then(|c| c.as_table())
        .expect("Cargo.toml has no [package.metadata.cross]");
    assert_eq!(&file, mirror, "cross.toml and [package.metadata.cross] differ");

    let targets = file.get("target").and_then(|t| t.as_table()).expect("no [target.*]");
    for t in TARGETS {
        let image = targets.get(t).and_then(|c| c.get("image")).and_then(|i| i.as_str());
        let image = image.unwrap_or_else(|| panic!("no image for {t}"));
        assert!(image.contains(t), "{t}: image {image} is for another target");
        assert!(targets[t].get("pre-build").is_none(), "{t}: no pre-build step is needed");
    }
}
