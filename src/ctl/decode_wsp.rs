//! `otapushctl decode wsp HEX`: one WSP Push PDU as a JSON object (docs/cli.md).

use super::json::Hex;
use crate::wsp::{self, PushPdu};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Decodes a Push or ConfirmedPush PDU into `{tid, pdu_type, content_type,
/// content_type_params, app_id, headers, body_hex}`; the error is the decoder's message.
pub fn decode_wsp_json(pdu: &[u8]) -> Result<Value, String> {
    let p = wsp::parse(pdu).map_err(|e| e.to_string())?;
    super::json::to_value(&WspRecord::new(&p)).map_err(|e| e.to_string())
}

/// The WSP fields of a push (WAP-230 §8.2.4.1), also flattened into `decode push` records.
/// Repeated header or parameter names are joined with `, `; `app_id` is null when absent.
#[derive(Serialize)]
pub struct WspRecord<'a> {
    tid: u8,
    pdu_type: &'static str,
    content_type: String,
    content_type_params: BTreeMap<String, String>,
    app_id: Option<String>,
    headers: BTreeMap<String, String>,
    body_hex: Hex<'a>,
}

impl<'a> WspRecord<'a> {
    pub fn new(p: &PushPdu<'a>) -> Self {
        WspRecord {
            tid: p.tid,
            pdu_type: p.pdu_type.as_str(),
            content_type: p.content_type.to_string(),
            content_type_params: p.content_type_params_map(),
            app_id: p.app_id.as_ref().map(|a| a.to_string()),
            headers: p.headers_map(),
            body_hex: Hex(p.body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode_wsp_hex(text: &str) -> Result<Value, String> {
        decode_wsp_json(&crate::hex::decode(text).map_err(|e| e.to_string())?)
    }

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
