//! `otapushctl decode wsp HEX`: one WSP Push PDU as a JSON object (docs/cli.md).

use crate::wsp::{self, PushPdu};
use serde_json::{Map, Value};

/// Decodes a Push or ConfirmedPush PDU into `{tid, pdu_type, content_type,
/// content_type_params, app_id, headers, body_hex}`; the error is the decoder's message.
pub fn decode_wsp_json(pdu: &[u8]) -> Result<Value, String> {
    let p = wsp::parse(pdu).map_err(|e| e.to_string())?;
    let mut obj = Map::new();
    insert_push_fields(&p, &mut obj);
    Ok(Value::Object(obj))
}

/// [`decode_wsp_json`] of hex text (either case, surrounding white space ignored).
pub fn decode_wsp_hex(text: &str) -> Result<Value, String> {
    let pdu = crate::hex::decode(text).map_err(|e| e.to_string())?;
    decode_wsp_json(&pdu)
}

/// Adds the WSP fields of `p` to `obj` (also used by `decode push`). Repeated header or
/// parameter names are joined with `, `; `app_id` is null when the push has none.
pub fn insert_push_fields(p: &PushPdu<'_>, obj: &mut Map<String, Value>) {
    let map = |m: std::collections::BTreeMap<String, String>| {
        Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
    };
    obj.insert("tid".into(), p.tid.into());
    obj.insert("pdu_type".into(), p.pdu_type.as_str().into());
    obj.insert("content_type".into(), p.content_type.to_string().into());
    obj.insert("content_type_params".into(), map(p.content_type_params_map()));
    obj.insert("app_id".into(), p.app_id.as_ref().map_or(Value::Null, |a| Value::String(a.to_string())));
    obj.insert("headers".into(), map(p.headers_map()));
    obj.insert("body_hex".into(), crate::hex::encode_lower(p.body).into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn oma_cp_push_as_json() {
        // TID 0xC4, Push, HeadersLen 10: Value-length 7, 0xB6 connectivity-wbxml, SEC (0x91)
        // USERPIN (0x81), MAC (0x92) "AB" NUL; Push-Flag (0xB4) 1 (0x81); body 0x02 0x06.
        let v = decode_wsp_hex("C4060A07B6918192414200B4810206").unwrap();
        assert_eq!(
            v,
            json!({
                "tid": 196,
                "pdu_type": "push",
                "content_type": "application/vnd.wap.connectivity-wbxml",
                "content_type_params": {"SEC": "USERPIN", "MAC": "AB"},
                "app_id": null,
                "headers": {"Push-Flag": "1"},
                "body_hex": "0206"
            })
        );
    }

    #[test]
    fn confirmed_mms_push_as_json() {
        // TID 1, ConfirmedPush, HeadersLen 5: 0xBE mms-message, 0xAF 0x84 mms.ua, Content-Length
        // (0x8D) 2 (0x82); body 0x8C 0x82.
        let v = decode_wsp_json(&[0x01, 0x07, 0x05, 0xBE, 0xAF, 0x84, 0x8D, 0x82, 0x8C, 0x82]).unwrap();
        assert_eq!(v["pdu_type"], "confirmed-push");
        assert_eq!(v["app_id"], "x-wap-application:mms.ua");
        assert_eq!(
            v["headers"],
            json!({"X-Wap-Application-Id": "x-wap-application:mms.ua", "Content-Length": "2"})
        );
        assert_eq!(v["content_type_params"], json!({}));
        assert_eq!(v["body_hex"], "8c82");
        assert_eq!(v.as_object().map(|o| o.len()), Some(7));
    }

    #[test]
    fn errors_name_what_and_where() {
        assert_eq!(
            decode_wsp_json(&[0x01, 0x40]),
            Err("PDU type 0x40 at offset 1 is neither Push (0x06) nor ConfirmedPush (0x07)".into())
        );
        assert_eq!(
            decode_wsp_json(&[0x01, 0x06, 0x09, 0xAE]),
            Err("HeadersLen 9 at offset 2 runs past the end of the PDU (1 octets left)".into())
        );
        assert!(decode_wsp_hex("0g").unwrap_err().contains("invalid hex digit"));
    }
}
