//! Access control's system side: user and group names through NSS (`getpwnam_r` /
//! `getgrnam_r`) and the caller's credentials as the bus daemon reports them. The policy and
//! its decisions are pure: `otapush_proto::access`.

use std::ffi::CString;

pub use otapush_proto::access::{groups_from_proc_status, AccessPolicy, Caller, NameLookup, Rule, Settings};

/// Names through the system's user database (NSS).
#[derive(Debug, Clone, Copy, Default)]
pub struct Nss;

impl NameLookup for Nss {
    fn uid(&self, name: &str) -> Option<u32> {
        lookup_uid(name)
    }
    fn gid(&self, name: &str) -> Option<u32> {
        lookup_gid(name)
    }
}

/// [`AccessPolicy::resolve_with`] through NSS.
pub trait ResolveNss {
    /// Resolves the user and group names through NSS; a name that does not exist is logged and
    /// ignored (it grants nothing).
    fn resolve(s: &Settings) -> AccessPolicy;
}

impl ResolveNss for AccessPolicy {
    fn resolve(s: &Settings) -> AccessPolicy {
        AccessPolicy::resolve_with(s, &Nss)
    }
}

/// Calls a reentrant `get*nam_r` with a growing buffer (ERANGE) up to 1 MiB.
fn lookup_with_buffer(mut call: impl FnMut(&mut [libc::c_char]) -> Result<Option<u32>, i32>) -> Option<u32> {
    let mut len = 1024;
    while len <= 1 << 20 {
        let mut buf = vec![0 as libc::c_char; len];
        match call(&mut buf) {
            Ok(id) => return id,
            Err(libc::ERANGE) => len *= 4,
            Err(_) => return None,
        }
    }
    None
}

/// The uid of a user name, through NSS (`/etc/passwd`, systemd's DynamicUser, LDAP…).
pub fn lookup_uid(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    lookup_with_buffer(|buf| {
        // SAFETY: `passwd` is plain data; `getpwnam_r` fills it and points its strings into
        // `buf`, which outlives the call; we read only `pw_uid`. All pointers are valid.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc =
            unsafe { libc::getpwnam_r(cname.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
        match rc {
            0 if result.is_null() => Ok(None),
            0 => Ok(Some(pwd.pw_uid)),
            e => Err(e),
        }
    })
}

/// The gid of a group name, through NSS.
pub fn lookup_gid(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    lookup_with_buffer(|buf| {
        // SAFETY: as in `lookup_uid`, with `group` / `getgrnam_r`; we read only `gr_gid`.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc =
            unsafe { libc::getgrnam_r(cname.as_ptr(), &mut grp, buf.as_mut_ptr(), buf.len(), &mut result) };
        match rc {
            0 if result.is_null() => Ok(None),
            0 => Ok(Some(grp.gr_gid)),
            e => Err(e),
        }
    })
}

/// The caller's uid and groups, from `GetConnectionCredentials` (`UnixGroupIDs` when the bus
/// daemon gives them, else the process's `/proc/<pid>/status`).
pub async fn caller_credentials(
    dbus: &zbus::fdo::DBusProxy<'_>,
    sender: &zbus::names::UniqueName<'_>,
) -> zbus::Result<Caller> {
    let creds = dbus.get_connection_credentials(sender.clone().into()).await?;
    let uid = creds
        .unix_user_id()
        .ok_or_else(|| zbus::Error::Failure(format!("the bus gives no uid for {sender}")))?;
    let gids = match (creds.unix_group_ids(), creds.process_id()) {
        (Some(g), _) => g.clone(),
        (None, Some(pid)) => std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map(|s| groups_from_proc_status(&s))
            .unwrap_or_default(),
        (None, None) => Vec::new(),
    };
    Ok(Caller { uid, gids })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nss_lookups() {
        assert_eq!(lookup_uid("root"), Some(0));
        assert_eq!(lookup_gid("root"), Some(0));
        assert_eq!(lookup_uid("no-such-user-xyz"), None);
        assert_eq!(lookup_uid("nul\0byte"), None);
        let s = Settings { privileged_groups: vec!["root".into()], ..Settings::default() };
        assert!(AccessPolicy::resolve(&s).is_privileged(&Caller { uid: 1000, gids: vec![0] }));
    }
}
