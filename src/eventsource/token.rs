//! Per-application tokens for the TCP listener: random, held in memory only, expiring. A
//! token is handed out over D-Bus (`IssueEventSourceToken`) to a caller that may receive the
//! application id, and names that one application id.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

/// Tokens held at once; the one expiring soonest goes first.
pub const MAX_TOKENS: usize = 1024;

/// The issued tokens.
#[derive(Debug)]
pub struct Tokens {
    ttl_ms: u64,
    /// token → (lower-case application id, expiry in Unix ms).
    inner: Mutex<HashMap<String, (String, u64)>>,
}

impl Tokens {
    /// Tokens valid for `ttl_ms` after issue (`[eventsource] token_ttl`).
    pub fn new(ttl_ms: u64) -> Tokens {
        Tokens { ttl_ms, inner: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, u64)>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new token for `app_id`: 128 bits from the kernel's random source, as hex.
    pub fn issue(&self, app_id: &str, now_ms: u64) -> std::io::Result<String> {
        let mut raw = [0u8; 16];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut raw)?;
        let token = crate::hex::encode_lower(&raw);
        let mut map = self.lock();
        map.retain(|_, (_, exp)| *exp > now_ms);
        if map.len() >= MAX_TOKENS {
            if let Some(k) = map.iter().min_by_key(|(_, (_, exp))| *exp).map(|(k, _)| k.clone()) {
                map.remove(&k);
            }
        }
        map.insert(token.clone(), (app_id.to_ascii_lowercase(), now_ms.saturating_add(self.ttl_ms)));
        Ok(token)
    }

    /// Whether `token` is unexpired and names `app_id`.
    pub fn check(&self, token: &str, app_id: &str, now_ms: u64) -> bool {
        self.lock().get(token).is_some_and(|(app, exp)| *exp > now_ms && app.eq_ignore_ascii_case(app_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_one_application_and_expire() {
        let t = Tokens::new(1000);
        let a = t.issue("x-oma-application:A", 5000).unwrap();
        let b = t.issue("x-oma-application:A", 5000).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(t.check(&a, "x-oma-application:a", 5999));
        assert!(!t.check(&a, "x-oma-application:b", 5999));
        assert!(!t.check(&a, "x-oma-application:a", 6000));
        assert!(!t.check("0123", "x-oma-application:a", 5000));
    }

    #[test]
    fn the_number_held_is_bounded() {
        let t = Tokens::new(1_000_000);
        let first = t.issue("a", 0).unwrap();
        for i in 0..MAX_TOKENS as u64 + 10 {
            t.issue("a", i + 1).unwrap();
        }
        assert_eq!(t.lock().len(), MAX_TOKENS);
        assert!(!t.check(&first, "a", 1), "the soonest to expire went first");
    }
}
