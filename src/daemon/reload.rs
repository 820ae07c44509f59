//! What a reload changes: which streams stop and start, and which sections apply at once.

use super::sharing::SharedStream;
use crate::config::Config;
use std::collections::BTreeMap;

/// The connections to stop (by name) and to start.
#[derive(Debug, Default, PartialEq)]
pub struct StreamDiff {
    pub stop: Vec<String>,
    pub start: Vec<SharedStream>,
}

/// From the running connections to the `wanted` ones: one removed or changed (an entry of it
/// added, removed or changed) stops, one added or changed starts, resuming from the stored
/// Last-Event-ID; one in `stopped` (by 4xx or a wrong content type) restarts.
pub fn stream_diff(
    running: &BTreeMap<String, SharedStream>,
    wanted: &[SharedStream],
    stopped: &[String],
) -> StreamDiff {
    let mut diff = StreamDiff::default();
    let mut kept: Vec<&str> = Vec::new();
    for (name, cfg) in running {
        let same = wanted.iter().find(|w| w.name() == name).is_some_and(|w| w == cfg);
        if stopped.contains(name) {
            diff.stop.push(name.clone());
        } else if !same {
            log::info!("stream {name}: stopped (configuration changed)");
            diff.stop.push(name.clone());
        } else {
            kept.push(name);
        }
    }
    for w in wanted {
        if !kept.contains(&w.name()) {
            diff.start.push(w.clone());
        }
    }
    diff
}

/// Which sections of a reloaded configuration differ.
#[derive(Debug, PartialEq, Eq)]
pub struct Changes {
    /// The changed keys that apply only at the next start (`[modem]`, `[dbus]`, `[store]`,
    /// `[cai]`, `[[access.rule]]`).
    pub restart: Vec<String>,
    pub bearer: bool,
    pub wdp: bool,
}

pub fn changes(old: &Config, new: &Config) -> Changes {
    Changes { restart: old.restart_keys(new), bearer: old.bearer != new.bearer, wdp: old.wdp != new.wdp }
}

#[cfg(test)]
mod tests {
    use super::super::sharing::group;
    use super::super::sharing::tests::sse;
    use super::*;
    use crate::config::SseConfig;

    fn running(cfgs: &[SseConfig]) -> BTreeMap<String, SharedStream> {
        group(cfgs).into_iter().map(|c| (c.name().to_string(), c)).collect()
    }

    fn names(start: &[SharedStream]) -> Vec<&str> {
        start.iter().map(|s| s.name()).collect()
    }

    #[test]
    fn added_start_removed_stop_changed_restart_same_stay() {
        let (a, b, c) = (sse("a", "http://a/"), sse("b", "http://b/"), sse("c", "http://c/"));
        let b2 = sse("b", "http://b2/");
        let d = stream_diff(&running(&[a.clone(), b, c]), &group(&[a, b2, sse("d", "http://d/")]), &[]);
        assert_eq!(d.stop, ["b", "c"]);
        assert_eq!(names(&d.start), ["b", "d"]);
        assert_eq!(d.start[0].cfg.url, "http://b2/");
    }

    #[test]
    fn a_stopped_stream_restarts() {
        let a = sse("a", "http://a/");
        let d =
            stream_diff(&running(std::slice::from_ref(&a)), &group(std::slice::from_ref(&a)), &["a".into()]);
        assert_eq!((d.stop, names(&d.start)), (vec!["a".to_string()], vec!["a"]));
    }

    #[test]
    fn an_entry_joining_or_leaving_a_shared_connection_restarts_it() {
        let (a, a2, b) = (sse("a", "http://a/"), sse("a2", "http://a/"), sse("b", "http://b/"));
        let d =
            stream_diff(&running(&[a.clone(), b.clone()]), &group(&[a.clone(), b.clone(), a2.clone()]), &[]);
        assert_eq!((d.stop, names(&d.start)), (vec!["a".to_string()], vec!["a"]));
        assert_eq!(d.start[0].members.len(), 2);
        let d = stream_diff(&running(&[a.clone(), a2, b.clone()]), &group(&[a, b]), &[]);
        assert_eq!((d.stop, names(&d.start)), (vec!["a".to_string()], vec!["a"]));
        assert_eq!(d.start[0].members.len(), 1);
    }

    #[test]
    fn sections_that_apply_at_once_and_at_the_next_start() {
        let old = Config::default();
        let mut new = old.clone();
        assert_eq!(changes(&old, &new), Changes { restart: vec![], bearer: false, wdp: false });
        new.wdp.max_partials += 1;
        new.store.commit_retry_max += 1;
        assert_eq!(
            changes(&old, &new),
            Changes { restart: vec!["[store] commit_retry_max".to_string()], bearer: false, wdp: true }
        );
    }
}
