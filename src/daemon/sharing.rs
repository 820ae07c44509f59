//! Connection sharing: `[[sse]]` entries with the same URL and credentials (`ca_file`) read
//! one HTTP connection, named by the first of them; each event becomes one message per entry
//! (docs/event-streams.md, Shared connections).

use crate::config::SseConfig;

/// One connection and the entries it serves, in configuration order.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedStream {
    /// The connection: the first entry's name and settings.
    pub cfg: SseConfig,
    /// Every entry it serves, the first included.
    pub members: Vec<SseConfig>,
}

impl SharedStream {
    /// The connection's name (the first entry's).
    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// The application ids it serves, in configuration order.
    pub fn applications(&self) -> Vec<String> {
        self.members.iter().map(|m| m.application_id.clone()).collect()
    }
}

/// Whether two entries can read one connection: the same URL and the same trust.
fn same_connection(a: &SseConfig, b: &SseConfig) -> bool {
    a.url == b.url && a.ca_file == b.ca_file
}

/// The connections `[[sse]]` asks for. The first of two entries of one name wins.
pub fn group(entries: &[SseConfig]) -> Vec<SharedStream> {
    let mut out: Vec<SharedStream> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for e in entries {
        if names.contains(&e.name.as_str()) {
            log::warn!("[[sse]] {}: a second entry of this name is ignored", e.name);
            continue;
        }
        names.push(&e.name);
        match out.iter_mut().find(|s| same_connection(&s.cfg, e)) {
            Some(s) => s.members.push(e.clone()),
            None => out.push(SharedStream { cfg: e.clone(), members: vec![e.clone()] }),
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An `[[sse]]` entry named `name` for `url`, application id `x-oma-application:<name>`.
    pub(in crate::daemon) fn sse(name: &str, url: &str) -> SseConfig {
        SseConfig {
            name: name.into(),
            url: url.into(),
            application_id: format!("x-oma-application:{name}"),
            ca_file: None,
            on_server_error: Default::default(),
            idle_timeout: 45,
            max_event_bytes: 1 << 20,
        }
    }

    #[test]
    fn entries_of_one_url_and_trust_share_a_connection_named_by_the_first() {
        let mut c = sse("c", "http://a/");
        c.ca_file = Some("/etc/ca.pem".into());
        let g = group(&[sse("a", "http://a/"), sse("b", "http://b/"), sse("a2", "http://a/"), c]);
        let names: Vec<(&str, Vec<&str>)> =
            g.iter().map(|s| (s.name(), s.members.iter().map(|m| m.name.as_str()).collect())).collect();
        assert_eq!(names, [("a", vec!["a", "a2"]), ("b", vec!["b"]), ("c", vec!["c"])]);
        assert_eq!(g[0].applications(), ["x-oma-application:a", "x-oma-application:a2"]);
    }

    #[test]
    fn the_first_entry_of_a_name_wins() {
        let g = group(&[sse("a", "http://a/"), sse("a", "http://a/")]);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].members.len(), 1);
    }
}
