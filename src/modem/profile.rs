//! Board profiles (`board/*.toml`): what differs between modems — device hints for udev, init
//! additions, `+CNMI` candidates, the `+CNMA` form, storage preference and boot URCs.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

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

/// Where the modem's AT port is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceHints {
    /// USB `vendor:product` ids (lower-case hex), for the generated udev rules.
    pub usb_ids: Vec<String>,
    /// USB interface number of the AT port (`bInterfaceNumber`, two hex digits); absent on UART.
    pub at_interface: Option<String>,
    /// The usual device path.
    pub default_path: Option<String>,
    pub baud: Option<u32>,
    /// USB ids of modes of this modem that expose no AT port at all (Huawei HiLink): when one is
    /// present, the driver reports a clear error instead of waiting for a tty.
    pub no_at_port_usb_ids: Vec<String>,
}

/// SMS delivery routing: stored with `+CMTI` (crash safe) or routed with `+CMT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    #[default]
    Store,
    Route,
}

/// How the modem is brought up and how it reports SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InitSettings {
    /// Commands sent after `ATE0`/`+CMEE=1` (errors are logged, not fatal).
    pub extra: Vec<String>,
    /// `+CNMI` parameter sets in order of preference; the first one within the `=?` ranges that
    /// the modem accepts wins.
    pub cnmi_candidates: Vec<[u8; 5]>,
    /// `AT+CNMA=1`, `AT+CNMA`, … or `none`: how a routed `+CMT`/`+CDS` is acknowledged.
    pub cnma: String,
    /// Storage preference for `+CPMS`, first supported wins.
    pub storage: Vec<String>,
    /// Lines that mean the modem (re)booted: a full re-init follows.
    pub boot_urcs: Vec<String>,
    /// A URC after which SMS commands work (`+QIND: SMS DONE`), awaited after a boot URC.
    pub ready_urc: Option<String>,
    /// Seconds to wait for `ready_urc` before going on anyway.
    pub ready_timeout: u64,
    pub route: Route,
}

impl Default for InitSettings {
    fn default() -> Self {
        InitSettings {
            extra: Vec::new(),
            cnmi_candidates: default_cnmi_candidates(),
            cnma: "none".into(),
            storage: vec!["ME".into(), "SM".into()],
            boot_urcs: vec!["RDY".into()],
            ready_urc: None,
            ready_timeout: 20,
            route: Route::Store,
        }
    }
}

/// ModemManager's order (`2,1,2,1,0` → `2,1,2,2,0` → `2,1,2,0,0`), then without broadcast
/// routing, then `<mode>` 1 (oFono's choice for Qualcomm, Huawei, SIMCom, Quectel).
pub fn default_cnmi_candidates() -> Vec<[u8; 5]> {
    vec![[2, 1, 2, 1, 0], [2, 1, 2, 2, 0], [2, 1, 2, 0, 0], [2, 1, 0, 0, 0], [1, 1, 0, 1, 0], [1, 1, 0, 0, 0]]
}

/// One board profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub device: DeviceHints,
    #[serde(default)]
    pub init: InitSettings,
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

fn is_usb_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 9
        && b[4] == b':'
        && b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

impl Profile {
    /// Parses a profile's text (`origin` names it in errors) and checks it.
    pub fn parse(text: &str, origin: &Path) -> Result<Profile, ProfileError> {
        let p: Profile = toml::from_str(text)
            .map_err(|e| ProfileError::Parse { path: origin.into(), message: e.to_string() })?;
        p.validate()?;
        Ok(p)
    }

    /// Loads `name_or_path`: a path (contains `/` or ends in `.toml`) is read as is; a name is
    /// looked up as `<dir>/<name>.toml`, then among the built-in profiles.
    pub fn load(name_or_path: &str, dir: Option<&Path>) -> Result<Profile, ProfileError> {
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

    fn validate(&self) -> Result<(), ProfileError> {
        let bad = |m: String| Err(ProfileError::Invalid { name: self.name.clone(), message: m });
        if self.name.is_empty() {
            return bad("empty name".into());
        }
        for id in self.device.usb_ids.iter().chain(&self.device.no_at_port_usb_ids) {
            if !is_usb_id(id) {
                return bad(format!("usb id {id:?} is not lower-case vvvv:pppp"));
            }
        }
        if let Some(i) = &self.device.at_interface {
            if i.len() != 2 || !i.bytes().all(|c| c.is_ascii_hexdigit()) {
                return bad(format!("at_interface {i:?} is not two hex digits"));
            }
        }
        if self.device.baud == Some(0) {
            return bad("baud 0".into());
        }
        let i = &self.init;
        if i.cnmi_candidates.is_empty() {
            return bad("no cnmi_candidates".into());
        }
        if let Some(c) =
            i.cnmi_candidates.iter().find(|c| c[0] > 3 || c[1] > 3 || c[2] > 3 || c[3] > 2 || c[4] > 1)
        {
            return bad(format!("cnmi candidate {c:?} out of TS 27.005 ranges"));
        }
        if i.cnma != "none" && !i.cnma.starts_with("AT+CNMA") {
            return bad(format!("cnma {:?} must be \"none\" or an AT+CNMA form", i.cnma));
        }
        if i.storage.is_empty()
            || i.storage.iter().any(|s| s.len() != 2 || !s.bytes().all(|c| c.is_ascii_uppercase()))
        {
            return bad(format!("storage {:?} must list two-letter names like \"SM\"", i.storage));
        }
        if i.route == Route::Route && i.cnmi_candidates.iter().any(|c| c[1] != 2 && c[1] != 3) {
            return bad("route = \"route\" needs <mt> 2 or 3 in every cnmi candidate".into());
        }
        if i.route == Route::Store && i.cnmi_candidates.iter().any(|c| c[1] != 1) {
            return bad("route = \"store\" needs <mt> 1 in every cnmi candidate".into());
        }
        Ok(())
    }

    /// The `+CNMA` command, if the profile acknowledges routed messages.
    pub fn cnma(&self) -> Option<&str> {
        Some(self.init.cnma.as_str()).filter(|c| *c != "none")
    }

    pub fn ready_timeout(&self) -> Duration {
        Duration::from_secs(self.init.ready_timeout)
    }

    /// Whether a URC line means the modem booted.
    pub fn is_boot_urc(&self, line: &str) -> bool {
        self.init.boot_urcs.iter().any(|b| line.starts_with(b.as_str()))
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: "generic".into(),
            description: String::new(),
            device: DeviceHints::default(),
            init: InitSettings::default(),
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
