//! Access control: who may call privileged methods (`[cai] privileged_users/groups`), who may
//! receive which application ids and which originators may send them (`[access] rule`). Names
//! are resolved through a [`NameLookup`] the caller passes in (the daemon's asks NSS); the
//! caller's credentials come from the bus daemon, in the daemon crate.

use crate::message::{Message, Source};

/// Resolves user and group names to ids (the system's user database, or a fixed table).
pub trait NameLookup {
    /// The uid of a user name, if it exists.
    fn uid(&self, name: &str) -> Option<u32>;
    /// The gid of a group name, if it exists.
    fn gid(&self, name: &str) -> Option<u32>;
}

/// A lookup that knows no names: only numeric ids resolve.
#[derive(Debug, Clone, Copy, Default)]
pub struct NumericOnly;

impl NameLookup for NumericOnly {
    fn uid(&self, _: &str) -> Option<u32> {
        None
    }
    fn gid(&self, _: &str) -> Option<u32> {
        None
    }
}

/// A caller's identity from the bus daemon (not from anything the caller says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's uid.
    pub uid: u32,
    /// Primary and supplementary groups.
    pub gids: Vec<u32>,
}

/// Who may call privileged methods and the access rules, by name (`[cai]`, `[access]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// Users (names or numeric uids) allowed to call privileged methods besides root.
    pub privileged_users: Vec<String>,
    /// Groups (names or numeric gids) allowed to call privileged methods.
    pub privileged_groups: Vec<String>,
    /// The `[access] rule` entries.
    pub rules: Vec<Rule>,
}

/// One access rule, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// The application id (URN, case-insensitive) this rule governs.
    pub application_id: String,
    /// Users (names or uids) allowed to register for it; with `groups` empty too, anyone may.
    pub users: Vec<String>,
    /// Groups (names or gids) allowed to register for it.
    pub groups: Vec<String>,
    /// Originators allowed to send pushes for it; empty = any.
    pub originators: Vec<String>,
}

/// A [`Rule`] with its names resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    /// Lower case, for case-insensitive comparison.
    application_id: String,
    /// True when the rule names no users and no groups: anyone may register.
    open: bool,
    uids: Vec<u32>,
    gids: Vec<u32>,
    originators: Vec<String>,
}

/// The resolved policy (names looked up once, when the service starts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessPolicy {
    privileged_uids: Vec<u32>,
    privileged_gids: Vec<u32>,
    rules: Vec<Resolved>,
}

impl AccessPolicy {
    /// Resolves the user and group names (numeric ones as ids, others through `lookup`); a name
    /// that does not exist is logged and ignored (it grants nothing).
    pub fn resolve_with(s: &Settings, lookup: &dyn NameLookup) -> AccessPolicy {
        let users =
            |names: &[String]| names.iter().filter_map(|n| resolve(n, |n| lookup.uid(n), "user")).collect();
        let groups =
            |names: &[String]| names.iter().filter_map(|n| resolve(n, |n| lookup.gid(n), "group")).collect();
        AccessPolicy {
            privileged_uids: users(&s.privileged_users),
            privileged_gids: groups(&s.privileged_groups),
            rules: s
                .rules
                .iter()
                .map(|r| Resolved {
                    application_id: r.application_id.to_ascii_lowercase(),
                    open: r.users.is_empty() && r.groups.is_empty(),
                    uids: users(&r.users),
                    gids: groups(&r.groups),
                    originators: r.originators.clone(),
                })
                .collect(),
        }
    }

    /// Root, a `privileged_users` user or a member of a `privileged_groups` group.
    pub fn is_privileged(&self, c: &Caller) -> bool {
        c.uid == 0
            || self.privileged_uids.contains(&c.uid)
            || c.gids.iter().any(|g| self.privileged_gids.contains(g))
    }

    fn rules_for<'a>(&'a self, app_id: &str) -> impl Iterator<Item = &'a Resolved> + 'a {
        let app_id = app_id.to_ascii_lowercase();
        self.rules.iter().filter(move |r| r.application_id == app_id)
    }

    /// Whether a caller may receive messages of `app_id` (rules for it are merged: any rule
    /// naming the caller's uid or one of its groups, or naming nobody, allows). No rule: yes.
    /// Root is not exempt: a rule names exactly who gets a device-management push.
    pub fn may_receive(&self, app_id: Option<&str>, c: &Caller) -> bool {
        let Some(app_id) = app_id else { return true };
        let mut rules = self.rules_for(app_id).peekable();
        if rules.peek().is_none() {
            return true;
        }
        rules.any(|r| r.open || r.uids.contains(&c.uid) || c.gids.iter().any(|g| r.gids.contains(g)))
    }

    /// Checks an SMS message's originator against the allow lists of its application id
    /// (merged over the rules; a rule with no list allows any). Gives the refusal reason.
    /// Event-stream messages come from a configured URL and are not checked.
    pub fn check_originator(&self, app_id: Option<&str>, m: &Message) -> Result<(), String> {
        let Some(app_id) = app_id else { return Ok(()) };
        if m.source != Source::Sms {
            return Ok(());
        }
        let mut lists = self.rules_for(app_id).filter(|r| !r.originators.is_empty()).peekable();
        if lists.peek().is_none() || lists.any(|r| r.originators.iter().any(|o| o == &m.originator)) {
            return Ok(());
        }
        Err(format!("originator {:?} is not allowed to send to {app_id}", m.originator))
    }
}

fn resolve(name: &str, lookup: impl Fn(&str) -> Option<u32>, what: &str) -> Option<u32> {
    let id = name.parse::<u32>().ok().or_else(|| lookup(name));
    if id.is_none() {
        log::warn!("access control: unknown {what} {name:?} ignored");
    }
    id
}

/// Parses the effective gid (`Gid:` field 2) and the `Groups:` line of `/proc/<pid>/status`.
pub fn groups_from_proc_status(status: &str) -> Vec<u32> {
    let mut gids = Vec::new();
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("Gid:") {
            gids.extend(rest.split_whitespace().nth(1).and_then(|g| g.parse::<u32>().ok()));
        } else if let Some(rest) = line.strip_prefix("Groups:") {
            gids.extend(rest.split_whitespace().filter_map(|g| g.parse::<u32>().ok()));
        }
    }
    gids.sort_unstable();
    gids.dedup();
    gids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AccessPolicy {
        let cfg = Settings {
            privileged_users: vec!["1500".into(), "no-such-user-xyz".into()],
            privileged_groups: vec!["root".into(), "4242".into()],
            rules: vec![
                Rule {
                    application_id: "x-wap-application:syncml.dm".into(),
                    users: vec!["1001".into()],
                    groups: vec!["77".into()],
                    originators: vec!["+4917000001".into()],
                },
                Rule {
                    application_id: "X-WAP-Application:SyncML.DM".into(),
                    originators: vec!["DM-SERVER".into()],
                    users: vec!["1002".into()],
                    ..Default::default()
                },
                Rule { application_id: "x-wap-application:mms.ua".into(), ..Default::default() },
            ],
        };
        AccessPolicy::resolve_with(&cfg, &Names)
    }

    /// Knows group `root` only, as a system's user database would.
    struct Names;

    impl NameLookup for Names {
        fn uid(&self, name: &str) -> Option<u32> {
            (name == "root").then_some(0)
        }
        fn gid(&self, name: &str) -> Option<u32> {
            (name == "root").then_some(0)
        }
    }

    fn caller(uid: u32, gids: &[u32]) -> Caller {
        Caller { uid, gids: gids.to_vec() }
    }

    #[test]
    fn privileged_callers() {
        let p = policy();
        assert!(p.is_privileged(&caller(0, &[])));
        assert!(p.is_privileged(&caller(1500, &[])));
        assert!(p.is_privileged(&caller(1000, &[100, 4242])));
        assert!(p.is_privileged(&caller(1000, &[0])), "group root resolves to gid 0");
        assert!(!p.is_privileged(&caller(1000, &[100])));
    }

    #[test]
    fn registration_rules_merge_and_do_not_exempt_root() {
        let p = policy();
        let dm = Some("x-wap-application:SYNCML.dm");
        assert!(p.may_receive(dm, &caller(1001, &[])));
        assert!(p.may_receive(dm, &caller(1002, &[])));
        assert!(p.may_receive(dm, &caller(3000, &[77])));
        assert!(!p.may_receive(dm, &caller(3000, &[78])));
        assert!(!p.may_receive(dm, &caller(0, &[0])));
        // A rule naming nobody, no rule at all, no application id: open.
        assert!(p.may_receive(Some("x-wap-application:mms.ua"), &caller(3000, &[])));
        assert!(p.may_receive(Some("x-wap-application:wml.ua"), &caller(3000, &[])));
        assert!(p.may_receive(None, &caller(3000, &[])));
    }

    #[test]
    fn originator_allow_lists() {
        let p = policy();
        let mut m = Message {
            id: "m".into(),
            kind: crate::message::Kind::WspPush,
            source: Source::Sms,
            originator: "+4915112345678".into(),
            sent_time: None,
            received_time: "2024-05-01T10:00:05+00:00".into(),
            application_id: Some("x-wap-application:syncml.dm".into()),
            content_type: "application/vnd.syncml.notification".into(),
            content_type_params: Default::default(),
            headers: Default::default(),
            transaction_id: None,
            pdu_type: None,
            port: Some(2948),
            event: None,
            body: b"x".to_vec(),
        };
        let dm = Some("x-wap-application:syncml.dm");
        m.originator = "+4917000001".into();
        assert_eq!(p.check_originator(dm, &m), Ok(()));
        m.originator = "DM-SERVER".into();
        assert_eq!(p.check_originator(dm, &m), Ok(()));
        m.originator = "+4917000002".into();
        let e = p.check_originator(dm, &m).unwrap_err();
        assert!(e.contains("+4917000002") && e.contains("syncml.dm"), "{e}");
        assert_eq!(p.check_originator(Some("x-wap-application:mms.ua"), &m), Ok(()));
        m.source = Source::Sse;
        assert_eq!(p.check_originator(dm, &m), Ok(()));
    }

    #[test]
    fn proc_status_groups() {
        let status = "Name:\tx\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t101\t100\t101\nGroups:\t4 24 101 \n";
        assert_eq!(groups_from_proc_status(status), vec![4, 24, 101]);
    }
}
