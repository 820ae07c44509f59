//! A subscriber's pub/sub selection (docs/pubsub.md): the query parameters `event`, `topic`
//! and `group` (comma-separated lists), with the rules of the D-Bus filter keys `EventType`,
//! `Topic` and `Groups`.

use crate::cai::filter::{event_type_name, MAX_LIST};
use crate::store::HistoryEvent;

/// The longest name accepted in a list.
const MAX_NAME: usize = 256;

/// Which events a subscriber gets; empty lists select nothing out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// `event`: only events of these types (`message` for one without an `event:` field).
    pub event_types: Vec<String>,
    /// `topic`: only events whose data names one of these topics.
    pub topics: Vec<String>,
    /// `group`: the groups joined; an event addressed to groups needs one of them.
    pub groups: Vec<String>,
}

impl Selection {
    /// Parses one query parameter's (decoded) value into `list`; gives why it is refused.
    pub fn add(list: &mut Vec<String>, name: &str, value: &str) -> Result<(), String> {
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item.len() > MAX_NAME {
                return Err(format!("{name}: a name longer than {MAX_NAME} bytes"));
            }
            if !list.iter().any(|x| x == item) {
                if list.len() == MAX_LIST {
                    return Err(format!("{name}: more than {MAX_LIST} names"));
                }
                list.push(item.to_string());
            }
        }
        Ok(())
    }

    /// Whether `ev` is selected, by the address its message named (stored with the event).
    pub fn matches(&self, ev: &HistoryEvent) -> bool {
        if !ev.groups.is_empty() && !self.groups.iter().any(|g| ev.groups.contains(g)) {
            return false;
        }
        if !self.event_types.is_empty()
            && !self.event_types.iter().any(|t| t == event_type_name(&ev.event_type))
        {
            return false;
        }
        if !self.topics.is_empty() && !ev.topic.as_ref().is_some_and(|t| self.topics.contains(t)) {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event addressed as its data names (as an SSE event's message is).
    fn ev(event_type: &str, data: &str) -> HistoryEvent {
        let a = crate::cai::filter::Address::of_event_data(data.as_bytes());
        HistoryEvent {
            seq: 1,
            app_id: "a".into(),
            id: "i".into(),
            stream: "s".into(),
            event_type: event_type.into(),
            data: data.into(),
            topic: a.topic,
            groups: a.groups,
        }
    }

    fn sel(event: &str, topic: &str, group: &str) -> Selection {
        let mut s = Selection::default();
        Selection::add(&mut s.event_types, "event", event).unwrap();
        Selection::add(&mut s.topics, "topic", topic).unwrap();
        Selection::add(&mut s.groups, "group", group).unwrap();
        s
    }

    #[test]
    fn lists_parse_bounded() {
        assert_eq!(sel("a, b,,a", "", "").event_types, ["a", "b"]);
        let mut l = Vec::new();
        let many: Vec<String> = (0..=MAX_LIST).map(|i| i.to_string()).collect();
        assert!(Selection::add(&mut l, "group", &many.join(",")).unwrap_err().contains("more than 32"));
        assert!(Selection::add(&mut l, "topic", &"x".repeat(257)).unwrap_err().contains("longer"));
    }

    #[test]
    fn the_rules_of_the_filter_keys() {
        let (quote, plain) = (ev("quote", r#"{"topic":"eur"}"#), ev("", "no json"));
        assert!(Selection::default().matches(&quote) && Selection::default().matches(&plain));
        assert!(sel("quote", "", "").matches(&quote) && !sel("quote", "", "").matches(&plain));
        assert!(sel("message", "", "").matches(&plain), "no event: field is type message");
        assert!(sel("", "eur,usd", "").matches(&quote) && !sel("", "usd", "").matches(&quote));
        assert!(!sel("", "eur", "").matches(&plain));
        let to_g = ev("quote", r#"{"group":"g"}"#);
        assert!(sel("", "", "h,g").matches(&to_g) && !sel("", "", "h").matches(&to_g));
        assert!(!Selection::default().matches(&to_g) && sel("", "", "g").matches(&plain));
        // The stored address counts, not the data: a WAP Push's topic header, say.
        let by_header = HistoryEvent { topic: Some("usd".into()), groups: vec!["h".into()], ..quote.clone() };
        assert!(sel("", "usd", "h").matches(&by_header) && !sel("", "eur", "h").matches(&by_header));
        assert!(!sel("", "usd", "").matches(&by_header), "addressed to group h only");
    }
}
