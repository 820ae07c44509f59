//! Board profiles from `board/*.toml`: [`LoadProfile`] reads a profile's file or a built-in
//! copy. The values and their checks are pure: `otapush_proto::modem::profile`.

use std::path::{Path, PathBuf};
use thiserror::Error;

pub use otapush_proto::modem::profile::{
    default_cnmi_candidates, DeviceHints, InitSettings, InvalidProfile, Profile, Route,
};

/// Why a profile could not be had.
#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("profile {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("profile {name}: {message}")]
    Invalid { name: String, message: String },
    #[error("no profile named {0:?} (looked in the profile dir and the built-in profiles)")]
    NotFound(String),
}

/// The profiles shipped in `board/`, compiled in so the daemon needs no data files.
pub const BUILTIN: &[(&str, &str)] = &[
    ("generic", include_str!("../../board/generic.toml")),
    ("quectel-eg25", include_str!("../../board/quectel-eg25.toml")),
    ("quectel-ec25", include_str!("../../board/quectel-ec25.toml")),
    ("simcom-sim7600", include_str!("../../board/simcom-sim7600.toml")),
    ("simcom-sim800", include_str!("../../board/simcom-sim800.toml")),
    ("huawei-e3372", include_str!("../../board/huawei-e3372.toml")),
    ("ublox-lara-r2", include_str!("../../board/ublox-lara-r2.toml")),
    ("telit-le910", include_str!("../../board/telit-le910.toml")),
];

/// Reading a [`Profile`] from TOML text or a file.
pub trait LoadProfile: Sized {
    /// Parses a profile's text (`origin` names it in errors) and checks it.
    fn parse(text: &str, origin: &Path) -> Result<Self, ProfileError>;
    /// Loads `name_or_path`: a path (contains `/` or ends in `.toml`) is read as is; a name is
    /// looked up as `<dir>/<name>.toml`, then among the built-in profiles.
    fn load(name_or_path: &str, dir: Option<&Path>) -> Result<Self, ProfileError>;
}

impl LoadProfile for Profile {
    fn parse(text: &str, origin: &Path) -> Result<Profile, ProfileError> {
        let p: Profile = toml::from_str(text)
            .map_err(|e| ProfileError::Parse { path: origin.into(), message: e.to_string() })?;
        p.validate().map_err(|e| ProfileError::Invalid { name: e.name, message: e.message })?;
        Ok(p)
    }

    fn load(name_or_path: &str, dir: Option<&Path>) -> Result<Profile, ProfileError> {
        let read = |path: &Path| -> Result<Profile, ProfileError> {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ProfileError::Read { path: path.into(), source: e })?;
            Profile::parse(&text, path)
        };
        if name_or_path.contains('/') || name_or_path.ends_with(".toml") {
            return read(Path::new(name_or_path));
        }
        if let Some(d) = dir {
            let path = d.join(format!("{name_or_path}.toml"));
            if path.exists() {
                return read(&path);
            }
        }
        match BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            Some((n, text)) => Profile::parse(text, Path::new(&format!("(built-in) {n}.toml"))),
            None => Err(ProfileError::NotFound(name_or_path.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("board")
    }

    #[test]
    fn every_board_file_loads_and_is_built_in() {
        let mut names = Vec::new();
        for e in std::fs::read_dir(board_dir()).unwrap() {
            let path = e.unwrap().path();
            if path.extension().and_then(|x| x.to_str()) != Some("toml") {
                continue;
            }
            let p = Profile::load(path.to_str().unwrap(), None).unwrap();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
            assert_eq!(p.name, stem, "name matches the file name");
            assert!(!p.description.is_empty(), "{stem}: description");
            assert!(p.device.default_path.is_some(), "{stem}: default_path");
            assert!(p.device.at_interface.is_none() || !p.device.usb_ids.is_empty(), "{stem}");
            let builtin = Profile::load(&stem, None).unwrap();
            assert_eq!(builtin, p, "{stem}: built-in copy is current");
            names.push(stem);
        }
        names.sort();
        let mut expected: Vec<_> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn specific_profiles() {
        let eg25 = Profile::load("quectel-eg25", Some(&board_dir())).unwrap();
        assert_eq!(eg25.device.usb_ids, ["2c7c:0125"]);
        assert_eq!(eg25.device.at_interface.as_deref(), Some("02"));
        assert_eq!(eg25.init.ready_urc.as_deref(), Some("+QIND: SMS DONE"));
        let sim800 = Profile::load("simcom-sim800", None).unwrap();
        assert!(sim800.device.usb_ids.is_empty() && sim800.device.at_interface.is_none());
        assert!(sim800.init.cnmi_candidates.iter().all(|c| c[3] != 2), "SIM800 rejects <ds>=2");
        let e3372 = Profile::load("huawei-e3372", None).unwrap();
        assert!(e3372.device.no_at_port_usb_ids.contains(&"12d1:14dc".to_string()));
    }

    #[test]
    fn bad_profiles_are_errors() {
        let p = Path::new("x.toml");
        assert!(Profile::parse("name = \"x\"\n[device]\nusb_ids = [\"2C7C:0125\"]\n", p).is_err());
        assert!(Profile::parse("name = \"x\"\n[init]\ncnma = \"AT+FOO\"\n", p).is_err());
        assert!(Profile::parse("name = \"x\"\n[init]\ncnmi_candidates = [[2,2,0,0,0]]\n", p).is_err());
        assert!(Profile::parse("name = \"x\"\nbogus = 1\n", p).is_err());
        assert!(matches!(Profile::load("no-such-modem", None), Err(ProfileError::NotFound(_))));
        let ok = Profile::parse("name = \"x\"\n", p).unwrap();
        assert_eq!(ok.init.cnmi_candidates, default_cnmi_candidates());
    }
}
