//! Board profiles (docs/modem.md): what differs between modems — device hints for udev, init
//! additions, `+CNMI` candidates, the `+CNMA` form, storage preference and boot URCs. The values
//! and their checks; the daemon crate reads `board/*.toml` files into them.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;

/// A profile whose values do not fit together or are out of range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("profile {name}: {message}")]
pub struct InvalidProfile {
    /// The profile's name.
    pub name: String,
    /// What is wrong.
    pub message: String,
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
    /// The UART's baud rate, when not the tty's current one.
    pub baud: Option<u32>,
    /// USB ids of modes of this modem that expose no AT port at all (Huawei HiLink): when one is
    /// present, the driver reports a clear error instead of waiting for a tty.
    pub no_at_port_usb_ids: Vec<String>,
}

/// SMS delivery routing: stored with `+CMTI` (crash safe) or routed with `+CMT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `+CMTI`: the modem stores each SMS, otapushd reads and deletes it.
    #[default]
    Store,
    /// `+CMT` / `+CDS`: the modem hands each SMS over, otapushd acknowledges it (`+CNMA`).
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
    /// Stored or routed delivery.
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
    /// The profile's name (its file's stem).
    pub name: String,
    /// What modem it is for.
    #[serde(default)]
    pub description: String,
    /// Where the AT port is.
    #[serde(default)]
    pub device: DeviceHints,
    /// Bring-up and SMS reporting.
    #[serde(default)]
    pub init: InitSettings,
}

fn is_usb_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 9
        && b[4] == b':'
        && b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

impl Profile {
    /// Checks the values: ranges (TS 27.005 `+CNMI`), forms, and that they fit together.
    pub fn validate(&self) -> Result<(), InvalidProfile> {
        let bad = |m: String| Err(InvalidProfile { name: self.name.clone(), message: m });
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

    /// How long to wait for `ready_urc`.
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

    #[test]
    fn checks_name_the_problem() {
        assert_eq!(Profile::default().validate(), Ok(()));
        let mut p = Profile::default();
        p.device.usb_ids = vec!["2C7C:0125".into()];
        assert!(p.validate().unwrap_err().message.contains("2C7C:0125"));
        let mut p = Profile::default();
        p.init.cnmi_candidates = vec![[2, 2, 0, 0, 0]];
        assert!(p.validate().unwrap_err().message.contains("<mt> 1"));
        let mut p = Profile::default();
        p.init.cnma = "AT+FOO".into();
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "profile generic: cnma \"AT+FOO\" must be \"none\" or an AT+CNMA form"
        );
        assert!(Profile::default().cnma().is_none() && Profile::default().is_boot_urc("RDY"));
    }
}
