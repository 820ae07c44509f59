//! `otapushctl decode sms`: one SMS PDU → its JSON object (docs/cli.md).

use crate::hex;
use crate::sms::{self, Deliver, SmsPdu, StatusReport, Tpdu, UserData, UserDataHeader};
use serde_json::{json, Map, Value};

/// Decodes one PDU (`with_smsc`: the service-centre address comes first, as modems print
/// it) into its JSON object (docs/cli.md), or the decoder's error message.
pub fn decode_sms_json(pdu: &[u8], with_smsc: bool) -> Result<Value, String> {
    let p = sms::decode(pdu, with_smsc).map_err(|e| e.to_string())?;
    Ok(to_json(&p))
}

/// The JSON of a decoded PDU (docs/cli.md, decode sms).
pub fn to_json(p: &SmsPdu) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), p.kind().as_str().into());
    m.insert("smsc".into(), p.smsc.as_ref().map_or(Value::Null, |a| a.as_str().into()));
    match &p.tpdu {
        Tpdu::Deliver(d) => deliver(&mut m, d),
        Tpdu::StatusReport(s) => status_report(&mut m, s),
    }
    Value::Object(m)
}

fn deliver(m: &mut Map<String, Value>, d: &Deliver) {
    m.insert("originator".into(), d.originator.as_str().into());
    m.insert("originator_type".into(), d.originator.kind_str().into());
    m.insert("timestamp".into(), d.scts.to_rfc3339().into());
    m.insert("pid".into(), d.pid.into());
    m.insert("dcs".into(), d.dcs.octet().into());
    m.insert("encoding".into(), d.dcs.encoding_str().into());
    m.insert("class".into(), d.dcs.class().into());
    m.insert("compressed".into(), d.dcs.compressed().into());
    m.insert(
        "mwi".into(),
        d.dcs
            .mwi()
            .map_or(Value::Null, |w| json!({"active": w.active, "discard": w.discard, "kind": w.kind_str()})),
    );
    user_data(m, &d.user_data);
    m.insert("udh".into(), udh(d.udh.as_ref()));
}

fn status_report(m: &mut Map<String, Value>, s: &StatusReport) {
    m.insert("mr".into(), s.message_reference.into());
    m.insert("recipient".into(), s.recipient.as_str().into());
    m.insert("recipient_type".into(), s.recipient.kind_str().into());
    m.insert("timestamp".into(), s.scts.to_rfc3339().into());
    m.insert("discharge_time".into(), s.discharge_time.to_rfc3339().into());
    m.insert("status".into(), s.status.into());
    m.insert("status_kind".into(), s.status_kind().as_str().into());
    if let Some(pid) = s.pid {
        m.insert("pid".into(), pid.into());
    }
    if let Some(dcs) = s.dcs {
        m.insert("dcs".into(), dcs.octet().into());
    }
    if let Some(ud) = &s.user_data {
        user_data(m, ud);
        m.insert("udh".into(), udh(s.udh.as_ref()));
    }
}

fn user_data(m: &mut Map<String, Value>, ud: &UserData) {
    match ud {
        UserData::Text(t) => m.insert("text".into(), t.as_str().into()),
        UserData::Binary(b) => m.insert("data_hex".into(), hex::encode_lower(b).into()),
    };
}

fn udh(h: Option<&UserDataHeader>) -> Value {
    let Some(h) = h else {
        return json!({"concat": null, "ports": null, "elements": []});
    };
    let concat = h.concat().map_or(
        Value::Null,
        |c| json!({"ref": c.reference, "total": c.total, "seq": c.seq, "ref_bits": c.ref_bits}),
    );
    let ports = h.ports().map_or(Value::Null, |p| json!({"src": p.src, "dst": p.dst, "bits": p.bits}));
    let elements: Vec<Value> =
        h.elements().map(|e| json!({"iei": e.iei, "data_hex": hex::encode_lower(e.data)})).collect();
    json!({"concat": concat, "ports": ports, "elements": elements})
}

#[cfg(test)]
mod tests {
    use super::*;

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
