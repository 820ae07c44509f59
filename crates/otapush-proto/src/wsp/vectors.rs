//! Real-world and hand-derived Push PDUs. Each vector names its source; hand-made ones
//! explain every octet group. Published vectors are facts (octets), not code.
//!
//! Built for this crate's tests, and with feature `test-vectors` for the daemon crate's.
#![cfg_attr(not(test), allow(dead_code, unused_imports))]

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let compact: String = s.split_whitespace().collect();
    crate::hex::decode(&compact).unwrap()
}

fn pairs(v: &[(&'static str, &'static str)]) -> Vec<Pair<'static>> {
    v.iter().map(|&(a, b)| (Cow::Borrowed(a), Cow::Borrowed(b))).collect()
}

/// mmsd `unit/test-wsputil.c` `push1` (NeoSMatrix/oFono copy of mmsd): MMS notification,
/// content type as text, X-Wap-Application-Id 0x84 (mms.ua), Push-Flag 0x86.
const MMSD_PUSH1: &str = "01 06 24
    6170706C69636174696F6E2F766E642E7761702E6D6D732D6D65737361676500
    AF84 B486
    8C82984F67514B4B42008D9089088045726F74696B00965069 6E2D557073008A808E0240008805810303F48083687474703A2F2F657073332E64652F4F2F5A39495A4F00";

#[test]
fn mmsd_mms_notification_text_content_type() {
    let pdu = hex(MMSD_PUSH1);
    let p = parse(&pdu).unwrap();
    assert_eq!(p.tid, 1);
    assert_eq!(p.pdu_type, PduType::Push);
    assert_eq!(p.content_type, "application/vnd.wap.mms-message");
    assert!(p.content_type_params.is_empty());
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:mms.ua"));
    assert_eq!(p.headers, pairs(&[("X-Wap-Application-Id", "x-wap-application:mms.ua"), ("Push-Flag", "6")]));
    // mmsd's test prints "Body Length: 68"; the body starts with X-Mms-Message-Type (0x8C)
    // m-notification-ind (0x82).
    assert_eq!(p.body.len(), 68);
    assert_eq!(&p.body[..2], &[0x8C, 0x82]);
    assert_eq!(p.headers_raw.len(), 0x24);
}

/// mmsd `push2`: Content-Length 0x5C (92) but 93 body octets follow (lenient: both kept).
const MMSD_PUSH2: &str = "00 06 24
    6170706C69636174696F6E2F766E642E7761702E6D6D732D6D65737361676500
    AF84 8DDC
    8C8298774C4A655437544875008D9089178031353535313233303030302F545950453D504C4D4E00
    8A808E025A1D8805810303F48083687474703A2F2F6D6D736331313A31303032312F6D6D73632F315F313F774C4A655437544875 00";

#[test]
fn mmsd_content_length_disagreeing_with_body() {
    let pdu = hex(MMSD_PUSH2);
    let p = parse(&pdu).unwrap();
    assert_eq!(p.tid, 0);
    assert_eq!(p.header("content-length"), Some("92"));
    assert_eq!(p.body.len(), 93);
    assert_eq!(p.body, &pdu[3 + 0x24..]);
}

/// mmsd `push3` (DRM rights, 0xCB) and `push4` (SyncML DM notification, 0xC4): general
/// short content type codes and app ids 0x88 (drm.ua) and 0x87 (syncml.dm).
#[test]
fn mmsd_drm_and_dm_pushes() {
    let drm = hex("4C 06 03 CB AF88
        030E6A00C505850686078701464703312E30000101494A4648036369643A32303035406772616E6A652E636F6D00
        01014B4CC310F1F77C3795D33965841E4A27A6C271DB0101014D4F52530332000101010101 01");
    let p = parse(&drm).unwrap();
    assert_eq!((p.tid, p.content_type.as_ref()), (0x4C, "application/vnd.oma.drm.rights+wbxml"));
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:drm.ua"));
    // mmsd's test prints "Body Length: 84".
    assert_eq!(p.body.len(), 84);

    let dm = hex("B7 06 03 C4 AF87 00EFC4297546CAD6C55108F160BDB80003380000000048 0866756E616D626F6C");
    let p = parse(&dm).unwrap();
    assert_eq!((p.tid, p.content_type.as_ref()), (0xB7, "application/vnd.syncml.notification"));
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:syncml.dm"));
    assert_eq!(p.body.len(), 32);
}

/// mmsd `push5`: OMA-CP provisioning, Content-general-form with Length-quote (0x1F 0x2D =
/// 45 octets): 0xB6 connectivity-wbxml, 0x91 SEC 0x81 (USERPIN), 0x92 MAC text.
const MMSD_PUSH5: &str = "C4 06 2F 1F2D B6 9181 92
    35394433364431344538383439394133443536454241364434463934413637303431424432413943 00
    030B6A0045C6000155018736060377320001872206034 94E5445524E4554000
    1C65901873A0603687474703A2F2F7573657270696E3132333400 01871C01010101";

#[test]
fn mmsd_oma_cp_with_sec_and_mac() {
    let pdu = hex(MMSD_PUSH5);
    let p = parse(&pdu).unwrap();
    assert_eq!(p.tid, 0xC4);
    assert_eq!(p.content_type, "application/vnd.wap.connectivity-wbxml");
    assert_eq!(
        p.content_type_params,
        pairs(&[("SEC", "USERPIN"), ("MAC", "59D36D14E88499A3D56EBA6D4F94A67041BD2A9C")])
    );
    assert_eq!(p.app_id, None);
    assert_eq!(p.app_id_or_default(), "x-wap-application:wml.ua");
    assert!(p.headers.is_empty());
    // mmsd's test prints "Body Length: 65".
    assert_eq!(p.body.len(), 65);
}

/// NowSMS support forum ("WAP Push encoding - Length Quote", 2008): OMA-CP with SEC 0x80
/// (NETWPIN), MAC, Push-Flag 0x81, X-Wap-Initiator-URI and app id 0x80 (`*`). The post
/// shows only the start of the body; those octets are used.
#[test]
fn nowsms_oma_cp_netwpin_initiator_uri() {
    let pdu = hex("01 06 44 1F2D B6 9180 92
        3441343734423945463131463132364539343344323136303934453446443830313635353244343700
        B481 B1 687474703A2F2F64656D6F2E646B2F00 AF80
        030B6A0045C6000205 01C60000500 34D540001870002060000060368747470 3A2F2F6D6F6269");
    let p = parse(&pdu).unwrap();
    assert_eq!(
        p.content_type_params,
        pairs(&[("SEC", "NETWPIN"), ("MAC", "4A474B9EF11F126E943D216094E4FD8016552D47")])
    );
    assert_eq!(
        p.headers,
        pairs(&[
            ("Push-Flag", "1"),
            ("X-Wap-Initiator-URI", "http://demo.dk/"),
            ("X-Wap-Application-Id", "x-wap-application:*"),
        ])
    );
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:*"));
    assert_eq!(p.body.len(), 38);
}

/// SI push from people.dsv.su.se/~rbbo/proj/sms.htm: Content-general-form of length 1
/// (0x01 0xAE), app id 0x82 (wml.ua), Push-Flag 0x85. The body is the page's WBXML up to
/// the URL and the start of the text, closed by hand (0x00 0x01 0x01).
#[test]
fn dsv_si_general_form_length_one() {
    let pdu = hex("01 06 06 01AE AF82 B485
        0205040045C60C03 70656F706C652E6473762E73752E73652F7E7262626F2F70726F6A2F696E64782E706870 00
        0801 03 4A6F696E206F7572 00 0101");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.content_type, "application/vnd.wap.sic");
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:wml.ua"));
    assert_eq!(p.header("Push-Flag"), Some("5"));
    assert_eq!(&p.body[..4], &[0x02, 0x05, 0x04, 0x00]);
}

/// SI push from commzgate.com ("How to format a WAP Push message", 2007): HeadersLen 1,
/// 0xAE only, no app id.
#[test]
fn commzgate_si_without_app_id() {
    let pdu = hex("DC 06 01 AE 02056A0045C60C03 7777772e636f6d6d7a676174652e636f6d2f6b6f6e672f6b6f6e672e676966 0001034b6f6e67000101");
    let p = parse(&pdu).unwrap();
    assert_eq!((p.tid, p.content_type.as_ref()), (0xDC, "application/vnd.wap.sic"));
    assert_eq!(p.app_id, None);
    assert_eq!(p.app_id_or_default(), "x-wap-application:wml.ua");
    assert!(p.headers.is_empty());
    assert_eq!(p.body.len(), pdu.len() - 4);
}

/// SI push from wiki.triangle-solutions.com "SMS_WAP": 0xAE followed by 0x81 0xEA, which a
/// WSP decoder reads as the header Accept-Charset (1.1 encoding) = utf-8.
#[test]
fn triangle_si_with_accept_charset_header() {
    let pdu =
        hex("03 06 03 AE 81EA 03056A0045C60C03 7761702E383035303800 85 03 7761702E7068703F65693D3100 01
        03 546869732069732061 6E20534920746573740 00101");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.content_type, "application/vnd.wap.sic");
    assert_eq!(p.headers, pairs(&[("Accept-Charset", "utf-8")]));
    assert_eq!(&p.body[..3], &[0x03, 0x05, 0x6A]);
}

/// SI push from 9cbs.com/read-32355 (after cnblogs): Content-general-form 0x03 0xAE 0x81
/// 0xEA (charset=utf-8), then Content-Length 0xCA (74). The URL octets on that page are
/// garbled; the body here is its structure with the URL `ims.nease.net` re-encoded, so it
/// is shorter than 74 octets: the mismatch is kept.
#[test]
fn cnblogs_si_charset_param_and_content_length() {
    let pdu = hex("29 06 06 03AE81EA 8DCA
        02056A0045C6080C03 696D732E6E656173652E6E6574 00 01 03 E796AFE78B82E79FADE4BFA1 00 0101");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.content_type, "application/vnd.wap.sic");
    assert_eq!(p.content_type_params, pairs(&[("charset", "utf-8")]));
    assert_eq!(p.header("Content-Length"), Some("74"));
    assert_eq!(p.body.len(), 40);
}

/// NowSMS support forum ("WSP Headers (wap push)", 2009): 0xAE, Content-Length 0xC7 (71),
/// Encoding-Version 0x93 (1.3); and the same with Authorization Basic "foo"/"bar".
#[test]
fn nowsms_encoding_version_and_authorization() {
    let pdu = hex("02 06 05 AE 8DC7 C393");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.headers, pairs(&[("Content-Length", "71"), ("Encoding-Version", "1.3")]));
    assert!(p.body.is_empty());
    let pdu = hex("00 06 10 AE 87 09 80 666F6F00 62617200 8DC7 C393");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.header("Authorization"), Some("Basic Zm9vOmJhcg=="));
    assert_eq!(p.headers.len(), 3);
}

/// python-messaging `messaging/test/test_wap.py` (pmarti): a two-segment MMS notification;
/// this is the user data of both SMS after their UDHs (ref 0x9F8E, ports 2948 ← 9200),
/// concatenated. HeadersLen 0x22, content type as text, app id 0x84.
pub const PYMESSAGING_SEGMENTS: [&str; 2] = [
    "0106226170706c69636174696f6e2f766e642e7761702e6d6d732d6d65737361676500af848c82984e4f4b35\
     43694b636f544d595347344d4253774141734b7631344655484141414141414141008d908919802b3434373738\
     353334323734392f545950453d504c4d4e008a808e0274008805810301194083687474703a2f",
    "2f70726f6d6d732f736572766c6574732f4e4f4b3543694b636f544d595347344d4253774141734b76313446\
     5548414141414141414100",
];

#[test]
fn python_messaging_two_segment_mms_notification() {
    let mut pdu = hex(PYMESSAGING_SEGMENTS[0]);
    pdu.extend(hex(PYMESSAGING_SEGMENTS[1]));
    let p = parse(&pdu).unwrap();
    assert_eq!(p.content_type, "application/vnd.wap.mms-message");
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:mms.ua"));
    // The body ends with the Content-Location the test expects.
    assert!(p.body.ends_with(b"http://promms/servlets/NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA\0"));
    // One segment alone is a valid push with a truncated body: WSP cannot tell.
    assert!(parse(&hex(PYMESSAGING_SEGMENTS[0])).is_ok());
}

/// Derived: MMS notification with content type 0xBE (0x80 | 0x3E) and app id 0x84.
/// TID 0x2A, Push, HeadersLen 3, 0xBE, 0xAF 0x84, body 0x8C 0x82 0x98 "t" NUL.
#[test]
fn derived_mms_short_content_type() {
    let pdu = hex("2A 06 03 BE AF84 8C8298 7400");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.content_type, "application/vnd.wap.mms-message");
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:mms.ua"));
    assert_eq!(p.body, &[0x8C, 0x82, 0x98, 0x74, 0x00]);
}

/// Derived SL push: TID 0x0B, Push, HeadersLen 3, 0xB0 (slc), 0xAF 0x82 (wml.ua); the body
/// is the SL WBXML mobiletidings.com published for `<sl href="http://mobiletidings.com/"/>`
/// (02 version 1.2, 06 SL 1.0, 6A utf-8, 00 string table, 85 sl, 09 href="http://", 03 text).
#[test]
fn derived_sl_push() {
    let pdu = hex("0B 06 03 B0 AF82 02066A008509036D6F62696C65746964696E67732E636F6D2F0001");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.content_type, "application/vnd.wap.slc");
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:wml.ua"));
    assert_eq!(p.body.len(), 27);
}

/// Derived ConfirmedPush: mmsd's `push4` with the PDU type octet changed to 0x07.
#[test]
fn derived_confirmed_push() {
    let mut pdu = hex("B7 06 03 C4 AF87 00EFC4297546CAD6C55108F160BDB80003380000000048 0866756E616D626F6C");
    pdu[1] = 0x07;
    let p = parse(&pdu).unwrap();
    assert_eq!(p.pdu_type, PduType::ConfirmedPush);
    assert_eq!(p.pdu_type.as_str(), "confirmed-push");
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:syncml.dm"));
}

/// Derived: app id as Long-integer 0x8002 (x-wap-docomo:imode.mail.ua).
/// TID 5, Push, HeadersLen 5, 0xB0, 0xAF then Long-integer length 2 0x80 0x02.
#[test]
fn derived_long_integer_app_id() {
    let pdu = hex("05 06 05 B0 AF 02 8002 AA");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.app_id.as_deref(), Some("x-wap-docomo:imode.mail.ua"));
    let pdu = hex("05 06 05 B0 AF 02 9001 AA");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:36865"));
}

/// Derived SUPL INIT push: content type 0x0312 as Long-integer inside the general form
/// (0x03 length, 0x02 0x03 0x12), app id as URN text `x-oma-application:ulp.ua` NUL.
#[test]
fn derived_urn_app_id_and_registered_content_type() {
    let pdu = hex("07 06 1E 03 02 0312 AF 782D6F6D612D6170706C69636174696F6E3A756C702E756100 0001");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.content_type, "application/vnd.omaloc-supl-init");
    assert_eq!(p.app_id.as_deref(), Some("x-oma-application:ulp.ua"));
    assert_eq!(p.body, &[0x00, 0x01]);
}

/// Derived: unknown content type code 0x5A (octet 0xDA) does not fail the push.
#[test]
fn derived_unknown_content_type() {
    let pdu = hex("01 06 03 DA AF84 FF");
    let p = parse(&pdu).unwrap();
    assert_eq!(p.content_type, "application/x-wsp-0x5a");
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:mms.ua"));
}

/// Errors on lying input, each with its offset.
#[test]
fn truncated_and_lying_pdus() {
    // HeadersLen 0x25 where mmsd's push1 has 0x24 and only 0x24 + 68 octets follow: fine
    // (the body shrinks); 0x7F is past the end.
    let mut pdu = hex(MMSD_PUSH1);
    pdu[2] = 0x7F;
    assert_eq!(parse(&pdu), Err(WspError::HeadersPastEnd { offset: 2, len: 0x7F, available: 0x24 + 68 }));
    // HeadersLen cuts the text content type before its NUL.
    pdu[2] = 0x10;
    assert_eq!(parse(&pdu), Err(WspError::Unterminated { what: "Content-Type", offset: 3 }));
    // HeadersLen cuts the app id header after its name octet.
    let pdu = hex("01 06 02 BE AF 84");
    assert_eq!(parse(&pdu), Err(WspError::Truncated { what: "header value", offset: 5 }));
    // A text header without NUL inside HeadersLen.
    let pdu = hex("01 06 05 BE B1 6162 63");
    assert_eq!(parse(&pdu), Err(WspError::Unterminated { what: "header value", offset: 5 }));
    // A 6-octet uintvar HeadersLen.
    assert_eq!(
        parse(&hex("01 06 8080808080 00")),
        Err(WspError::UintvarTooLong { what: "HeadersLen", offset: 2 })
    );
    assert_eq!(
        parse(&hex("01 06 90808080 00")),
        Err(WspError::IntegerOverflow { what: "HeadersLen", offset: 2 })
    );
    assert_eq!(parse(&hex("01 06")), Err(WspError::Truncated { what: "HeadersLen", offset: 2 }));
    assert_eq!(parse(&hex("01")), Err(WspError::Truncated { what: "PDU type", offset: 1 }));
    assert_eq!(parse(&[]), Err(WspError::Truncated { what: "TID", offset: 0 }));
    assert_eq!(parse(&hex("01 40 00")), Err(WspError::NotPush { pdu_type: 0x40 }));
    // HeadersLen 0: no content type at all.
    assert_eq!(parse(&hex("01 06 00 AE")), Err(WspError::Truncated { what: "Content-Type", offset: 3 }));
    assert!(!looks_like_push(&hex("01 40")));
    assert!(looks_like_push(&hex("01 07")));
}

#[test]
fn maps_join_repeated_names() {
    let pdu = hex("01 06 07 AE 8D85 8D86 B481");
    let p = parse(&pdu).unwrap();
    let m = p.headers_map();
    assert_eq!(m.get("Content-Length").map(String::as_str), Some("5, 6"));
    assert_eq!(m.get("Push-Flag").map(String::as_str), Some("1"));
}
