//! `otapushctl decode sms`: one SMS PDU → its JSON object (docs/cli.md).

use super::json::{Hex, Rfc3339};
use crate::sms::{self, Deliver, SmsPdu, StatusReport, Tpdu, UserData, UserDataHeader};
use serde::Serialize;
use serde_json::Value;

/// Decodes one PDU (`with_smsc`: the service-centre address comes first, as modems print
/// it) into its JSON object (docs/cli.md), or the decoder's error message.
pub fn decode_sms_json(pdu: &[u8], with_smsc: bool) -> Result<Value, String> {
    let p = sms::decode(pdu, with_smsc).map_err(|e| e.to_string())?;
    Ok(to_json(&p))
}

/// The JSON of a decoded PDU (docs/cli.md, decode sms), as a value (tests and fuzzing).
pub fn to_json(p: &SmsPdu) -> Value {
    super::json::to_value(&SmsRecord::new(p)).unwrap_or(Value::Null)
}

/// The JSON record of one decoded PDU, borrowing from it; written by `json::write_line`.
/// Each record carries its own `type` (a struct, not an internally tagged enum: serde_json
/// writes structs without its slower map path).
#[derive(Serialize)]
#[serde(untagged)]
pub enum SmsRecord<'a> {
    Deliver(DeliverRecord<'a>),
    StatusReport(StatusReportRecord<'a>),
}

impl<'a> SmsRecord<'a> {
    pub fn new(p: &'a SmsPdu) -> Self {
        let smsc = p.smsc.as_ref().map(|a| a.as_str());
        match &p.tpdu {
            Tpdu::Deliver(d) => SmsRecord::Deliver(DeliverRecord::new(smsc, d)),
            Tpdu::StatusReport(s) => SmsRecord::StatusReport(StatusReportRecord::new(smsc, s)),
        }
    }
}

/// SMS-DELIVER fields (TS 23.040 §9.2.2.1).
#[derive(Serialize)]
pub struct DeliverRecord<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    smsc: Option<&'a str>,
    originator: &'a str,
    originator_type: &'static str,
    timestamp: Rfc3339,
    /// TP-SCTS had a non-BCD semi-octet (read as oFono does).
    #[serde(skip_serializing_if = "is_false")]
    timestamp_nonbcd: bool,
    pid: u8,
    dcs: u8,
    encoding: &'static str,
    class: Option<u8>,
    compressed: bool,
    mwi: Option<MwiRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_hex: Option<Hex<'a>>,
    udh: UdhRecord<'a>,
    /// The user data header could not be parsed and was ignored (TS 23.040 §9.2.3.24).
    #[serde(skip_serializing_if = "is_false")]
    udh_malformed: bool,
}

impl<'a> DeliverRecord<'a> {
    fn new(smsc: Option<&'a str>, d: &'a Deliver) -> Self {
        let (text, data_hex) = user_data(&d.user_data);
        DeliverRecord {
            kind: "deliver",
            smsc,
            originator: d.originator.as_str(),
            originator_type: d.originator.kind_str(),
            timestamp: Rfc3339(d.scts.rfc3339_bytes()),
            timestamp_nonbcd: d.scts.nonbcd,
            pid: d.pid,
            dcs: d.dcs.octet(),
            encoding: d.dcs.encoding_str(),
            class: d.dcs.class(),
            compressed: d.dcs.compressed(),
            mwi: d.dcs.mwi().map(|w| MwiRecord { active: w.active, discard: w.discard, kind: w.kind_str() }),
            text,
            data_hex,
            udh: UdhRecord::new(d.udh.as_ref()),
            udh_malformed: malformed(d.udh.as_ref()),
        }
    }
}

/// SMS-STATUS-REPORT fields (TS 23.040 §9.2.2.3).
#[derive(Serialize)]
pub struct StatusReportRecord<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    smsc: Option<&'a str>,
    mr: u8,
    recipient: &'a str,
    recipient_type: &'static str,
    timestamp: Rfc3339,
    #[serde(skip_serializing_if = "is_false")]
    timestamp_nonbcd: bool,
    discharge_time: Rfc3339,
    #[serde(skip_serializing_if = "is_false")]
    discharge_time_nonbcd: bool,
    status: u8,
    status_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dcs: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_hex: Option<Hex<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udh: Option<UdhRecord<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    udh_malformed: bool,
}

impl<'a> StatusReportRecord<'a> {
    fn new(smsc: Option<&'a str>, s: &'a StatusReport) -> Self {
        let (text, data_hex) = s.user_data.as_ref().map_or((None, None), user_data);
        StatusReportRecord {
            kind: "status_report",
            smsc,
            mr: s.message_reference,
            recipient: s.recipient.as_str(),
            recipient_type: s.recipient.kind_str(),
            timestamp: Rfc3339(s.scts.rfc3339_bytes()),
            timestamp_nonbcd: s.scts.nonbcd,
            discharge_time: Rfc3339(s.discharge_time.rfc3339_bytes()),
            discharge_time_nonbcd: s.discharge_time.nonbcd,
            status: s.status,
            status_kind: s.status_kind().as_str(),
            pid: s.pid,
            dcs: s.dcs.map(|d| d.octet()),
            text,
            data_hex,
            udh: s.user_data.as_ref().map(|_| UdhRecord::new(s.udh.as_ref())),
            udh_malformed: malformed(s.udh.as_ref()),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn malformed(h: Option<&UserDataHeader>) -> bool {
    h.is_some_and(|h| h.malformed().is_some())
}

#[derive(Serialize)]
struct MwiRecord {
    active: bool,
    discard: bool,
    kind: &'static str,
}

fn user_data(ud: &UserData) -> (Option<&str>, Option<Hex<'_>>) {
    match ud {
        UserData::Text(t) => (Some(t.as_str()), None),
        UserData::Binary(b) => (None, Some(Hex(b))),
    }
}

/// The user data header (TS 23.040 §9.2.3.24): the interpreted elements and every element.
#[derive(Serialize)]
pub struct UdhRecord<'a> {
    concat: Option<ConcatRecord>,
    ports: Option<PortsRecord>,
    elements: Elements<'a>,
}

/// Every element of the header as `{iei, data_hex}`, written from the header itself (no
/// vector per PDU).
struct Elements<'a>(Option<&'a UserDataHeader>);

impl Serialize for Elements<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let elements = self.0.into_iter().flat_map(UserDataHeader::elements);
        s.collect_seq(elements.map(|e| ElementRecord { iei: e.iei, data_hex: Hex(e.data) }))
    }
}

#[derive(Serialize)]
struct ConcatRecord {
    #[serde(rename = "ref")]
    reference: u16,
    total: u8,
    seq: u8,
    ref_bits: u8,
}

/// Application port addressing (TS 23.040 §9.2.3.24.3-4); also used by `decode push`.
#[derive(Serialize)]
pub struct PortsRecord {
    pub src: u16,
    pub dst: u16,
    pub bits: u8,
}

#[derive(Serialize)]
struct ElementRecord<'a> {
    iei: u8,
    data_hex: Hex<'a>,
}

impl<'a> UdhRecord<'a> {
    fn new(h: Option<&'a UserDataHeader>) -> Self {
        let Some(h) = h else {
            return UdhRecord { concat: None, ports: None, elements: Elements(None) };
        };
        UdhRecord {
            concat: h.concat().map(|c| ConcatRecord {
                reference: c.reference,
                total: c.total,
                seq: c.seq,
                ref_bits: c.ref_bits,
            }),
            ports: h.ports().map(|p| PortsRecord { src: p.src, dst: p.dst, bits: p.bits }),
            elements: Elements(Some(h)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;
    use serde_json::json;

    use crate::sms::test_vectors::{MALFORMED_UDH, SINGLE_CONCAT};

    fn run(hex_pdu: &str, with_smsc: bool) -> Value {
        decode_sms_json(&hex::decode(hex_pdu).unwrap(), with_smsc).unwrap()
    }

    /// python-messaging test_wap.py, MMS notification part 1 of 2 (see sms::tests for the
    /// octet-by-octet reading).
    #[test]
    fn mms_notification_segment() {
        let v = run(
            "0791447758100650400E80885810000000810004016082415464408C0C08049F8E020105040B8423F00106226170706C69636174696F6E2F766E642E7761702E6D6D732D6D65737361676500AF848C82984E4F4B3543694B636F544D595347344D4253774141734B7631344655484141414141414141008D908919802B3434373738353334323734392F545950453D504C4D4E008A808E0274008805810301194083687474703A2F",
            true,
        );
        assert_eq!(v["type"], "deliver");
        assert_eq!(v["smsc"], "+447785016005");
        assert_eq!(v["originator"], "88850100000018");
        assert_eq!(v["originator_type"], "unknown");
        assert_eq!(v["timestamp"], "2010-06-28T14:45:46+01:00");
        assert_eq!((v["pid"].as_u64(), v["dcs"].as_u64()), (Some(0), Some(4)));
        assert_eq!(v["encoding"], "8bit");
        assert_eq!(v["class"], Value::Null);
        assert!(v.get("text").is_none());
        let data = v["data_hex"].as_str().unwrap();
        assert!(data.starts_with("0106226170706c69636174696f6e2f766e642e7761702e6d6d732d6d657373616765"));
        assert_eq!(data.len(), 127 * 2);
        assert_eq!(
            v["udh"],
            json!({
                "concat": {"ref": 40846, "total": 2, "seq": 1, "ref_bits": 16},
                "ports": {"src": 9200, "dst": 2948, "bits": 16},
                "elements": [{"iei": 8, "data_hex": "9f8e0201"}, {"iei": 5, "data_hex": "0b8423f0"}]
            })
        );
    }

    /// oFono test-sms.c `alnum_sender` and `simple_deliver` (negative zone), as JSON.
    #[test]
    fn text_messages() {
        let v = run("0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9", true);
        assert_eq!(
            (v["originator"].as_str(), v["originator_type"].as_str()),
            (Some("sipgate"), Some("alphanumeric"))
        );
        assert_eq!(v["text"], "Testmail");
        assert_eq!(v["encoding"], "gsm7");
        assert_eq!(v["udh"], json!({"concat": null, "ports": null, "elements": []}));
        let v = run("040B911346610089F60000208062917314480CC8F71D14969741F977FD07", false);
        assert_eq!(v["smsc"], Value::Null);
        assert_eq!(v["originator"], "+31641600986");
        assert_eq!(v["originator_type"], "international");
        assert_eq!(v["timestamp"], "2002-08-26T19:37:41-01:00");
        assert_eq!(v["text"], "How are you?");
        // oFono unicode_deliver's header (DCS 19: class 1, UCS2) with the user data replaced
        // by UDL 08: 0041 "A", 00E4 "ä", D83D DE00 (U+1F600, a surrogate pair).
        let v = run("04819999990414D0FBFD7EBFDFEFF77BFE1E00195120908013618008004100E4D83DDE00", true);
        assert_eq!((v["encoding"].as_str(), v["class"].as_u64()), (Some("ucs2"), Some(1)));
        assert_eq!(v["text"], "Aä😀");
    }

    /// oFono test-sms.c sr_pdu1 (status report, -05:00) and python-messaging's failed report.
    #[test]
    fn status_reports() {
        let v = run("06040D91945152991136F00160124130340A0160124130940A00", false);
        assert_eq!(
            v,
            json!({
                "type": "status_report", "smsc": null, "mr": 4,
                "recipient": "+4915259911630", "recipient_type": "international",
                "timestamp": "2010-06-21T14:03:43-05:00",
                "discharge_time": "2010-06-21T14:03:49-05:00",
                "status": 0, "status_kind": "completed"
            })
        );
        let v = run("07914306073011F006270B913426565711F7012081111345400120811174054043", true);
        assert_eq!((v["status"].as_u64(), v["status_kind"].as_str()), (Some(0x43), Some("failed")));
        assert_eq!(v["smsc"], "+34607003110");
    }

    /// oFono test-sms.c sr_pdu3: both zone octets are A0 (non-BCD units semi-octet).
    #[test]
    fn status_report_with_non_bcd_zone_is_flagged() {
        let v = run("0606098121436587F9019012413064A0019012413045A000", false);
        assert_eq!(
            v,
            json!({
                "type": "status_report", "smsc": null, "mr": 6,
                "recipient": "123456789", "recipient_type": "unknown",
                "timestamp": "2010-09-21T14:03:46+02:30", "timestamp_nonbcd": true,
                "discharge_time": "2010-09-21T14:03:54+02:30", "discharge_time_nonbcd": true,
                "status": 0, "status_kind": "completed"
            })
        );
    }

    /// A deliver with a concatenation element of total 1 and a deliver whose header is
    /// malformed (see sms::tests for the octets).
    #[test]
    fn single_segment_concat_and_malformed_udh() {
        let v = run(SINGLE_CONCAT, true);
        assert_eq!(v["udh"]["concat"], json!({"ref": 0x5A, "total": 1, "seq": 1, "ref_bits": 8}));
        assert_eq!(v["text"], "Your code is 4821");
        assert!(v.get("udh_malformed").is_none() && v.get("timestamp_nonbcd").is_none());
        let v = run(MALFORMED_UDH, true);
        assert_eq!(v["udh_malformed"], true);
        assert_eq!(v["udh"], json!({"concat": null, "ports": null, "elements": []}));
        assert_eq!(v["text"], "Balance: 12.50 EUR");
    }

    #[test]
    fn errors_name_the_field_and_offset() {
        let e =
            decode_sms_json(&hex::decode("0011000B916407281553F80000AA0AE8329BFD4697D9EC37").unwrap(), true)
                .unwrap_err();
        assert!(e.contains("TP-MTI=1") && e.contains("octet 1"), "{e}");
        let e = decode_sms_json(&[0x07, 0x91], true).unwrap_err();
        assert_eq!(e, "SMSC address truncated at octet 2");
    }
}
