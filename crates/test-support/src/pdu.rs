//! SMS-DELIVER and SMS-STATUS-REPORT PDUs made by the real encoders, and numbered bodies.

use otapush::ctl::encode::{encode_push, PushRequest};
use otapush::sms::{self, Address, DeliverTemplate, Timestamp};

/// 2026-11-21 09:30:00 at UTC-03:00 (a negative zone, to check the offset survives).
pub fn scts() -> Timestamp {
    Timestamp {
        year: 2026,
        month: 11,
        day: 21,
        hour: 9,
        minute: 30,
        second: 0,
        tz_quarters: -12,
        nonbcd: false,
    }
}

/// [`scts`] in RFC 3339, as `SentTime` must read.
pub const SCTS_RFC3339: &str = "2026-11-21T09:30:00-03:00";

/// The originator every builder uses.
pub const FROM: &str = "+15550100";

/// A WAP Push (ports 9200 → 2948) segmented into SMS-DELIVER PDUs.
pub fn push_pdus(app_id: Option<&str>, content_type: &str, body: &[u8], reference: u16) -> Vec<Vec<u8>> {
    push_pdus_with_headers(app_id, content_type, &[], body, reference)
}

/// [`push_pdus`] with WSP application headers (WAP-230 §8.4.2.6), e.g. `X-Otapush-Topic`.
pub fn push_pdus_with_headers(
    app_id: Option<&str>,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    reference: u16,
) -> Vec<Vec<u8>> {
    encode_push(&PushRequest {
        app_id: app_id.map(Into::into),
        content_type: content_type.into(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.to_vec(),
        from: FROM.into(),
        reference,
        scts: Some(scts()),
        ..Default::default()
    })
    .unwrap()
}

fn template() -> DeliverTemplate {
    DeliverTemplate {
        smsc: None,
        originator: Address::international(&FROM[1..]).unwrap(),
        scts: scts(),
        pid: 0,
    }
}

/// A text SMS (GSM 7-bit when it can be), segmented when long.
pub fn text_pdus(text: &str, reference: u16) -> Vec<Vec<u8>> {
    sms::segment_text(&template(), text, reference, 8).unwrap()
}

/// An 8-bit port-addressed datagram (not WSP).
pub fn datagram_pdus(src: u16, dst: u16, payload: &[u8], reference: u16) -> Vec<Vec<u8>> {
    sms::segment_binary(&template(), Some(sms::Ports { src, dst, bits: 16 }), payload, reference, 8).unwrap()
}

/// A small message body tagged with its number, so the test can tell messages apart.
pub fn tagged(n: usize) -> Vec<u8> {
    format!("msg-{n:06}").into_bytes()
}

/// Reads the number back from a [`tagged`] body.
pub fn tag_of(body: &[u8]) -> Option<usize> {
    std::str::from_utf8(body).ok()?.strip_prefix("msg-")?.parse().ok()
}

/// Message `n` of a burst: a single-PDU WAP Push for `x-wap-application:mms.ua`, or every
/// `multi`-th one a push of two segments (a body too long for one SMS, tag first).
pub fn burst_message(n: usize, multi: usize) -> Vec<Vec<u8>> {
    let mut body = tagged(n);
    if multi > 0 && n % multi == 0 {
        body.extend(std::iter::repeat_n(b'.', 180));
    }
    push_pdus(Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", &body, (n % 256) as u16)
}

/// An SMS-STATUS-REPORT (with an empty SMSC field) for a message sent to `recipient` at
/// [`scts`], discharged one minute later, `status` as TP-ST (0 = delivered).
pub fn status_report_pdu(reference: u8, recipient: &str, status: u8) -> Vec<u8> {
    let discharge = Timestamp { minute: 31, ..scts() };
    let report = sms::StatusReport {
        message_reference: reference,
        recipient: Address::international(recipient.trim_start_matches('+')).unwrap(),
        scts: scts(),
        discharge_time: discharge,
        status,
        more_messages: false,
        loop_prevention: false,
        command_qualifier: false,
        pid: None,
        dcs: None,
        udh: None,
        user_data: None,
    };
    sms::encode(&sms::SmsPdu { smsc: None, tpdu: sms::Tpdu::StatusReport(report) }, true).unwrap()
}

/// Segment 1 of a two-segment message that never completes: a WAP Push body of 200 octets
/// split by the real encoder, 16-bit reference `n % 65536`, the originator varied with `n / 65536`
/// so every PDU opens a partial message of its own.
pub fn bogus_segment(n: usize) -> Vec<u8> {
    let from = format!("{}", 15_550_000_000u64 + (n / 65536) as u64);
    let template = DeliverTemplate {
        smsc: None,
        originator: Address::international(&from).unwrap(),
        scts: scts(),
        pid: 0,
    };
    let ports = Some(sms::Ports { src: 9200, dst: 2948, bits: 16 });
    let mut pdus = sms::segment_binary(&template, ports, &[0x42; 200], (n % 65536) as u16, 16).unwrap();
    assert_eq!(pdus.len(), 2);
    pdus.swap_remove(0)
}

/// Distinct valid SMS-DELIVER PDUs (see `sample_deliver_pdu` for the octets).
pub fn pdu(n: u8) -> Vec<u8> {
    otapush::modem::sim::sample_deliver_pdu(n)
}
