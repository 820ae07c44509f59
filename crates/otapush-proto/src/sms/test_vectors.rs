//! Hand-built PDUs (SMSC prefix included) for the lenient cases of TS 23.040, shared by the
//! decoder, `decode sms` and receive-path tests.

/// SMS-DELIVER with a concatenation element of total 1: 07 91 447758100650 SMSC
/// +447785016005; 44 first octet (TP-MMS, TP-UDHI); 0B 91 1346610089F6 TP-OA +31641600986;
/// 00 TP-PID; 00 TP-DCS (GSM 7-bit); 42 60 12 91 41 05 80 TP-SCTS 2024-06-21 19:14:50 +02:00;
/// 18 TP-UDL 24 septets; 05 UDHL, 00 03 5A 01 01 concat ref 0x5A total 1 seq 1 (6 octets =
/// 7 septets with 1 fill bit); then "Your code is 4821" (17 septets).
pub const SINGLE_CONCAT: &str =
    "0791447758100650440B911346610089F6000042601291410580180500035A0101B2EFBA1C347E93CBA0F41C44C3C962";

/// SMS-DELIVER whose header is malformed: as [`SINGLE_CONCAT`] but 0D 91 945152991136F0
/// TP-OA +4915259911630; 19 TP-UDL 25 septets; 05 UDHL, 00 04 A7 02 01 a concat element
/// claiming 4 octets where UDHL leaves 3; then 1 fill bit and "Balance: 12.50 EUR".
pub const MALFORMED_UDH: &str =
    "0791447758100650440D91945152991136F000004260129141058019050004A70201846176D83D2EEB403199AB060315AB52";

/// oFono test-sms.c sr_pdu3 behind an empty SMSC (00): a status report whose TP-SCTS and
/// TP-DT zone octets are A0 (units semi-octet 0xA).
pub const NONBCD_STATUS_REPORT: &str = "000606098121436587F9019012413064A0019012413045A000";
