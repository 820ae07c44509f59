//! `otapushctl encode push`: the SMS PDUs that carry a WAP Push, for tests and for developers
//! feeding a modem or the simulator.

use crate::sms::{self, Address, DeliverTemplate, Timestamp};
use crate::wsp::{self, encode::PushSpec, PduType};

/// What to encode.
#[derive(Debug, Clone)]
pub struct PushRequest {
    pub app_id: Option<String>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The originator: `+4912345` (international), digits (national), or a name (alphanumeric).
    pub from: String,
    pub tid: u8,
    pub confirmed: bool,
    pub reference: u16,
    pub ref_bits: u8,
    /// Service-centre time stamp; `None` = now, in UTC.
    pub scts: Option<Timestamp>,
    /// 2948 unless told otherwise.
    pub dst_port: u16,
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
            dst_port: crate::wdp::PORT_WAP_PUSH,
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
        Some(c) => crate::cai::filter::app_id_urn(c),
        None => arg.to_string(),
    }
}

/// The current time as a service-centre time stamp in UTC.
pub fn now_timestamp() -> Timestamp {
    let secs = (crate::time::now_ms() / 1000) as i64;
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

/// Builds the WSP push and splits it into SMS-DELIVER PDUs (SMSC prefix `00` included).
pub fn encode_push(req: &PushRequest) -> Result<Vec<Vec<u8>>, String> {
    let mut parts = req.content_type.split(';');
    let content_type = parts.next().unwrap_or("").trim().to_string();
    let content_type_params = parts
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().trim_matches('"').to_string()),
            None => (p.trim().to_string(), String::new()),
        })
        .collect();
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
        scts: req.scts.unwrap_or_else(now_timestamp),
        pid: 0,
    };
    let ports = sms::Ports { src: req.src_port, dst: req.dst_port, bits: 16 };
    sms::segment_binary(&template, Some(ports), &wsp_pdu, req.reference, req.ref_bits)
        .map_err(|e| format!("SMS: {e}"))
}
