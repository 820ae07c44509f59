//! New-message indications (`+CNMI`, TS 27.005 §3.4.1): the init's choice among the profile's
//! candidates, and its store-mode form while the store refuses.

use crate::modem::at::response::ParamRanges;

/// The `+CNMI` sub-state.
#[derive(Debug, Default)]
pub(super) struct Cnmi {
    /// What `+CNMI=?` advertised.
    pub(super) ranges: Option<ParamRanges>,
    /// The candidates to try, in order.
    pub(super) list: Vec<[u8; 5]>,
    /// The setting the init chose, and the one the modem has (as far as we know).
    pub(super) base: Option<[u8; 5]>,
    pub(super) now: Option<[u8; 5]>,
}

impl Cnmi {
    /// The profile's `candidates` that fit the advertised `+CNMI=?` ranges (all of them if the
    /// modem printed nothing usable: some modems lie, the set command decides).
    pub(super) fn choices(&self, candidates: &[[u8; 5]]) -> Vec<[u8; 5]> {
        let all = candidates.to_vec();
        let Some(ranges) = &self.ranges else { return all };
        let fits = |c: &[u8; 5]| {
            c.iter().zip(ranges.iter()).all(|(v, rs)| rs.iter().any(|r| r.contains(&i32::from(*v))))
        };
        let chosen: Vec<_> = all.iter().copied().filter(fits).collect();
        if chosen.is_empty() {
            all
        } else {
            chosen
        }
    }

    /// The setting wanted now: the init's choice, or its store-mode form (`<mt>` 1, status
    /// reports stored) while the store is `refusing` and the choice routes.
    pub(super) fn wanted(&self, refusing: bool) -> Option<[u8; 5]> {
        let base = self.base?;
        if !refusing || !is_routed(&base) {
            return Some(base);
        }
        let ds_stored =
            self.ranges.as_ref().is_none_or(|r| r.get(3).is_some_and(|rs| rs.iter().any(|x| x.contains(&2))));
        let ds = match base[3] {
            1 if ds_stored => 2,
            1 => 0,
            d => d,
        };
        Some([base[0], 1, base[2], ds, base[4]])
    }

    /// Whether the init's choice routes SMS-DELIVERs to the host.
    pub(super) fn routes(&self) -> bool {
        self.base.is_some_and(|b| is_routed(&b))
    }
}

/// Whether a `+CNMI` setting routes SMS-DELIVERs (`<mt>` 2 or 3, TS 27.005 §3.4.1).
pub(super) fn is_routed(cnmi: &[u8; 5]) -> bool {
    matches!(cnmi[1], 2 | 3)
}
