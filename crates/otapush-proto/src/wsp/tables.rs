//! WSP and OMNA number tables (WAP-230 Appendix A; OMNA registries), cross-checked against
//! AOSP's WapPushManager tests, Kannel's wsp-strings.def and Wireshark's packet-wsp.c.
//!
//! Every lookup is by number → name for decoding and name → number (ASCII case-insensitive)
//! for encoding.

/// Well-known content types 0x00–0x54 (WAP-230 Table 40, OMNA WSP content types).
///
/// 0x0A and 0x16 carry the OMNA names. 0x0E is spelled `multipart/byterantes` in the OMNA
/// registry; we print the real media type `multipart/byteranges` and accept both when encoding.
const CONTENT_TYPES: [&str; 0x55] = [
    "*/*",
    "text/*",
    "text/html",
    "text/plain",
    "text/x-hdml",
    "text/x-ttml",
    "text/x-vCalendar",
    "text/x-vCard",
    "text/vnd.wap.wml",
    "text/vnd.wap.wmlscript",
    "text/vnd.wap.wta-event",
    "multipart/*",
    "multipart/mixed",
    "multipart/form-data",
    "multipart/byteranges",
    "multipart/alternative",
    "application/*",
    "application/java-vm",
    "application/x-www-form-urlencoded",
    "application/x-hdmlc",
    "application/vnd.wap.wmlc",
    "application/vnd.wap.wmlscriptc",
    "application/vnd.wap.wta-eventc",
    "application/vnd.wap.uaprof",
    "application/vnd.wap.wtls-ca-certificate",
    "application/vnd.wap.wtls-user-certificate",
    "application/x-x509-ca-cert",
    "application/x-x509-user-cert",
    "image/*",
    "image/gif",
    "image/jpeg",
    "image/tiff",
    "image/png",
    "image/vnd.wap.wbmp",
    "application/vnd.wap.multipart.*",
    "application/vnd.wap.multipart.mixed",
    "application/vnd.wap.multipart.form-data",
    "application/vnd.wap.multipart.byteranges",
    "application/vnd.wap.multipart.alternative",
    "application/xml",
    "text/xml",
    "application/vnd.wap.wbxml",
    "application/x-x968-cross-cert",
    "application/x-x968-ca-cert",
    "application/x-x968-user-cert",
    "text/vnd.wap.si",
    "application/vnd.wap.sic",
    "text/vnd.wap.sl",
    "application/vnd.wap.slc",
    "text/vnd.wap.co",
    "application/vnd.wap.coc",
    "application/vnd.wap.multipart.related",
    "application/vnd.wap.sia",
    "text/vnd.wap.connectivity-xml",
    "application/vnd.wap.connectivity-wbxml",
    "application/pkcs7-mime",
    "application/vnd.wap.hashed-certificate",
    "application/vnd.wap.signed-certificate",
    "application/vnd.wap.cert-response",
    "application/xhtml+xml",
    "application/wml+xml",
    "text/css",
    "application/vnd.wap.mms-message",
    "application/vnd.wap.rollover-certificate",
    "application/vnd.wap.locc+wbxml",
    "application/vnd.wap.loc+xml",
    "application/vnd.syncml.dm+wbxml",
    "application/vnd.syncml.dm+xml",
    "application/vnd.syncml.notification",
    "application/vnd.wap.xhtml+xml",
    "application/vnd.wv.csp.cir",
    "application/vnd.oma.dd+xml",
    "application/vnd.oma.drm.message",
    "application/vnd.oma.drm.content",
    "application/vnd.oma.drm.rights+xml",
    "application/vnd.oma.drm.rights+wbxml",
    "application/vnd.wv.csp+xml",
    "application/vnd.wv.csp+wbxml",
    "application/vnd.syncml.ds.notification",
    "audio/*",
    "video/*",
    "application/vnd.oma.dd2+xml",
    "application/mikey",
    "application/vnd.oma.dcd",
    "application/vnd.oma.dcdc",
];

/// Registered content types encoded as Long-integer, 0x0201–0x020C (OMNA WSP content types).
const CONTENT_TYPES_0200: [&str; 12] = [
    "application/vnd.uplanet.cacheop-wbxml",
    "application/vnd.uplanet.signal",
    "application/vnd.uplanet.alert-wbxml",
    "application/vnd.uplanet.list-wbxml",
    "application/vnd.uplanet.listcmd-wbxml",
    "application/vnd.uplanet.channel-wbxml",
    "application/vnd.uplanet.provisioning-status-uri",
    "x-wap.multipart/vnd.uplanet.header-set",
    "application/vnd.uplanet.bearer-choice-wbxml",
    "application/vnd.phonecom.mmc-wbxml",
    "application/vnd.nokia.syncset+wbxml",
    "image/x-up-wpng",
];

/// Registered content types encoded as Long-integer, 0x0300–0x031B (OMNA WSP content types).
const CONTENT_TYPES_0300: [&str; 0x1C] = [
    "application/iota.mmc-wbxml",
    "application/iota.mmc-xml",
    "application/vnd.syncml+xml",
    "application/vnd.syncml+wbxml",
    "text/vnd.wap.emn+xml",
    "text/calendar",
    "application/vnd.omads-email+xml",
    "application/vnd.omads-file+xml",
    "application/vnd.omads-folder+xml",
    "text/directory;profile=vCard",
    "application/vnd.wap.emn+wbxml",
    "application/vnd.nokia.ipdc-purchase-response",
    "application/vnd.motorola.screen3+xml",
    "application/vnd.motorola.screen3+gzip",
    "application/vnd.cmcc.setting+wbxml",
    "application/vnd.cmcc.bombing+wbxml",
    "application/vnd.docomo.pf",
    "application/vnd.docomo.ub",
    "application/vnd.omaloc-supl-init",
    "application/vnd.oma.group-usage-list+xml",
    "application/oma-directory+xml",
    "application/vnd.docomo.pf2",
    "application/vnd.oma.drm.roap-trigger+wbxml",
    "application/vnd.sbm.mid2",
    "application/vnd.wmf.bootstrap",
    // sic: "vnc", as registered.
    "application/vnc.cmcc.dcd+xml",
    "application/vnd.sbm.cid",
    "application/vnd.oma.bcast.provisioningtrigger",
];

/// The name of a well-known (0x00–0x54) or registered (0x0201–…) content type code.
pub fn content_type_name(code: u64) -> Option<&'static str> {
    let c = usize::try_from(code).ok()?;
    match c {
        0..=0x54 => CONTENT_TYPES.get(c).copied(),
        0x0201..=0x020C => CONTENT_TYPES_0200.get(c - 0x0201).copied(),
        0x0300..=0x031B => CONTENT_TYPES_0300.get(c - 0x0300).copied(),
        _ => None,
    }
}

/// The code of a content type name (case-insensitive), well-known or registered.
pub fn content_type_code(name: &str) -> Option<u64> {
    if name.eq_ignore_ascii_case("multipart/byterantes") {
        return Some(0x0E);
    }
    let find =
        |t: &[&str], base: u64| t.iter().position(|n| n.eq_ignore_ascii_case(name)).map(|i| base + i as u64);
    find(&CONTENT_TYPES, 0)
        .or_else(|| find(&CONTENT_TYPES_0200, 0x0201))
        .or_else(|| find(&CONTENT_TYPES_0300, 0x0300))
}

/// OMNA push application ids with Short-integer codes 0x00–0x0A (OMNA Push Application IDs).
const APP_IDS: [&str; 11] = [
    "x-wap-application:*",
    "x-wap-application:push.sia",
    "x-wap-application:wml.ua",
    "x-wap-application:wta.ua",
    "x-wap-application:mms.ua",
    "x-wap-application:push.syncml",
    "x-wap-application:loc.ua",
    "x-wap-application:syncml.dm",
    "x-wap-application:drm.ua",
    "x-wap-application:emn.ua",
    "x-wap-application:wv.ua",
];

/// OMNA push application ids with Long-integer codes (OMNA Push Application IDs).
const APP_IDS_8000: [(u64, &str); 12] = [
    (0x8000, "x-wap-microsoft:localcontent.ua"),
    (0x8001, "x-wap-microsoft:IMclient.ua"),
    (0x8002, "x-wap-docomo:imode.mail.ua"),
    (0x8003, "x-wap-docomo:imode.mr.ua"),
    (0x8004, "x-wap-docomo:imode.mf.ua"),
    (0x8005, "x-motorola:location.ua"),
    (0x8006, "x-motorola:now.ua"),
    (0x8007, "x-motorola:otaprov.ua"),
    (0x8008, "x-motorola:browser.ua"),
    (0x8009, "x-motorola:splash.ua"),
    (0x800B, "x-wap-nai:mvsw.command"),
    (0x8010, "x-wap-openwave:iota.ua"),
];

/// The application id a push without X-Wap-Application-Id is addressed to (WAP-235 §7.1).
pub const DEFAULT_APP_ID: &str = "x-wap-application:wml.ua";

/// The URN of an application id code.
pub fn app_id_name(code: u64) -> Option<&'static str> {
    match usize::try_from(code) {
        Ok(c @ 0..=0x0A) => APP_IDS.get(c).copied(),
        _ => APP_IDS_8000.iter().find(|(c, _)| *c == code).map(|(_, n)| *n),
    }
}

/// The code of an application id URN (exact match, as the decoder prints it).
pub fn app_id_code(urn: &str) -> Option<u64> {
    if let Some(i) = APP_IDS.iter().position(|n| *n == urn) {
        return Some(i as u64);
    }
    APP_IDS_8000.iter().find(|(_, n)| *n == urn).map(|(c, _)| *c)
}

/// Well-known header field names 0x00–0x47, WSP encoding versions 1.1–1.4 (Table 39,
/// WAP-230 Appendix A). Deprecated 1.1 encodings and their 1.3/1.4 replacements share a name.
const HEADERS: [&str; 0x48] = [
    "Accept",
    "Accept-Charset",
    "Accept-Encoding",
    "Accept-Language",
    "Accept-Ranges",
    "Age",
    "Allow",
    "Authorization",
    "Cache-Control",
    "Connection",
    "Content-Base",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Location",
    "Content-MD5",
    "Content-Range",
    "Content-Type",
    "Date",
    "Etag",
    "Expires",
    "From",
    "Host",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Range",
    "If-Unmodified-Since",
    "Location",
    "Last-Modified",
    "Max-Forwards",
    "Pragma",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Public",
    "Range",
    "Referer",
    "Retry-After",
    "Server",
    "Transfer-Encoding",
    "Upgrade",
    "User-Agent",
    "Vary",
    "Via",
    "Warning",
    "WWW-Authenticate",
    "Content-Disposition",
    "X-Wap-Application-Id",
    "X-Wap-Content-URI",
    "X-Wap-Initiator-URI",
    "Accept-Application",
    "Bearer-Indication",
    "Push-Flag",
    "Profile",
    "Profile-Diff",
    "Profile-Warning",
    "Expect",
    "TE",
    "Trailer",
    "Accept-Charset",
    "Accept-Encoding",
    "Cache-Control",
    "Content-Range",
    "X-Wap-Tod",
    "Content-ID",
    "Set-Cookie",
    "Cookie",
    "Encoding-Version",
    "Profile-Warning",
    "Content-Disposition",
    "X-WAP-Security",
    "Cache-Control",
];

/// Header field codes (Table 39), for the decoder and encoder matches. The whole table, used or
/// not, so it reads against the specification.
#[allow(dead_code)]
pub(crate) mod header {
    pub(crate) const ACCEPT: u8 = 0x00;
    pub(crate) const ACCEPT_CHARSET_1_1: u8 = 0x01;
    pub(crate) const ACCEPT_ENCODING_1_1: u8 = 0x02;
    pub(crate) const ACCEPT_LANGUAGE: u8 = 0x03;
    pub(crate) const ACCEPT_RANGES: u8 = 0x04;
    pub(crate) const AGE: u8 = 0x05;
    pub(crate) const ALLOW: u8 = 0x06;
    pub(crate) const AUTHORIZATION: u8 = 0x07;
    pub(crate) const CACHE_CONTROL_1_1: u8 = 0x08;
    pub(crate) const CONNECTION: u8 = 0x09;
    pub(crate) const CONTENT_BASE: u8 = 0x0A;
    pub(crate) const CONTENT_ENCODING: u8 = 0x0B;
    pub(crate) const CONTENT_LANGUAGE: u8 = 0x0C;
    pub(crate) const CONTENT_LENGTH: u8 = 0x0D;
    pub(crate) const CONTENT_LOCATION: u8 = 0x0E;
    pub(crate) const CONTENT_MD5: u8 = 0x0F;
    pub(crate) const CONTENT_RANGE_1_1: u8 = 0x10;
    pub(crate) const CONTENT_TYPE: u8 = 0x11;
    pub(crate) const DATE: u8 = 0x12;
    pub(crate) const ETAG: u8 = 0x13;
    pub(crate) const EXPIRES: u8 = 0x14;
    pub(crate) const FROM: u8 = 0x15;
    pub(crate) const HOST: u8 = 0x16;
    pub(crate) const IF_MODIFIED_SINCE: u8 = 0x17;
    pub(crate) const IF_MATCH: u8 = 0x18;
    pub(crate) const IF_NONE_MATCH: u8 = 0x19;
    pub(crate) const IF_RANGE: u8 = 0x1A;
    pub(crate) const IF_UNMODIFIED_SINCE: u8 = 0x1B;
    pub(crate) const LOCATION: u8 = 0x1C;
    pub(crate) const LAST_MODIFIED: u8 = 0x1D;
    pub(crate) const MAX_FORWARDS: u8 = 0x1E;
    pub(crate) const PRAGMA: u8 = 0x1F;
    pub(crate) const PROXY_AUTHENTICATE: u8 = 0x20;
    pub(crate) const PROXY_AUTHORIZATION: u8 = 0x21;
    pub(crate) const PUBLIC: u8 = 0x22;
    pub(crate) const RANGE: u8 = 0x23;
    pub(crate) const REFERER: u8 = 0x24;
    pub(crate) const RETRY_AFTER: u8 = 0x25;
    pub(crate) const SERVER: u8 = 0x26;
    pub(crate) const TRANSFER_ENCODING: u8 = 0x27;
    pub(crate) const UPGRADE: u8 = 0x28;
    pub(crate) const USER_AGENT: u8 = 0x29;
    pub(crate) const VARY: u8 = 0x2A;
    pub(crate) const VIA: u8 = 0x2B;
    pub(crate) const WARNING: u8 = 0x2C;
    pub(crate) const WWW_AUTHENTICATE: u8 = 0x2D;
    pub(crate) const CONTENT_DISPOSITION_1_1: u8 = 0x2E;
    pub(crate) const X_WAP_APPLICATION_ID: u8 = 0x2F;
    pub(crate) const X_WAP_CONTENT_URI: u8 = 0x30;
    pub(crate) const X_WAP_INITIATOR_URI: u8 = 0x31;
    pub(crate) const ACCEPT_APPLICATION: u8 = 0x32;
    pub(crate) const BEARER_INDICATION: u8 = 0x33;
    pub(crate) const PUSH_FLAG: u8 = 0x34;
    pub(crate) const PROFILE: u8 = 0x35;
    pub(crate) const PROFILE_DIFF: u8 = 0x36;
    pub(crate) const PROFILE_WARNING_1_2: u8 = 0x37;
    pub(crate) const EXPECT: u8 = 0x38;
    pub(crate) const TE: u8 = 0x39;
    pub(crate) const TRAILER: u8 = 0x3A;
    pub(crate) const ACCEPT_CHARSET: u8 = 0x3B;
    pub(crate) const ACCEPT_ENCODING: u8 = 0x3C;
    pub(crate) const CACHE_CONTROL_1_3: u8 = 0x3D;
    pub(crate) const CONTENT_RANGE: u8 = 0x3E;
    pub(crate) const X_WAP_TOD: u8 = 0x3F;
    pub(crate) const CONTENT_ID: u8 = 0x40;
    pub(crate) const SET_COOKIE: u8 = 0x41;
    pub(crate) const COOKIE: u8 = 0x42;
    pub(crate) const ENCODING_VERSION: u8 = 0x43;
    pub(crate) const PROFILE_WARNING: u8 = 0x44;
    pub(crate) const CONTENT_DISPOSITION: u8 = 0x45;
    pub(crate) const X_WAP_SECURITY: u8 = 0x46;
    pub(crate) const CACHE_CONTROL: u8 = 0x47;

    /// Fields whose value is an HTTP-date, sent as a Long-integer of seconds (WAP-230 §8.4.2.63).
    pub(crate) fn takes_date(code: u8) -> bool {
        matches!(code, DATE | EXPIRES | IF_MODIFIED_SINCE | IF_UNMODIFIED_SINCE | LAST_MODIFIED | X_WAP_TOD)
    }

    /// Fields whose value is Text-string (or Uri-value, Quoted-string) only (WAP-230 §8.4.2).
    pub(crate) fn takes_text(code: u8) -> bool {
        matches!(
            code,
            ETAG | FROM
                | HOST
                | IF_MATCH
                | IF_NONE_MATCH
                | SERVER
                | UPGRADE
                | USER_AGENT
                | VIA
                | CONTENT_BASE
                | CONTENT_LOCATION
                | LOCATION
                | REFERER
                | X_WAP_CONTENT_URI
                | X_WAP_INITIATOR_URI
                | PROFILE
                | CONTENT_ID
        )
    }
}

/// The name of a well-known header field code on the default code page.
pub fn header_name(code: u8) -> Option<&'static str> {
    HEADERS.get(code as usize).copied()
}

/// The code of a header name (case-insensitive). Names used by two encodings map to the
/// newest one (e.g. `Cache-Control` → 0x47).
pub fn header_code(name: &str) -> Option<u8> {
    HEADERS.iter().rposition(|n| n.eq_ignore_ascii_case(name)).map(|i| i as u8)
}

/// Well-known parameter names (WAP-230 Table 38). `SEC` and `MAC` are written in
/// upper case as OMA-CP (OMA-WAP-ProvBoot §5.3) writes them; the others as HTTP does.
const PARAMS: [Option<&str>; 0x1E] = [
    Some("q"),
    Some("charset"),
    Some("level"),
    Some("type"),
    None,
    Some("name"),
    Some("filename"),
    Some("differences"),
    Some("padding"),
    Some("type"),
    Some("start"),
    Some("start-info"),
    Some("comment"),
    Some("domain"),
    Some("max-age"),
    Some("path"),
    Some("secure"),
    Some("SEC"),
    Some("MAC"),
    Some("creation-date"),
    Some("modification-date"),
    Some("read-date"),
    Some("size"),
    Some("name"),
    Some("filename"),
    Some("start"),
    Some("start-info"),
    Some("comment"),
    Some("domain"),
    Some("path"),
];

/// Parameter codes (Table 38), for the decoder and encoder matches.
#[allow(dead_code)]
pub(crate) mod param {
    pub(crate) const Q: u8 = 0x00;
    pub(crate) const CHARSET: u8 = 0x01;
    pub(crate) const LEVEL: u8 = 0x02;
    pub(crate) const TYPE: u8 = 0x03;
    pub(crate) const NAME_1_1: u8 = 0x05;
    pub(crate) const FILENAME_1_1: u8 = 0x06;
    pub(crate) const DIFFERENCES: u8 = 0x07;
    pub(crate) const PADDING: u8 = 0x08;
    pub(crate) const TYPE_MULTIPART: u8 = 0x09;
    pub(crate) const START_1_2: u8 = 0x0A;
    pub(crate) const START_INFO_1_2: u8 = 0x0B;
    pub(crate) const COMMENT_1_3: u8 = 0x0C;
    pub(crate) const DOMAIN_1_3: u8 = 0x0D;
    pub(crate) const MAX_AGE: u8 = 0x0E;
    pub(crate) const PATH_1_3: u8 = 0x0F;
    pub(crate) const SECURE: u8 = 0x10;
    pub(crate) const SEC: u8 = 0x11;
    pub(crate) const MAC: u8 = 0x12;
    pub(crate) const CREATION_DATE: u8 = 0x13;
    pub(crate) const MODIFICATION_DATE: u8 = 0x14;
    pub(crate) const READ_DATE: u8 = 0x15;
    pub(crate) const SIZE: u8 = 0x16;
    pub(crate) const NAME: u8 = 0x17;
    pub(crate) const FILENAME: u8 = 0x18;
    pub(crate) const START: u8 = 0x19;
    pub(crate) const START_INFO: u8 = 0x1A;
    pub(crate) const COMMENT: u8 = 0x1B;
    pub(crate) const DOMAIN: u8 = 0x1C;
    pub(crate) const PATH: u8 = 0x1D;
}

/// The name of a well-known parameter code.
pub fn param_name(code: u8) -> Option<&'static str> {
    PARAMS.get(code as usize).copied().flatten()
}

/// Character sets by IANA MIBenum (WAP-230 Table 42, plus common IANA values).
const CHARSETS: [(u64, &str); 27] = [
    (3, "us-ascii"),
    (4, "iso-8859-1"),
    (5, "iso-8859-2"),
    (6, "iso-8859-3"),
    (7, "iso-8859-4"),
    (8, "iso-8859-5"),
    (9, "iso-8859-6"),
    (10, "iso-8859-7"),
    (11, "iso-8859-8"),
    (12, "iso-8859-9"),
    (13, "iso-8859-10"),
    (17, "shift_JIS"),
    (18, "euc-jp"),
    (38, "euc-kr"),
    (39, "iso-2022-jp"),
    (106, "utf-8"),
    (109, "iso-8859-13"),
    (111, "iso-8859-15"),
    (113, "gbk"),
    (114, "gb18030"),
    (1000, "iso-10646-ucs-2"),
    (1013, "utf-16be"),
    (1014, "utf-16le"),
    (1015, "utf-16"),
    (2025, "gb2312"),
    (2026, "big5"),
    (2084, "koi8-r"),
];

/// The name of a charset MIBenum; 0 is `*` (Any-charset).
pub fn charset_name(mib: u64) -> Option<&'static str> {
    if mib == 0 {
        return Some("*");
    }
    CHARSETS.iter().find(|(m, _)| *m == mib).map(|(_, n)| *n)
}

/// The MIBenum of a charset name (case-insensitive); `*` is 0.
pub fn charset_code(name: &str) -> Option<u64> {
    if name == "*" {
        return Some(0);
    }
    CHARSETS.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(m, _)| *m)
}

/// OMA-CP security methods, the value of the SEC parameter (OMA-WAP-ProvBoot §5.3).
const SEC_METHODS: [&str; 4] = ["NETWPIN", "USERPIN", "USERNETWPIN", "USERPINMAC"];

/// The name of a SEC method code.
pub fn sec_name(code: u8) -> Option<&'static str> {
    SEC_METHODS.get(code as usize).copied()
}

/// The code of a SEC method name (exact).
pub fn sec_code(name: &str) -> Option<u8> {
    SEC_METHODS.iter().position(|n| *n == name).map(|i| i as u8)
}

/// ISO 639 language codes (Table 41; values as listed in Kannel `gw/wsp-strings.def`).
const LANGUAGES: [(u8, &str); 136] = [
    (0x00, "*"),
    (0x01, "aa"),
    (0x02, "ab"),
    (0x03, "af"),
    (0x04, "am"),
    (0x05, "ar"),
    (0x06, "as"),
    (0x07, "ay"),
    (0x08, "az"),
    (0x09, "ba"),
    (0x0a, "be"),
    (0x0b, "bg"),
    (0x0c, "bh"),
    (0x0d, "bi"),
    (0x0e, "bn"),
    (0x0f, "bo"),
    (0x10, "br"),
    (0x11, "ca"),
    (0x12, "co"),
    (0x13, "cs"),
    (0x14, "cy"),
    (0x15, "da"),
    (0x16, "de"),
    (0x17, "dz"),
    (0x18, "el"),
    (0x19, "en"),
    (0x1a, "eo"),
    (0x1b, "es"),
    (0x1c, "et"),
    (0x1d, "eu"),
    (0x1e, "fa"),
    (0x1f, "fi"),
    (0x20, "fj"),
    (0x21, "ur"),
    (0x22, "fr"),
    (0x23, "uz"),
    (0x24, "ga"),
    (0x25, "gd"),
    (0x26, "gl"),
    (0x27, "gn"),
    (0x28, "gu"),
    (0x29, "ha"),
    (0x2a, "he"),
    (0x2b, "hi"),
    (0x2c, "hr"),
    (0x2d, "hu"),
    (0x2e, "hy"),
    (0x2f, "vi"),
    (0x30, "id"),
    (0x31, "wo"),
    (0x32, "xh"),
    (0x33, "is"),
    (0x34, "it"),
    (0x35, "yo"),
    (0x36, "ja"),
    (0x37, "jw"),
    (0x38, "ka"),
    (0x39, "kk"),
    (0x3a, "za"),
    (0x3b, "km"),
    (0x3c, "kn"),
    (0x3d, "ko"),
    (0x3e, "ks"),
    (0x3f, "ku"),
    (0x40, "ky"),
    (0x41, "zh"),
    (0x42, "ln"),
    (0x43, "lo"),
    (0x44, "lt"),
    (0x45, "lv"),
    (0x46, "mg"),
    (0x47, "mi"),
    (0x48, "mk"),
    (0x49, "ml"),
    (0x4a, "mn"),
    (0x4b, "mo"),
    (0x4c, "mr"),
    (0x4d, "ms"),
    (0x4e, "mt"),
    (0x4f, "my"),
    (0x50, "uk"),
    (0x51, "ne"),
    (0x52, "nl"),
    (0x53, "no"),
    (0x54, "oc"),
    (0x55, "om"),
    (0x56, "or"),
    (0x57, "pa"),
    (0x58, "pl"),
    (0x59, "ps"),
    (0x5a, "pt"),
    (0x5b, "qu"),
    (0x5c, "zu"),
    (0x5d, "rn"),
    (0x5e, "ro"),
    (0x5f, "ru"),
    (0x60, "rw"),
    (0x61, "sa"),
    (0x62, "sd"),
    (0x63, "sg"),
    (0x64, "sh"),
    (0x65, "si"),
    (0x66, "sk"),
    (0x67, "sl"),
    (0x68, "sm"),
    (0x69, "sn"),
    (0x6a, "so"),
    (0x6b, "sq"),
    (0x6c, "sr"),
    (0x6d, "ss"),
    (0x6e, "st"),
    (0x6f, "su"),
    (0x70, "sv"),
    (0x71, "sw"),
    (0x72, "ta"),
    (0x73, "te"),
    (0x74, "tg"),
    (0x75, "th"),
    (0x76, "ti"),
    (0x77, "tk"),
    (0x78, "tl"),
    (0x79, "tn"),
    (0x7a, "to"),
    (0x7b, "tr"),
    (0x7c, "ts"),
    (0x7d, "tt"),
    (0x7e, "tw"),
    (0x7f, "ug"),
    (0x81, "na"),
    (0x82, "fo"),
    (0x83, "fy"),
    (0x84, "ia"),
    (0x85, "vo"),
    (0x86, "ie"),
    (0x87, "ik"),
    (0x88, "yi"),
];

/// The ISO 639 code of a WSP language number.
pub fn language_name(code: u64) -> Option<&'static str> {
    LANGUAGES.iter().find(|(c, _)| u64::from(*c) == code).map(|(_, n)| *n)
}

/// Well-known methods (Table 34), the values of Allow and Public.
const METHODS: [(u8, &str); 7] = [
    (0x40, "GET"),
    (0x41, "OPTIONS"),
    (0x42, "HEAD"),
    (0x43, "DELETE"),
    (0x44, "TRACE"),
    (0x60, "POST"),
    (0x61, "PUT"),
];

/// The name of a well-known method code.
pub fn method_name(code: u8) -> Option<&'static str> {
    METHODS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// Cache-Control directives 0x00–0x0B (§8.4.2.15).
const CACHE_DIRECTIVES: [&str; 12] = [
    "no-cache",
    "no-store",
    "max-age",
    "max-stale",
    "min-fresh",
    "only-if-cached",
    "public",
    "private",
    "no-transform",
    "must-revalidate",
    "proxy-revalidate",
    "s-maxage",
];

/// The name of a Cache-Control directive code.
pub fn cache_directive_name(code: u8) -> Option<&'static str> {
    CACHE_DIRECTIVES.get(code as usize).copied()
}

/// Content-Encoding values 0x00–0x02 (§8.4.2.18); Accept-Encoding adds 0x03 `*`.
const ENCODINGS: [&str; 4] = ["gzip", "compress", "deflate", "*"];

/// The name of a content coding code.
pub fn encoding_name(code: u8) -> Option<&'static str> {
    ENCODINGS.get(code as usize).copied()
}

/// TE values 0x01–0x06 (§8.4.2.68): `trailers` and the transfer codings.
const TE_VALUES: [&str; 7] = ["", "trailers", "chunked", "identity", "gzip", "compress", "deflate"];

/// The name of a TE code (0x01–0x06).
pub fn te_name(code: u8) -> Option<&'static str> {
    TE_VALUES.get(code as usize).copied().filter(|n| !n.is_empty())
}

/// Content-Disposition values 0x00–0x02 (§8.4.2.53; `inline` since encoding 1.4).
const DISPOSITIONS: [&str; 3] = ["form-data", "attachment", "inline"];

/// The name of a disposition code.
pub fn disposition_name(code: u8) -> Option<&'static str> {
    DISPOSITIONS.get(code as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_spot_checks_and_reverse() {
        assert_eq!(content_type_name(0x2E), Some("application/vnd.wap.sic"));
        assert_eq!(content_type_name(0x30), Some("application/vnd.wap.slc"));
        assert_eq!(content_type_name(0x36), Some("application/vnd.wap.connectivity-wbxml"));
        assert_eq!(content_type_name(0x3E), Some("application/vnd.wap.mms-message"));
        assert_eq!(content_type_name(0x54), Some("application/vnd.oma.dcdc"));
        assert_eq!(content_type_name(0x55), None);
        assert_eq!(content_type_name(0x0201), Some("application/vnd.uplanet.cacheop-wbxml"));
        assert_eq!(content_type_name(0x020C), Some("image/x-up-wpng"));
        assert_eq!(content_type_name(0x0312), Some("application/vnd.omaloc-supl-init"));
        assert_eq!(content_type_name(0x031B), Some("application/vnd.oma.bcast.provisioningtrigger"));
        assert_eq!(content_type_name(0x031C), None);
        assert_eq!(content_type_name(0x0200), None);
        for code in (0..=0x54).chain(0x0201..=0x020C).chain(0x0300..=0x031B) {
            let name = content_type_name(code).unwrap();
            assert_eq!(content_type_code(name), Some(code), "{name}");
        }
        assert_eq!(content_type_code("Multipart/Byterantes"), Some(0x0E));
        assert_eq!(content_type_code("APPLICATION/VND.WAP.SIC"), Some(0x2E));
    }

    #[test]
    fn app_ids() {
        assert_eq!(app_id_name(4), Some("x-wap-application:mms.ua"));
        assert_eq!(app_id_name(0x8002), Some("x-wap-docomo:imode.mail.ua"));
        assert_eq!(app_id_name(0x800A), None);
        assert_eq!(app_id_name(0x0B), None);
        for code in (0..=0x0A).chain([0x8000, 0x8009, 0x800B, 0x8010]) {
            assert_eq!(app_id_code(app_id_name(code).unwrap()), Some(code));
        }
    }

    #[test]
    fn headers_and_params() {
        assert_eq!(header_name(0x2F), Some("X-Wap-Application-Id"));
        assert_eq!(header_name(0x34), Some("Push-Flag"));
        assert_eq!(header_name(0x47), Some("Cache-Control"));
        assert_eq!(header_name(0x48), None);
        assert_eq!(header_code("content-length"), Some(0x0D));
        assert_eq!(header_code("Accept-Charset"), Some(0x3B));
        assert_eq!(param_name(0x11), Some("SEC"));
        assert_eq!(param_name(0x12), Some("MAC"));
        assert_eq!(param_name(0x04), None);
        assert_eq!(param_name(0x1E), None);
        assert_eq!(charset_name(106), Some("utf-8"));
        assert_eq!(charset_code("UTF-8"), Some(106));
        assert_eq!(sec_name(3), Some("USERPINMAC"));
        assert_eq!(language_name(0x19), Some("en"));
        assert_eq!(language_name(0x82), Some("fo"));
        assert_eq!(method_name(0x60), Some("POST"));
        assert_eq!(te_name(0), None);
        assert_eq!(te_name(2), Some("chunked"));
    }
}
