//! Decoding published real-world and reference PDUs. Each vector names its source; the
//! expected values are the ones the source states, or derived octet by octet in a comment.

use super::*;

fn pdu(hex: &str) -> Vec<u8> {
    crate::hex::decode(hex).unwrap()
}

/// `sms::decode`, checked against `sms::view` on every vector here: the same error or the same
/// PDU, and borrowed accessors that say what the owned values say.
fn decode(pdu: &[u8], with_smsc: bool) -> Result<SmsPdu, SmsError> {
    view::assert_agrees(pdu, with_smsc);
    super::decode(pdu, with_smsc)
}

fn dec(hex: &str, with_smsc: bool) -> SmsPdu {
    decode(&pdu(hex), with_smsc).unwrap()
}

fn text(p: &SmsPdu) -> &str {
    p.user_data().and_then(UserData::text).unwrap()
}

/// The widely published example of the PDU format (e.g. Lars Pettersson, "SMS messages and
/// the PDU format", dreamfabric.com): SMSC 07 91 7283010010F5 = +27381000015; 04 deliver;
/// OA 0B C8 7238880900F1 = 11 digits, TOA C8 (subscriber number, national plan) "27838890001";
/// PID 00, DCS 00; SCTS 99309251619580 = 1999-03-29 15:16:59, zone 0x80 → "08" quarters
/// = +02:00; UDL 0A = 10 septets "hellohello".
#[test]
fn classic_hellohello() {
    let p = dec("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37", true);
    assert_eq!(p.smsc.as_ref().unwrap().as_str(), "+27381000015");
    assert_eq!(p.kind(), PduKind::Deliver);
    let d = p.deliver().unwrap();
    assert_eq!((d.originator.as_str(), d.originator.kind_str()), ("27838890001", "unknown"));
    assert_eq!(d.originator.ton(), TypeOfNumber::Subscriber);
    assert_eq!(d.scts.to_rfc3339(), "1999-03-29T15:16:59+02:00");
    assert_eq!(text(&p), "hellohello");
    // First octet 04: TP-MMS set, no more messages waiting.
    assert!(!d.more_messages && !d.reply_path && d.udh.is_none());
    assert_eq!(p.class(), None);
}

/// oFono unit/test-sms.c `simple_deliver`: SMSC +31624000000, OA +31641600986, PID 0,
/// DCS 0, 2002-08-26 19:37:41 with time zone -4 quarters, "How are you?".
#[test]
fn ofono_simple_deliver_negative_zone() {
    let hex = "07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07";
    let p = dec(hex, true);
    assert_eq!(p.smsc.as_ref().unwrap().as_str(), "+31624000000");
    assert_eq!(p.originator().as_str(), "+31641600986");
    assert_eq!(p.timestamp().to_rfc3339(), "2002-08-26T19:37:41-01:00");
    assert_eq!(text(&p), "How are you?");
    // The same TPDU without the SMSC prefix (8 octets: 07 + 7).
    let q = decode(&pdu(hex)[8..], false).unwrap();
    assert_eq!((q.smsc, q.tpdu), (None, p.tpdu.clone()));
    // And the encoder reproduces the published octets.
    assert_eq!(encode(&p, true).unwrap(), pdu(hex));
}

/// oFono `alnum_sender`: SMSC +447785016005; OA 0D D0 = 13 semi-octets, alphanumeric,
/// 7 octets → 7 septets "sipgate"; 2008-08-13 12:07:22, zone +4 quarters; "Testmail".
#[test]
fn ofono_alphanumeric_sender() {
    let hex = "0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9";
    let p = dec(hex, true);
    assert_eq!(p.smsc.as_ref().unwrap().as_str(), "+447785016005");
    assert_eq!((p.originator().as_str(), p.originator().kind_str()), ("sipgate", "alphanumeric"));
    assert_eq!(p.timestamp().to_rfc3339(), "2008-08-13T12:07:22+01:00");
    assert_eq!(text(&p), "Testmail");
    assert_eq!(encode(&p, true).unwrap(), pdu(hex));
}

/// python-messaging messaging/test/test_sms.py `test_decoding_number_alphanumeric`: odd
/// alphanumeric length (09 semi-octets → "FONIC") with a 147-character text, and even
/// length (12 = 18 semi-octets → "www.tim.it").
#[test]
fn python_messaging_alphanumeric_odd_and_even() {
    let p = dec(
        "07919471060040340409D0C6A733390400009060920173018093CC74595C96838C4F6772085AD6DDE4320B444E9741D4B03C6D7EC3E9E9B71B9474D3CB727799DEA286CFE5B9991DA6CBC3F432E85E9793CBA0F09A9EB6A7CB72BA0B9474D3CB727799DE72D6E9FABAFB0CBAA7E56490BA4CD7D34170F91BE4ACD3F575F7794E0F9F4161F1B92C2F8FD1EE32DD054AA2E520E3D3991C82A8E5701B",
        true,
    );
    assert_eq!(p.smsc.as_ref().unwrap().as_str(), "+491760000443");
    assert_eq!(p.originator().as_str(), "FONIC");
    assert_eq!(
        text(&p),
        "Lieber FONIC Kunde, die Tarifoption Internet-Tagesflatrate wurde aktiviert. Internet-Nutzung wird jetzt pro Nutzungstag abgerechnet. Ihr FONIC Team"
    );
    let p = dec(
        "07919333852804000412D0F7FBDD454FB75D693A0000903002801153402BCD301E9F0605D9E971191483C140412A35690D52832063D2F9040599A058EE05A3BD6430580E",
        true,
    );
    assert_eq!(p.smsc.as_ref().unwrap().as_str(), "+393358824000");
    assert_eq!(p.originator().as_str(), "www.tim.it");
    assert_eq!(text(&p), "Maxxi Alice 100 ATTIVATA FINO AL 19/04/2009");
    // SCTS 90300280115340 = 2009-03-20 08:11:35, zone 0x40 → +04 quarters.
    assert_eq!(p.timestamp().to_rfc3339(), "2009-03-20T08:11:35+01:00");
}

/// python-messaging `test_decoding_ucs2_pdu`: DCS 08, "中兴通讯" from +34610789702;
/// SCTS 80604290224080 = 2008-06-24 09:22:04, zone 0x80 → +08 quarters.
#[test]
fn python_messaging_ucs2() {
    let p = dec("07914306073011F0040B914316709807F2000880604290224080084E2D5174901A8BAF", true);
    assert_eq!(p.originator().as_str(), "+34610789702");
    assert_eq!(p.dcs().unwrap().encoding_str(), "ucs2");
    assert_eq!(text(&p), "中兴通讯");
    assert_eq!(p.timestamp().to_rfc3339(), "2008-06-24T09:22:04+02:00");
}

/// oFono `unicode_deliver`: SMSC 04 81 999999 (unknown type "999999"); OA 14 D0 = 20
/// semi-octets, 11 septets 7B×9 7C 7B = "äääääääääöä"; PID 00; DCS 19 (class 1, UCS2);
/// SCTS 51209080136180 = 2015-02-09 08:31:16 +02:00; UDL 7E = 126 octets = 63 characters.
#[test]
fn ofono_unicode_deliver_class_1() {
    let hex = concat!(
        "04819999990414D0FBFD7EBFDFEFF77BFE1E0019512090801361807E00DC00FC00C400E400D600F600C5",
        "00E500D800F800C600E600C700E700C900E900CA00EA00DF003100320033003400350036003700380039",
        "003000200054006800690073002000",
        "6D0065007300730061006700650020006900730020003600330020",
        "0075006E00690063006F00640065002000630068006100720073002E"
    );
    let p = dec(hex, true);
    let smsc = p.smsc.as_ref().unwrap();
    assert_eq!((smsc.as_str(), smsc.kind_str()), ("999999", "unknown"));
    assert_eq!(p.originator().as_str(), "äääääääääöä");
    assert_eq!(p.class(), Some(1));
    assert_eq!(p.timestamp().to_rfc3339(), "2015-02-09T08:31:16+02:00");
    assert_eq!(text(&p), "ÜüÄäÖöÅåØøÆæÇçÉéÊêß1234567890 This message is 63 unicode chars.");
    assert_eq!(encode(&p, true).unwrap(), pdu(hex));
}

/// oFono `simple_mwi`: DCS C8 = message waiting, discard, indication active, voicemail;
/// UDL 0; 2013-08-07 16:47:41 +08 quarters.
#[test]
fn ofono_mwi_discard() {
    let p = dec("07913366002020F8040B913366600600F100C83180706174148000", true);
    let dcs = p.dcs().unwrap();
    let m = dcs.mwi().unwrap();
    assert!(m.discard && m.active && m.kind_str() == "voicemail");
    assert_eq!(text(&p), "");
    assert_eq!(p.originator().as_str(), "+33660660001");
    assert_eq!(p.timestamp().to_rfc3339(), "2013-08-07T16:47:41+02:00");
}

/// python-messaging messaging/test/test_wap.py `test_decoding_m_notification_ind`: an MMS
/// notification WAP push in two segments from the UK operator O2 test data. Each: SMSC
/// +447785016005; first octet 40 / 44 (UDHI; TP-MMS clear on part 1); OA 0E 80
/// "88850100000018" (unknown type); PID 00; DCS 04 (8-bit); UDH 0C: 08 04 9F8E 02 01|02
/// (16-bit concatenation, ref 40846) and 05 04 0B84 23F0 (ports dst 2948, src 9200).
#[test]
fn python_messaging_mms_notification_two_segments() {
    let parts = [
        "0791447758100650400E80885810000000810004016082415464408C0C08049F8E020105040B8423F00106226170706C69636174696F6E2F766E642E7761702E6D6D732D6D65737361676500AF848C82984E4F4B3543694B636F544D595347344D4253774141734B7631344655484141414141414141008D908919802B3434373738353334323734392F545950453D504C4D4E008A808E0274008805810301194083687474703A2F",
        "0791447758100650440E8088581000000081000401608241547440440C08049F8E020205040B8423F02F70726F6D6D732F736572766C6574732F4E4F4B3543694B636F544D595347344D4253774141734B763134465548414141414141414100",
    ];
    let mut payload = Vec::new();
    for (i, hex) in parts.iter().enumerate() {
        let p = dec(hex, true);
        let d = p.deliver().unwrap();
        assert_eq!((p.originator().as_str(), p.originator().kind_str()), ("88850100000018", "unknown"));
        assert_eq!(p.concat(), Some(Concat { reference: 40846, total: 2, seq: i as u8 + 1, ref_bits: 16 }));
        assert_eq!(p.ports(), Some(Ports { src: 9200, dst: 2948, bits: 16 }));
        assert_eq!(d.dcs.encoding_str(), "8bit");
        assert_eq!(d.more_messages, i == 0);
        payload.extend_from_slice(p.user_data().unwrap().binary().unwrap());
        assert_eq!(encode(&p, true).unwrap(), pdu(hex));
    }
    // UDL 8C (140) and 44 (68) minus the 13-octet header each.
    assert_eq!(payload.len(), 127 + 55);
    // WSP: TID 01, PDU type 06 (Push), header length 0x22, "application/vnd.wap.mms-message".
    assert_eq!(&payload[..3], &[0x01, 0x06, 0x22]);
    assert_eq!(&payload[3..34], b"application/vnd.wap.mms-message");
    assert!(payload.ends_with(b"http://promms/servlets/NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA\0"));
}

/// oFono `wap_push_1`: an MMS notification in one segment: SMSC +491722270541; first
/// octet 44; OA 01 85 F0 (1 digit "0", unknown type); PID 39; DCS F5 (8-bit, class 1);
/// SCTS 01801140311480 = 2010-08-11 04:13:41 +02:00; UDL 72; UDH 06 05 04 0B84 23F0.
#[test]
fn ofono_single_segment_wap_push() {
    let hex = concat!(
        "0791947122725014440185F039F501801140311480720605040B8423F00106",
        "246170706C69636174696F6E2F766E642E7761702E6D6D732D6D657373616",
        "76500AF84B4868C82984F67514B4B42008D9089088045726F74696B009650",
        "696E2D557073008A808E0240008805810303F48083687474703A2F2F65707",
        "3332E64652F4F2F5A39495A4F00"
    );
    let p = dec(hex, true);
    assert_eq!(p.smsc.as_ref().unwrap().as_str(), "+491722270541");
    assert_eq!(p.originator().as_str(), "0");
    assert_eq!(p.deliver().unwrap().pid, 0x39);
    assert_eq!(p.class(), Some(1));
    assert_eq!(p.concat(), None);
    assert_eq!(p.ports(), Some(Ports { src: 9200, dst: 2948, bits: 16 }));
    assert_eq!(p.timestamp().to_rfc3339(), "2010-08-11T04:13:41+02:00");
    let data = p.user_data().unwrap().binary().unwrap();
    assert_eq!(data.len(), 0x72 - 7);
    assert!(data.ends_with(b"http://eps3.de/O/Z9IZO\0"));
}

/// python-messaging `test_decode_weird_multipart_german_pdu`: GSM 7-bit in two parts with
/// an 8-bit concatenation reference 25, DCS F1 (class 1), text with the euro sign (escape).
#[test]
fn python_messaging_german_multipart_with_escape() {
    let parts = [
        "07919471227210244405852122F039F101506271217180A005000319020198E9B2B82C0759DFE4B0F9ED2EB7967537B9CC02B5D37450122D2FCB41EE303DFD7687D96537881A96A7CD6F383DFD7683F46134BBEC064DD36550DA0D22A7CBF3721BE42CD3F5A0198B56036DCA20B8FC0D6A0A4170767D0EAAE540433A082E7F83A6E5F93CFD76BB40D7B2DB0D9AA6CB2072BA3C2F83926EF31BE44E8FD17450BB8C9683CA",
        "07919471227210244405852122F039F1015062712181804F050003190202E4E8309B5E7683DAFC319A5E76B340F73D9A5D7683A6E93268FD9ED3CB6EF67B0E5AD172B19B2C2693C9602E90355D6683A6F0B007946E8382F5393BEC26BB00",
    ];
    let texts = [
        "Lieber Vodafone-Kunde, mit Ihrer nationalen Tarifoption zahlen Sie in diesem Netz 3,45 € pro MB plus 59 Ct pro Session. Wenn Sie diese Info nicht mehr e",
        "rhalten möchten, wählen Sie kostenlos +4917212220. Viel Spaß im Ausland.",
    ];
    for (i, hex) in parts.iter().enumerate() {
        let p = dec(hex, true);
        assert_eq!(text(&p), texts[i]);
        assert_eq!(p.concat(), Some(Concat { reference: 25, total: 2, seq: i as u8 + 1, ref_bits: 8 }));
        assert_eq!(p.class(), Some(1));
        assert_eq!(encode(&p, true).unwrap(), pdu(hex));
    }
}

/// oFono `assembly_pdu1`: UCS2 (DCS 19, class 1) part 1 of 3, 8-bit reference 0x1E; SMSC
/// 03 81 21F3 = "123" of unknown type; OA 04 81 5555; PID 01; SCTS 90604100122204 =
/// 2009-06-14 00:21:22 +10:00 (zone 0x04 low nibble 0... 0x04 → "40" quarters).
#[test]
fn ofono_ucs2_concatenated() {
    let hex = concat!(
        "038121F340048155550119906041001222048C0500",
        "031E0301041804420430043A002C002004100",
        "43B0435043A04410430043D04340440002000",
        "200441043B044304480430043B00200437043",
        "000200434043204350440044C044E00200020",
        "04380020002004320441043500200431043E0",
        "43B044C044804350020043F04400435043804",
        "41043F043E043B043D044F043B0441044F002",
        "000200433043D0435"
    );
    let p = dec(hex, true);
    assert_eq!(p.smsc.as_ref().unwrap().as_str(), "123");
    assert_eq!(p.originator().as_str(), "5555");
    assert_eq!(p.concat(), Some(Concat { reference: 0x1E, total: 3, seq: 1, ref_bits: 8 }));
    assert_eq!(p.timestamp().to_rfc3339(), "2009-06-14T00:21:22+10:00");
    assert!(text(&p).starts_with("Итак, Александр"));
    assert_eq!(text(&p).chars().count(), (140 - 6) / 2);
}

/// oFono `test_sr_assembly` sr_pdu1 (no SMSC): 06 status report; MR 04; RA 0D 91
/// 945152991136F0 = +4915259911630; SCTS 0160124130340A = 2010-06-21 14:03:43, zone 0x0A:
/// low nibble A = sign bit + tens 2, units 0 → -20 quarters = -05:00; DT …94 0A = 14:03:49;
/// ST 00 (received by the SME).
#[test]
fn ofono_status_report_negative_zone() {
    let p = dec("06040D91945152991136F00160124130340A0160124130940A00", false);
    assert_eq!(p.kind(), PduKind::StatusReport);
    let s = p.status_report().unwrap();
    assert_eq!(s.message_reference, 4);
    assert_eq!((s.recipient.as_str(), s.recipient.kind_str()), ("+4915259911630", "international"));
    assert_eq!(s.scts.to_rfc3339(), "2010-06-21T14:03:43-05:00");
    assert_eq!(s.discharge_time.to_rfc3339(), "2010-06-21T14:03:49-05:00");
    assert_eq!((s.status, s.status_kind()), (0, StatusKind::Completed));
    assert_eq!((s.pid, s.dcs, &s.user_data), (None, None, &None));
    assert_eq!(p.originator().as_str(), "+4915259911630");
}

/// python-messaging `test_decode_sms_confirmation`: a status report with SMSC +34607003110,
/// MR 0x27, RA +43626575117, SCTS 2010-02-18 11:31:54, DT 11:47:50 (+04 quarters), ST 0x43
/// (permanent error: "connection rejected by SME").
#[test]
fn python_messaging_status_report_failed() {
    let p = dec("07914306073011F006270B913426565711F7012081111345400120811174054043", true);
    let s = p.status_report().unwrap();
    assert_eq!(s.message_reference, 0x27);
    assert_eq!(s.recipient.as_str(), "+43626575117");
    assert_eq!(s.scts.to_rfc3339(), "2010-02-18T11:31:54+01:00");
    assert_eq!(s.discharge_time.to_rfc3339(), "2010-02-18T11:47:50+01:00");
    assert_eq!((s.status, s.status_kind()), (0x43, StatusKind::Failed));
}

/// A status report with the optional fields (hand-made from sr_pdu1 above): TP-PI 07 (PID,
/// DCS, UDL), PID 00, DCS 00, UDL 02 "hi" (68 69 → septets 0x68 0x69 packed E8 34). A
/// TP-PI announcing fields that are missing is tolerated: the report decodes without them.
#[test]
fn status_report_optional_fields_are_lenient() {
    let p = dec(
        "06040D91945152991136F00160124130340A0160124130940A00070000 02E834".replace(' ', "").as_str(),
        false,
    );
    let s = p.status_report().unwrap();
    assert_eq!((s.pid, s.dcs.map(|d| d.octet())), (Some(0), Some(0)));
    assert_eq!(s.user_data, Some(UserData::Text("hi".into())));
    let p = dec("06040D91945152991136F00160124130340A0160124130940A0007", false);
    assert_eq!(p.status_report().unwrap().user_data, None);
    // Extension bit: 87 then 00 (no further fields defined), then PID/DCS/UDL as announced
    // by the first octet.
    // ST 00, TP-PI 87 (PID, DCS, UDL, extension), a second TP-PI octet 00, PID 00, DCS 00,
    // UDL 00.
    let p = dec("06040D91945152991136F00160124130340A0160124130940A00870000000000", false);
    let s = p.status_report().unwrap();
    assert_eq!((s.pid, &s.user_data), (Some(0), &Some(UserData::Text(String::new()))));
}

/// oFono unit/test-sms.c charset vectors: TPDUs without SMSC: first octet 00; OA 01 00 0B
/// (1 digit "#"); PID 91; DCS 53 (automatic deletion group, class 3, GSM 7-bit); SCTS
/// 10101010100000 = 2001-01-01 01:01:00 +00:00; then UDL (octet 13) and the septets. The
/// first holds septets 0x00-0x7F in order, with a space in place of the escape 0x1B. oFono
/// decodes the user data with tables chosen by hand; here they are applied to the same
/// septets, and the expected texts are oFono's.
#[test]
fn ofono_charset_vectors() {
    let all = concat!(
        "0001000B915310101010100000808080604028180E888462C168381E9088",
        "6442A9582E988C06C4E9783EA09068442A994EA8946AC56AB95EB0986C46",
        "ABD96EB89C6EC7EBF97EC0A070482C1A8FC8A472C96C3A9FD0A8744AAD5A",
        "AFD8AC76CBED7ABFE0B0784C2E9BCFE8B47ACD6EBBDFF0B87C4EAFDBEFF8",
        "BC7ECFEFFBFF"
    );
    let p = dec(all, false);
    let d = p.deliver().unwrap();
    assert_eq!(d.originator.as_str(), "#");
    assert_eq!((d.dcs.octet(), d.dcs.class(), d.dcs.auto_delete()), (0x53, Some(3), true));
    assert_eq!(d.scts.to_rfc3339(), "2001-01-01T01:01:00+00:00");
    assert_eq!(
        text(&p),
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    );
    let with = |locking, single, hex: &str| {
        let bytes = pdu(hex);
        let mut s = String::new();
        let count = usize::from(bytes[13]);
        gsm7::decode_into(&bytes[14..], 0, count, &Tables::for_languages(locking, single), &mut s);
        s
    };
    assert_eq!(
        with(Some(1), None, all),
        "@£$¥€éùıòÇ\nĞğ\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ŞşßÉ !\"#¤%&'()*+,-./0123456789:;<=>?İABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§çabcdefghijklmnopqrstuvwxyzäöñüà"
    );
    assert_eq!(
        with(Some(3), None, all),
        "@£$¥êéúíóç\nÔô\rÁáΔ_ªÇÀ∞^\\€Ó| ÂâÊÉ !\"#º%&'()*+,-./0123456789:;<=>?ÍABCDEFGHIJKLMNOPQRSTUVWXYZÃÕÚÜ§~abcdefghijklmnopqrstuvwxyzãõ`üà"
    );
    // Extension tables: escape + code pairs (UDL 15, 1A, 31, 26).
    let default_ext = "0001000B915310101010100000151BC58602DAA036A9CD6BC3DBF436BE0D705306";
    assert_eq!(with(None, None, default_ext), "\u{c}^ {}\\[~]|€");
    let tr = "0001000B9153101010101000001A1BC586B2416D529BD786B7E96D7C1BE002C8011318870E";
    assert_eq!(with(Some(1), Some(1), tr), "\u{c}^{}\\[~]|ĞİŞç€ğış");
    let pt = concat!(
        "0001000B9153101010101000003184C446B160381E1BC96662D9543696CD",
        "6583D9643C1BD42675D9F0C01B9F8602CC74B75C0EE68030ECF91D"
    );
    assert_eq!(with(Some(3), Some(3), pt), "êç\u{c}ÔôÁáΦΓ^ΩΠΨΣΘÊ{}\\[~]|ÀÍÓÚÃÕÂ€íóúãõâ");
    let es =
        "0001000B915310101010100000269BC446B1A16C509BD4E6B5E16D7A1BDF06B8096E929BE7A6BA096FCA9BF4E6BDA903";
    assert_eq!(with(Some(2), Some(2), es), "ç\u{c}^{}\\[~]|ÁÍÓÚá€íóú");
}

/// Shift tables selected by the UDH itself, built by the encoder and checked octet by
/// octet: UDH 06 25 01 01 24 01 02 = locking shift Turkish, single shift Spanish (7 octets =
/// 56 bits = 8 septets, no fill bits); then "ğú" = 0x0C (Turkish locking ğ) and ESC 0x75
/// (Spanish single ú), at bits 56-76: octets 0x0C | 0x1B << 7 = 8C, 0x1B >> 1 | 0x75 << 6
/// = 4D, 0x75 >> 2 = 1D; TP-UDL = 8 + 3 = 11.
#[test]
fn national_shift_selected_by_udh() {
    let mut h = UserDataHeader::new();
    h.push(IEI_LOCKING_SHIFT, &[1]).unwrap();
    h.push(IEI_SINGLE_SHIFT, &[2]).unwrap();
    let d = Deliver {
        originator: Address::international("905551234567").unwrap(),
        pid: 0,
        dcs: DataCoding::GSM7,
        scts: Timestamp::new((2024, 3, 9), (14, 5, 0), 12).unwrap(),
        udh: Some(h),
        user_data: UserData::Text("ğú".into()),
        more_messages: false,
        reply_path: false,
        status_report_indication: false,
        loop_prevention: false,
    };
    let p = SmsPdu { smsc: None, tpdu: Tpdu::Deliver(d) };
    let bytes = encode(&p, false).unwrap();
    assert_eq!(&bytes[bytes.len() - 11..], &[11, 6, 0x25, 1, 1, 0x24, 1, 2, 0x8C, 0x4D, 0x1D]);
    assert_eq!(decode(&bytes, false).unwrap(), p);
    // With unknown elements in their place the same septets read through the default
    // tables: 0x0C = 'ø', and ESC 0x75 (not in the extension table) = 'u'.
    let mut plain = bytes.clone();
    let n = plain.len();
    plain[n - 9..n - 3].copy_from_slice(&[0x70, 1, 1, 0x71, 1, 2]);
    assert_eq!(decode(&plain, false).unwrap().user_data().unwrap().text(), Some("øu"));
}

#[test]
fn unsupported_types_and_truncation() {
    // oFono `simple_submit` with an empty SMSC: first octet 11 → TP-MTI 01.
    assert_eq!(
        decode(&pdu("0011000B916407281553F80000AA0AE8329BFD4697D9EC37"), true),
        Err(SmsError::UnsupportedMessageType { mti: 1, offset: 1 })
    );
    assert_eq!(decode(&[0x03], false), Err(SmsError::UnsupportedMessageType { mti: 3, offset: 0 }));
    assert_eq!(decode(&[], false), Err(SmsError::Truncated { field: "first octet", offset: 0 }));
    assert_eq!(decode(&[0x00], true), Err(SmsError::Truncated { field: "first octet", offset: 1 }));
    // A TP-DT whose hour is 0x42 → 24 is out of range (octet 19), even as oFono reads it.
    assert_eq!(
        decode(&pdu("0606098121436587F9019012413064A0019012423045A000"), false),
        Err(SmsError::InvalidTimestamp { field: "TP-DT", part: "hour", offset: 19 })
    );
    // Every proper prefix of a deliver is an error naming a field, never a panic.
    let full = pdu("0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9");
    for n in 0..full.len() {
        assert!(decode(&full[..n], true).is_err(), "prefix {n}");
    }
    // Trailing octets are ignored.
    let mut longer = full.clone();
    longer.extend_from_slice(&[0xde, 0xad]);
    assert_eq!(decode(&longer, true), decode(&full, true));
}

/// oFono test-sms.c sr_pdu3, a status report whose TP-SCTS and TP-DT zone octets are A0 (units
/// semi-octet 0xA, not BCD). oFono decodes it; so does otapush, with the time stamps flagged.
#[test]
fn status_report_with_non_bcd_zone() {
    // 06 first octet (SMS-STATUS-REPORT, TP-MMS), 06 TP-MR, 09 81 21436587F9 TP-RA
    // "123456789" (unknown type), 01 90 12 41 30 64 A0 TP-SCTS 2010-09-21 14:03:46 +10 quarters,
    // 01 90 12 41 30 45 A0 TP-DT 14:03:54, 00 TP-ST delivered.
    let p = decode(&pdu("0606098121436587F9019012413064A0019012413045A000"), false).unwrap();
    let sr = p.status_report().unwrap();
    assert_eq!(sr.scts.to_rfc3339(), "2010-09-21T14:03:46+02:30");
    assert_eq!(sr.discharge_time.to_rfc3339(), "2010-09-21T14:03:54+02:30");
    assert!(sr.scts.nonbcd && sr.discharge_time.nonbcd);
    assert_eq!((sr.message_reference, sr.status), (6, 0));
    assert_eq!(sr.recipient.as_str(), "123456789");
}

/// A concatenation element with total 1 and seq 1 is reported as such.
#[test]
fn single_segment_concat_is_reported() {
    let p = decode(&pdu(test_vectors::SINGLE_CONCAT), true).unwrap();
    assert_eq!(p.concat(), Some(Concat { reference: 0x5A, total: 1, seq: 1, ref_bits: 8 }));
    assert_eq!(p.user_data().unwrap().text(), Some("Your code is 4821"));
    assert_eq!(p.timestamp().to_rfc3339(), "2024-06-21T19:14:50+02:00");
}

/// A text SMS whose header element runs past TP-UDHL: the header is ignored, the text after
/// UDHL + 1 octets and the fill bit is decoded (TS 23.040 §9.2.3.24).
#[test]
fn text_after_malformed_header_is_decoded() {
    let p = decode(&pdu(test_vectors::MALFORMED_UDH), true).unwrap();
    let h = p.udh().unwrap();
    // SMSC 0-7, first octet 8, TP-OA 9-17, TP-PID 18, TP-DCS 19, TP-SCTS 20-26, TP-UDL 27,
    // UDHL 28, the element's IEI 29 and its length octet 30.
    assert_eq!(
        h.malformed(),
        Some(&SmsError::InvalidUdh { reason: "element length runs past the header", offset: 30 })
    );
    assert_eq!((p.concat(), h.elements().count()), (None, 0));
    assert_eq!(p.user_data().unwrap().text(), Some("Balance: 12.50 EUR"));
    assert_eq!(p.originator().as_str(), "+4915259911630");
    // The encoder does not write an ignored header back.
    assert_eq!(encode(&p, true), Err(EncodeError::MalformedUdh));
}

/// TS 23.040 §9.2.3.24.15/16: a national language identifier the receiver does not support
/// selects the GSM 7-bit default alphabet and extension table.
#[test]
fn unknown_national_language_falls_back_to_default() {
    // 44 first octet (UDHI), TP-OA +31641600986, PID 00, DCS 00, TP-SCTS, TP-UDL 7; header
    // 03 25 01 7F (locking shift NLI 0x7F, unassigned): 4 octets = 5 septets with 3 fill
    // bits, then "@a" (septets 00 61).
    let mut ud = vec![0x03, 0x25, 0x01, 0x7F];
    gsm7::pack(&mut ud, 0, 5, &[0x00, 0x61]);
    let mut p = pdu("440B911346610089F6000042601291410580");
    p.push(7);
    p.extend_from_slice(&ud);
    let d = decode(&p, false).unwrap();
    assert_eq!(d.udh().unwrap().locking_shift(), Some(0x7F));
    assert_eq!(d.user_data().unwrap().text(), Some("@a"));
}

/// A Hindi SMS (TS 23.038 A.3.6 locking shift, A.2.6 single shift) decodes in Devanagari, and
/// the encoder builds the same PDU from the text.
#[test]
fn hindi_national_language_tables() {
    // 44 first octet (UDHI), TP-OA +31641600986, PID 00, DCS 00, TP-SCTS, then TP-UDL; UD:
    // UDHL 06, 25 01 06 (locking shift, Hindi), 24 01 06 (single shift, Hindi): 7 octets = 8
    // septets, no fill bits. Text "नमस्ते ।" = locking 2F 42 4C 5F 27 59, space 20, and the
    // danda as ESC 19.
    let septets = [0x2F, 0x42, 0x4C, 0x5F, 0x27, 0x59, 0x20, 0x1B, 0x19];
    let mut ud = vec![0x06, 0x25, 0x01, 0x06, 0x24, 0x01, 0x06];
    gsm7::pack(&mut ud, 0, 8, &septets);
    let mut p = pdu("440B911346610089F6000042601291410580");
    p.push(8 + septets.len() as u8);
    p.extend_from_slice(&ud);
    let d = decode(&p, false).unwrap();
    assert_eq!(d.user_data().unwrap().text(), Some("नमस्ते ।"));
    assert_eq!(encode(&d, false).unwrap(), p);
}
