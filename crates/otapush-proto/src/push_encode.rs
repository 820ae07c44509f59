//! The SMS-DELIVER PDUs (3GPP TS 23.040 §9.2.2.1) that carry a WSP Push (WAP-230 §8.2.4.1) to
//! port 2948 (WAP-259 §6.3.1), as `otapushctl encode push` prints them: for tests and for
//! developers feeding a modem or the simulator. The caller passes the clock's time.

use crate::sms::{self, Address, DeliverTemplate, Timestamp};
use crate::wsp::{self, encode::PushSpec, PduType};

/// The WAP Push port (WAP-259 §6.3.1, `wdp::PORT_WAP_PUSH` in the daemon crate).
const PORT_WAP_PUSH: u16 = 2948;

/// What to encode.
#[derive(Debug, Clone)]
pub struct PushRequest {
    /// X-Wap-Application-Id: a URN, or an OMNA code (see [`app_id_urn`]).
    pub app_id: Option<String>,
    /// The content type, parameters included (`application/x; a=b`).
    pub content_type: String,
    /// Further headers, `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// The push body.
    pub body: Vec<u8>,
    /// The originator: `+4912345` (international), digits (national), or a name (alphanumeric).
    pub from: String,
    /// The WSP transaction id.
    pub tid: u8,
    /// ConfirmedPush instead of Push.
    pub confirmed: bool,
    /// The concatenation reference (TS 23.040 §9.2.3.24.1).
    pub reference: u16,
    /// 8 or 16: the concatenation information element's reference width.
    pub ref_bits: u8,
    /// Service-centre time stamp; `None` = the `now` passed to [`encode_push`].
    pub scts: Option<Timestamp>,
    /// 2948 unless told otherwise.
    pub dst_port: u16,
    /// The originator port.
    pub src_port: u16,
}

impl Default for PushRequest {
    fn default() -> Self {
        PushRequest {
            app_id: None,
            content_type: "application/octet-stream".into(),
            headers: Vec::new(),
            body: Vec::new(),
            from: "+15550100".into(),
            tid: 1,
            confirmed: false,
            reference: 1,
            ref_bits: 8,
            scts: None,
            dst_port: PORT_WAP_PUSH,
            src_port: 9200,
        }
    }
}

/// Parses an originator as the CLI takes it.
pub fn parse_address(from: &str) -> Result<Address, String> {
    let r = if let Some(d) = from.strip_prefix('+') {
        Address::international(d)
    } else if !from.is_empty() && from.bytes().all(|b| b.is_ascii_digit()) {
        Address::national(from)
    } else {
        Address::alphanumeric(from)
    };
    r.map_err(|e| format!("originator {from:?}: {e}"))
}

/// An application id as the CLI takes it: a URN, or an OMNA code (`4`, `0x8002`) mapped to its
/// URN (unknown codes become `x-wap-application:<decimal>`), which the encoder sends as a code.
pub fn app_id_urn(arg: &str) -> String {
    let code = match arg.strip_prefix("0x").or_else(|| arg.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => arg.parse::<u32>().ok(),
    };
    match code {
        Some(c) => match wsp::tables::app_id_name(u64::from(c)) {
            Some(urn) => urn.to_string(),
            None => format!("x-wap-application:{c}"),
        },
        None => arg.to_string(),
    }
}

/// Seconds since the Unix epoch as a service-centre time stamp in UTC.
pub fn timestamp_from_unix(secs: i64) -> Timestamp {
    let (y, mo, d) = crate::time::civil_from_days(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400) as u32;
    Timestamp {
        year: y as u16,
        month: mo as u8,
        day: d as u8,
        hour: (rem / 3600) as u8,
        minute: (rem / 60 % 60) as u8,
        second: (rem % 60) as u8,
        tz_quarters: 0,
        nonbcd: false,
    }
}

/// Builds the WSP push and splits it into SMS-DELIVER PDUs (SMSC prefix `00` included); `now`
/// is the time stamp when the request has none.
pub fn encode_push(req: &PushRequest, now: Timestamp) -> Result<Vec<Vec<u8>>, String> {
    let (content_type, content_type_params) = wsp::encode::split_content_type(&req.content_type);
    let spec = PushSpec {
        tid: req.tid,
        pdu_type: if req.confirmed { PduType::ConfirmedPush } else { PduType::Push },
        content_type,
        content_type_params,
        app_id: req.app_id.as_deref().map(app_id_urn),
        headers: req.headers.clone(),
        body: req.body.clone(),
    };
    let wsp_pdu = wsp::encode::encode(&spec).map_err(|e| format!("WSP: {e}"))?;
    let template = DeliverTemplate {
        smsc: None,
        originator: parse_address(&req.from)?,
        scts: req.scts.unwrap_or(now),
        pid: 0,
    };
    let ports = sms::Ports { src: req.src_port, dst: req.dst_port, bits: 16 };
    sms::segment_binary(&template, Some(ports), &wsp_pdu, req.reference, req.ref_bits)
        .map_err(|e| format!("SMS: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_become_a_utc_time_stamp() {
        let t = timestamp_from_unix(1_764_322_215); // 2025-11-28T09:30:15Z
        assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2025, 11, 28, 9, 30, 15));
        assert_eq!(t.tz_quarters, 0);
    }

    #[test]
    fn now_is_used_only_without_a_time_stamp() {
        let now = timestamp_from_unix(1_764_322_215);
        let fixed = timestamp_from_unix(1_000_000_000); // TP-SCTS has two-digit years
        let scts = |req: &PushRequest| {
            let pdu = &encode_push(req, now).unwrap()[0];
            let sms::Tpdu::Deliver(d) = sms::decode(pdu, true).unwrap().tpdu else { panic!("not a DELIVER") };
            d.scts
        };
        assert_eq!(scts(&PushRequest::default()), now);
        assert_eq!(scts(&PushRequest { scts: Some(fixed), ..Default::default() }), fixed);
    }

    #[test]
    fn omna_codes_become_urns() {
        assert_eq!(app_id_urn("4"), "x-wap-application:mms.ua");
        assert_eq!(app_id_urn("0x8002"), "x-wap-docomo:imode.mail.ua");
        assert_eq!(app_id_urn("11"), "x-wap-application:11");
        assert_eq!(app_id_urn("x-foo:bar"), "x-foo:bar");
    }
}
