//! The intake's unit tests.

use super::init::{PROBE_TRIES, SIM_RETRY_PAUSE};
use super::reset::is_text_mode_entry;
use super::*;
use crate::modem::at::response::parse_pdu_header;
use crate::modem::at::ResponseLine;
use crate::modem::profile::Route;
use std::time::Duration;

fn resp(cmd: &Command, lines: &[(&str, Option<&str>)], result: FinalResult) -> Response {
    Response {
        id: 0,
        command: cmd.text.clone(),
        lines: lines
            .iter()
            .map(|(t, p)| ResponseLine { text: t.to_string(), pdu: p.map(|hex| raw(t, hex)) })
            .collect(),
        result,
        echoed: false,
    }
}

/// The PDU after the `+CMGR:`/`+CMGL:`/`+CMT:` header `line`, as the engine gives it.
fn raw(line: &str, hex: &str) -> RawPdu {
    let prefix = ["+CMGR:", "+CMGL:", "+CMT:"].into_iter().find(|p| line.starts_with(p)).unwrap();
    RawPdu::new(prefix, &parse_pdu_header(line, prefix).unwrap(), hex).unwrap()
}

type HandOvers = Vec<(u64, Vec<u8>, Option<Location>)>;

/// Drains actions; returns the commands sent, the hand-overs and the states.
fn drain(i: &mut Intake) -> (Vec<Command>, HandOvers, Vec<ModemState>) {
    let (mut c, mut h, mut s) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(a) = i.poll_action() {
        match a {
            Action::Send(x) => c.push(x),
            Action::HandOver { token, pdu, location } => h.push((token, pdu.into_bytes(), location)),
            Action::State(x) => s.push(x),
        }
    }
    (c, h, s)
}

/// A modem that answers the init sequence like the simulator does.
fn answer(cmd: &Command) -> Response {
    let l: &[(&str, Option<&str>)] = match cmd.text.as_str() {
        "AT+CPIN?" => &[("+CPIN: READY", None)],
        "AT+CPMS=?" => &[("+CPMS: (\"SM\",\"ME\"),(\"SM\",\"ME\"),(\"SM\",\"ME\")", None)],
        "AT+CNMI=?" => &[("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)", None)],
        "AT+CPMS?" => &[("+CPMS: \"ME\",0,20,\"ME\",0,20,\"ME\",0,20", None)],
        _ => &[],
    };
    resp(cmd, l, FinalResult::Ok)
}

/// Runs the init to ready; returns every command sent.
fn to_ready(i: &mut Intake, t: Instant) -> Vec<Command> {
    let mut sent = Vec::new();
    for _ in 0..100 {
        if i.is_ready() {
            return sent;
        }
        let (cmds, _, _) = drain(i);
        let cmd = cmds.into_iter().next().expect("a command during init");
        let r = answer(&cmd);
        sent.push(cmd);
        i.on_response(r, t);
    }
    panic!("init did not finish: {sent:?}");
}

/// The next command, answering storage switches on the way.
fn next_cmd(i: &mut Intake, t: Instant) -> Command {
    loop {
        let c = drain(i).0.into_iter().next().expect("a command");
        if !c.text.starts_with("AT+CPMS=\"") {
            return c;
        }
        i.on_response(answer(&c), t);
    }
}

fn ready(profile: Profile) -> (Intake, Instant) {
    let t = Instant::now();
    let mut i = Intake::new(profile);
    i.on_connected(t);
    to_ready(&mut i, t);
    drain(&mut i);
    (i, t)
}

#[test]
fn cmti_read_hand_over_then_delete_only_after_durable() {
    let (mut i, t) = ready(Profile::default());
    assert_eq!(i.next_deadline(), None, "idle: no timer");
    i.on_urc(Urc::MessageStored(Location::new("ME", 3)), t);
    let c = next_cmd(&mut i, t);
    assert_eq!(c.text, "AT+CMGR=3");
    // `<length>` 3 and 3 octets printed: no SMSC part, `00` is prepended.
    i.on_response(resp(&c, &[("+CMGR: 0,,3", Some("000401"))], FinalResult::Ok), t);
    let (c, h, _) = drain(&mut i);
    assert!(c.is_empty(), "nothing deleted before the durable answer: {c:?}");
    assert_eq!(h[0].1, vec![0, 0, 4, 1]);
    assert_eq!(h[0].2, Some(Location::new("ME", 3)));
    i.on_durable(h[0].0, Ok(()), t);
    let (c, _, _) = drain(&mut i);
    assert_eq!(c[0].text, "AT+CPMS=\"ME\"", "the storage is selected again after an idle pause");
    i.on_response(answer(&c[0]), t);
    let (c, _, _) = drain(&mut i);
    assert_eq!(c[0].text, "AT+CMGD=3");
    i.on_response(answer(&c[0]), t);
    let (c, _, _) = drain(&mut i);
    assert_eq!(c[0].text, "AT+CPMS?", "usage logged after the delete");
}

fn echoed(mut r: Response) -> Response {
    r.echoed = true;
    r
}

#[test]
fn unanswered_storage_switch_requeues_the_read() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 3)), t);
    let c = drain(&mut i).0;
    assert_eq!(c[0].text, "AT+CPMS=\"ME\"");
    i.on_response(resp(&c[0], &[], FinalResult::Timeout), t);
    let (c, _, s) = drain(&mut i);
    assert!(s.is_empty(), "one timeout is no reason to re-initialise: {s:?}");
    assert_eq!(c[0].text, "AT+CPMS=\"ME\"", "selected again, the read kept");
    i.on_response(answer(&c[0]), t);
    assert_eq!(drain(&mut i).0[0].text, "AT+CMGR=3");
}

#[test]
fn unanswered_read_and_delete_are_retried_after_a_new_selection() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 3)), t);
    let c = next_cmd(&mut i, t);
    i.on_response(resp(&c, &[], FinalResult::Timeout), t);
    assert_eq!(drain(&mut i).0[0].text, "AT+CPMS=\"ME\"");
    i.on_response(answer(&Command::cpms_set(&["ME"])), t);
    let c = drain(&mut i).0.remove(0);
    assert_eq!(c.text, "AT+CMGR=3");
    i.on_response(resp(&c, &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
    let h = drain(&mut i).1;
    i.on_durable(h[0].0, Ok(()), t);
    let c = next_cmd(&mut i, t);
    assert_eq!(c.text, "AT+CMGD=3");
    i.on_response(resp(&c, &[], FinalResult::Timeout), t);
    // The lost answer may hide a delete that took: the slot is read again first.
    assert_eq!(next_cmd(&mut i, t).text, "AT+CMGR=3");
    assert!(i.is_ready());
}

/// A `+CMGD=3` whose answer is lost; then the verifying read finds `slot_now` in slot 3.
/// Gives the commands that follow.
fn delete_answer_lost_then_slot_holds(slot_now: &str) -> Vec<Command> {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 3)), t);
    let c = next_cmd(&mut i, t);
    i.on_response(resp(&c, &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
    let h = drain(&mut i).1;
    i.on_durable(h[0].0, Ok(()), t);
    let c = next_cmd(&mut i, t);
    assert_eq!(c.text, "AT+CMGD=3");
    i.on_response(resp(&c, &[], FinalResult::Timeout), t);
    let c = next_cmd(&mut i, t);
    assert_eq!(c.text, "AT+CMGR=3", "read again before deleting");
    i.on_response(resp(&c, &[("+CMGR: 0,,2", Some(slot_now))], FinalResult::Ok), t);
    drain(&mut i).0
}

#[test]
fn a_delete_whose_answer_was_lost_spares_a_new_message_in_the_slot() {
    // The same PDU is still there: the delete did not take; it is sent again.
    let c = delete_answer_lost_then_slot_holds("000401");
    assert_eq!(c.first().map(|c| c.text.as_str()), Some("AT+CMGD=3"), "{c:?}");
    // The delete took and a new SMS landed in the freed slot 3: it is not deleted.
    let c = delete_answer_lost_then_slot_holds("000402");
    assert!(c.iter().all(|c| c.text != "AT+CMGD=3"), "the new message is not deleted: {c:?}");
}

#[test]
fn unanswered_listing_during_init_is_sent_again() {
    let t = Instant::now();
    let mut i = Intake::new(Profile::default());
    i.on_connected(t);
    let mut timed_out = false;
    let mut lists = 0;
    while !i.is_ready() {
        let c = drain(&mut i).0.remove(0);
        if c.text == "AT+CMGL=4" {
            lists += 1;
            if !timed_out {
                timed_out = true;
                i.on_response(resp(&c, &[], FinalResult::Timeout), t);
                continue;
            }
        }
        i.on_response(answer(&c), t);
    }
    assert_eq!(lists, 3, "ME listed twice, SM once");
}

#[test]
fn echo_after_ate0_shows_a_silent_reset() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 0)), t);
    let c = next_cmd(&mut i, t);
    i.on_response(resp(&c, &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
    let h = drain(&mut i).1;
    i.on_durable(h[0].0, Ok(()), t);
    // The storage selection before the delete comes back echoed.
    let c = drain(&mut i).0.remove(0);
    assert_eq!(c.text, "AT+CPMS=\"ME\"");
    i.on_response(echoed(answer(&c)), t);
    let (c, _, s) = drain(&mut i);
    assert_eq!(s, vec![ModemState::Initializing]);
    assert_eq!(c[0].text, "AT");
    i.on_response(answer(&c[0]), t);
    let sent = to_ready(&mut i, t);
    assert!(sent.iter().filter(|c| c.text == "AT+CMGL=4").count() >= 2, "storage listed again");
    // The delete waits for a read that shows the same PDU.
    assert_eq!(next_cmd(&mut i, t).text, "AT+CMGR=0");
}

#[test]
fn a_modem_that_always_echoes_is_not_taken_for_reset() {
    let t = Instant::now();
    let mut i = Intake::new(Profile::default());
    i.on_connected(t);
    while !i.is_ready() {
        let c = drain(&mut i).0.remove(0);
        i.on_response(echoed(answer(&c)), t);
    }
    drain(&mut i);
    i.on_urc(Urc::MessageStored(Location::new("ME", 0)), t);
    let c = drain(&mut i).0.remove(0);
    i.on_response(echoed(answer(&c)), t);
    let (c, _, s) = drain(&mut i);
    assert!(s.is_empty());
    assert_eq!(c[0].text, "AT+CMGR=0");
}

#[test]
fn text_mode_answers_show_a_silent_reset() {
    assert!(is_text_mode_entry("+CMGR: \"REC UNREAD\",\"+123\",,\"25/03/01,12:34:56+00\""));
    assert!(is_text_mode_entry("+CMGL: 1,\"REC READ\",\"+123\""));
    assert!(!is_text_mode_entry("+CMGR: 0,\"\",21"));
    assert!(!is_text_mode_entry("+CMGL: 1,0,\"\",21"));
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 0)), t);
    let c = next_cmd(&mut i, t);
    let text = "+CMGR: \"REC UNREAD\",\"+12345678901\",,\"25/03/01,12:34:56+00\"";
    i.on_response(resp(&c, &[(text, None)], FinalResult::Ok), t);
    let (c, _, s) = drain(&mut i);
    assert_eq!(s, vec![ModemState::Initializing]);
    i.on_response(answer(&c[0]), t);
    to_ready(&mut i, t);
    i.on_urc(Urc::MessageStored(Location::new("ME", 1)), t);
    let c = next_cmd(&mut i, t);
    i.on_response(resp(&c, &[], FinalResult::CmsError(Some(305))), t);
    assert_eq!(drain(&mut i).2, vec![ModemState::Initializing]);
}

#[test]
fn usage_naming_another_mem3_shows_a_silent_reset() {
    let (mut i, t) = ready(Profile::default());
    i.work.usage_due = true;
    i.on_timeout(t);
    let c = drain(&mut i).0.remove(0);
    assert_eq!(c.text, "AT+CPMS?");
    let line = "+CPMS: \"SM\",0,10,\"SM\",0,10,\"SM\",0,10";
    i.on_response(resp(&c, &[(line, None)], FinalResult::Ok), t);
    assert_eq!(drain(&mut i).2, vec![ModemState::Initializing]);
}

#[test]
fn notification_for_a_held_index_verifies_and_relists() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 2)), t);
    let c = next_cmd(&mut i, t);
    i.on_response(resp(&c, &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
    let h = drain(&mut i).1;
    i.on_urc(Urc::MessageStored(Location::new("ME", 2)), t);
    let c = next_cmd(&mut i, t);
    assert_eq!(c.text, "AT+CMGL=4");
    // The slot now holds another message: handed over, the old one is not deleted blindly.
    i.on_response(resp(&c, &[("+CMGL: 2,0,,2", Some("000402"))], FinalResult::Ok), t);
    let h2 = drain(&mut i).1;
    assert_eq!(h2[0].1, vec![0, 4, 2]);
    i.on_durable(h[0].0, Ok(()), t);
    let c = next_cmd(&mut i, t);
    assert_eq!(c.text, "AT+CMGR=2", "verified before deleting");
}

#[test]
fn notification_flood_stays_bounded_and_relists() {
    use crate::modem::pending::PENDING_READS_CAP;
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 100_000)), t);
    let first = drain(&mut i).0.remove(0);
    let mut max = 0;
    for k in 0..200_000 {
        i.on_urc(Urc::MessageStored(Location::new("ME", k)), t);
        max = max.max(i.pending_reads());
    }
    assert!(max <= PENDING_READS_CAP, "{max}");
    assert!(drain(&mut i).0.is_empty(), "one command at a time");
    i.on_response(answer(&first), t);
    // The overflow's listings come before the reads left.
    let mut sent = Vec::new();
    while let Some(c) = drain(&mut i).0.into_iter().next() {
        sent.push(c.text.clone());
        i.on_response(answer(&c), t);
    }
    // Every notification after the overflow was covered by the listings still to come.
    assert_eq!(sent, ["AT+CMGL=4", "AT+CPMS=\"SM\"", "AT+CMGL=4"]);
}

#[test]
fn resume_lists_every_storage_and_hands_over_what_it_finds() {
    let (mut i, t) = ready(Profile::default());
    assert!(drain(&mut i).0.is_empty(), "idle: nothing sent");
    i.on_resume(t);
    let mut listed = Vec::new();
    let mut handed = Vec::new();
    loop {
        let (c, h, _) = drain(&mut i);
        handed.extend(h);
        let Some(c) = c.into_iter().next() else { break };
        let r = match (c.text.as_str(), listed.len()) {
            ("AT+CMGL=4", 0) => resp(&c, &[("+CMGL: 5,0,,2", Some("000403"))], FinalResult::Ok),
            _ => answer(&c),
        };
        if c.text == "AT+CMGL=4" {
            listed.push(c.text.clone());
        }
        i.on_response(r, t);
    }
    assert_eq!(listed.len(), 2, "ME and SM listed once each");
    assert_eq!(handed.len(), 1);
    assert_eq!((handed[0].1.clone(), handed[0].2.clone()), (vec![0, 4, 3], Some(Location::new("ME", 5))));
}

#[test]
fn storage_named_in_cmti_is_selected_first() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 1)), t);
    let (c, _, _) = drain(&mut i);
    // The last init step listed SM, so ME is selected again before reading.
    assert_eq!(c[0].text, "AT+CPMS=\"ME\"");
    i.on_response(answer(&c[0]), t);
    assert_eq!(drain(&mut i).0[0].text, "AT+CMGR=1");
    i.on_urc(Urc::MessageStored(Location::new("SM", 2)), t);
    i.on_response(resp(&Command::cmgr(1), &[], FinalResult::CmsError(Some(321))), t);
    assert_eq!(drain(&mut i).0[0].text, "AT+CPMS=\"SM\"");
}

#[test]
fn two_timeouts_in_a_row_reinit() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 0)), t);
    let c = [next_cmd(&mut i, t)];
    i.on_response(resp(&c[0], &[], FinalResult::Timeout), t);
    let c = [next_cmd(&mut i, t)];
    assert_eq!(c[0].text, "AT+CMGR=0", "retried once, after selecting the storage again");
    i.on_response(resp(&c[0], &[], FinalResult::Timeout), t);
    let (c, _, s) = drain(&mut i);
    assert_eq!(s, vec![ModemState::Initializing]);
    assert_eq!(c[0].text, "AT");
}

#[test]
fn boot_urc_reinits_and_drops_the_stale_response() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 0)), t);
    let cmgr = next_cmd(&mut i, t);
    i.on_urc(Urc::Line("RDY".into()), t);
    let (c, _, s) = drain(&mut i);
    assert_eq!(s, vec![ModemState::Resetting]);
    assert_eq!(c[0].text, "AT");
    // The engine still answers the CMGR sent before the reset: ignored, not taken for AT.
    i.on_response(resp(&cmgr, &[], FinalResult::Error), t);
    assert!(drain(&mut i).0.is_empty());
    i.on_response(answer(&c[0]), t);
    assert_eq!(drain(&mut i).0[0].text, "ATE0");
}

#[test]
fn delete_after_reinit_verifies_the_slot_first() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 0)), t);
    let c = [next_cmd(&mut i, t)];
    i.on_response(resp(&c[0], &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
    let token = drain(&mut i).1[0].0;
    i.on_disconnected();
    i.on_connected(t);
    to_ready(&mut i, t);
    i.on_durable(token, Ok(()), t);
    let c = [next_cmd(&mut i, t)];
    assert_eq!(c[0].text, "AT+CMGR=0", "read again before deleting");
    // Another message now sits there: not deleted.
    i.on_response(resp(&c[0], &[("+CMGR: 0,,2", Some("000402"))], FinalResult::Ok), t);
    let c = drain(&mut i).0;
    assert!(c.iter().all(|c| !c.text.starts_with("AT+CMGD")), "{c:?}");
}

#[test]
fn routed_cmt_is_acked_only_after_durable() {
    let mut p = Profile::default();
    p.init.route = Route::Route;
    p.init.cnmi_candidates = vec![[2, 2, 0, 0, 0]];
    p.init.cnma = "AT+CNMA=1".into();
    let t = Instant::now();
    let mut i = Intake::new(p);
    i.on_connected(t);
    let sent = to_ready(&mut i, t);
    assert!(sent.iter().any(|c| c.text == "AT+CSMS=1"));
    drain(&mut i);
    i.on_urc(Urc::Pdu { kind: PduUrcKind::Deliver, pdu: raw("+CMT: ,2", "000401") }, t);
    let (c, h, _) = drain(&mut i);
    assert!(c.is_empty());
    assert_eq!(h[0].2, None);
    i.on_durable(h[0].0, Ok(()), t);
    let ack = drain(&mut i).0.remove(0);
    assert_eq!(ack.text, "AT+CNMA=1");
    i.on_response(answer(&ack), t);
    // Not durable: no ack, nothing kept in memory, store mode.
    i.on_urc(Urc::Pdu { kind: PduUrcKind::Deliver, pdu: raw("+CMT: ,2", "000402") }, t);
    let h = drain(&mut i).1;
    i.on_durable(h[0].0, Err("disk".into()), t);
    let c = drain(&mut i).0;
    assert_eq!(c.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["AT+CNMI=2,1,0,0,0"]);
    i.on_response(answer(&c[0]), t);
    assert_eq!(i.in_hand(), 0);
    // The offer applies store mode again (the modem may have turned routing off) and lists.
    let d = i.next_deadline().expect("offer timer");
    i.on_timeout(d);
    let (sent, h) = serve(&mut i, d, "000402");
    assert_eq!(sent[0].text, "AT+CNMI=2,1,0,0,0");
    assert!(sent.iter().all(|c| !c.text.starts_with("AT+CNMA")), "{sent:?}");
    assert_eq!(h[0].2, Some(Location::new("ME", 0)));
    i.on_durable(h[0].0, Ok(()), d);
    let (sent, _) = serve(&mut i, d, "000402");
    let texts: Vec<&str> = sent.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts.first(), Some(&"AT+CNMI=2,2,0,0,0"), "routing again first: {texts:?}");
    assert!(texts.contains(&"AT+CMGD=0") && texts.contains(&"AT+CMGL=4"), "{texts:?}");
    assert!(!texts.iter().any(|c| c.starts_with("AT+CNMA")), "{texts:?}");
}

/// Answers `+CMGL=4` with the SMS at ME/0 (none if `pdu_hex` is empty) until it is deleted;
/// other commands as `answer`.
fn serve(i: &mut Intake, t: Instant, pdu_hex: &str) -> (Vec<Command>, HandOvers) {
    let (mut sent, mut handed) = (Vec::new(), Vec::new());
    let mut stored = !pdu_hex.is_empty();
    loop {
        let (c, h, _) = drain(i);
        handed.extend(h);
        let Some(c) = c.into_iter().next() else { return (sent, handed) };
        stored &= c.text != "AT+CMGD=0";
        let r = match (c.text.as_str(), i.storage.mem1.as_deref()) {
            ("AT+CMGL=4", Some("ME")) if stored => {
                resp(&c, &[("+CMGL: 0,1,,2", Some(pdu_hex))], FinalResult::Ok)
            }
            _ => answer(&c),
        };
        sent.push(c);
        i.on_response(r, t);
    }
}

#[test]
fn refused_sms_stays_and_is_offered_again_until_the_store_accepts() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 0)), t);
    let c = [next_cmd(&mut i, t)];
    i.on_response(resp(&c[0], &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
    let mut token = drain(&mut i).1[0].0;
    let r = StoreRetry::default();
    let (mut now, mut pause) = (t, r.first);
    // Far more refusals than the five tries of old: never deleted, never given up.
    for _ in 0..20 {
        i.on_durable(token, Err("disk full".into()), now);
        assert!(i.store_refusing());
        let d = i.next_deadline().expect("an offer is armed");
        assert_eq!(d, now + pause);
        now = d;
        i.on_timeout(now);
        let (sent, h) = serve(&mut i, now, "000401");
        assert!(sent.iter().all(|c| !c.text.starts_with("AT+CMGD")), "{sent:?}");
        assert!(sent.iter().any(|c| c.text == "AT+CMGL=4"), "storage listed again");
        assert_eq!(h.len(), 1);
        token = h[0].0;
        pause = (pause * 2).min(r.max);
    }
    assert_eq!(pause, r.max, "capped");
    i.on_durable(token, Ok(()), now);
    let (sent, h) = serve(&mut i, now, "000401");
    assert!(h.is_empty(), "known, awaiting its delete: not handed over twice");
    assert!(sent.iter().any(|c| c.text == "AT+CMGD=0"), "{sent:?}");
    assert!(!i.store_refusing());
    assert_eq!(i.next_deadline(), None, "idle again: no timer");
}

#[test]
fn an_offer_that_finds_nothing_disarms_the_timer() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 0)), t);
    let c = [next_cmd(&mut i, t)];
    i.on_response(resp(&c[0], &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
    let token = drain(&mut i).1[0].0;
    i.on_durable(token, Err("disk full".into()), t);
    let d = i.next_deadline().unwrap();
    i.on_timeout(d);
    // Someone else emptied the storage: nothing waits, so no timer; the next SMS probes.
    let (_, h) = serve(&mut i, d, "");
    assert!(h.is_empty());
    assert_eq!(i.next_deadline(), None);
    assert!(i.store_refusing());
}

#[test]
fn pin_locked_is_a_state_without_timers() {
    let t = Instant::now();
    let mut i = Intake::new(Profile::default());
    i.on_connected(t);
    loop {
        let c = drain(&mut i).0.remove(0);
        if c.text == "AT+CPIN?" {
            i.on_response(resp(&c, &[("+CPIN: SIM PIN", None)], FinalResult::Ok), t);
            break;
        }
        i.on_response(answer(&c), t);
    }
    let (c, _, s) = drain(&mut i);
    assert!(c.is_empty());
    assert_eq!(s, vec![ModemState::SimLocked]);
    assert_eq!(i.next_deadline(), None);
    i.on_urc(Urc::Line("+CPIN: READY".into()), t);
    assert_eq!(drain(&mut i).0[0].text, "AT");
}

#[test]
fn failed_init_is_retried_after_a_doubling_pause() {
    let mut t = Instant::now();
    let mut i = Intake::new(Profile::default());
    i.on_connected(t);
    for pause in [30, 60, 120, 240, 300, 300] {
        for _ in 0..PROBE_TRIES {
            let c = drain(&mut i).0.remove(0);
            assert_eq!(c.text, "AT");
            i.on_response(resp(&c, &[], FinalResult::Error), t);
        }
        assert!(matches!(drain(&mut i).2.as_slice(), [ModemState::Error(_)]));
        let d = i.next_deadline().expect("a retry is armed");
        assert_eq!(d, t + Duration::from_secs(pause));
        t = d;
        i.on_timeout(t);
    }
    // Ready again: the next failure waits the first pause again.
    let c = drain(&mut i).0.remove(0);
    i.on_response(answer(&c), t);
    to_ready(&mut i, t);
    i.on_disconnected();
    i.on_connected(t);
    for _ in 0..PROBE_TRIES {
        let c = drain(&mut i).0.into_iter().find(|c| c.text == "AT").expect("AT");
        i.on_response(resp(&c, &[], FinalResult::Error), t);
    }
    assert_eq!(i.next_deadline(), Some(t + Duration::from_secs(30)));
}

#[test]
fn sim_busy_is_retried_after_a_pause() {
    let t = Instant::now();
    let mut i = Intake::new(Profile::default());
    i.on_connected(t);
    loop {
        let c = drain(&mut i).0.remove(0);
        if c.text == "AT+CPIN?" {
            i.on_response(resp(&c, &[], FinalResult::CmeError(Some(14))), t);
            break;
        }
        i.on_response(answer(&c), t);
    }
    assert!(drain(&mut i).0.is_empty(), "no busy loop");
    let d = i.next_deadline().unwrap();
    assert_eq!(d, t + SIM_RETRY_PAUSE);
    i.on_timeout(d);
    assert_eq!(drain(&mut i).0[0].text, "AT+CPIN?");
}

#[test]
fn cmgl_leftovers_and_321() {
    let t = Instant::now();
    let mut i = Intake::new(Profile::default());
    i.on_connected(t);
    let mut handed = Vec::new();
    while !i.is_ready() {
        let (c, h, _) = drain(&mut i);
        handed.extend(h);
        let c = c.into_iter().next().unwrap();
        let r = match (c.text.as_str(), i.storage.mem1.as_deref()) {
            ("AT+CMGL=4", Some("ME")) => resp(
                &c,
                &[("+CMGL: 0,1,,2", Some("000401")), ("+CMGL: 4,1,,2", Some("000402"))],
                FinalResult::Ok,
            ),
            ("AT+CMGL=4", _) => resp(&c, &[], FinalResult::CmsError(Some(321))),
            _ => answer(&c),
        };
        i.on_response(r, t);
    }
    handed.extend(drain(&mut i).1);
    let locs: Vec<_> = handed.iter().map(|h| h.2.clone().unwrap()).collect();
    assert_eq!(locs, vec![Location::new("ME", 0), Location::new("ME", 4)]);
}

/// `+CMGL=4` lists every message (TS 27.005 §3.4.2), also those the user stored to send
/// (`<stat>` 2 "STO UNSENT", 3 "STO SENT", TS 27.005 §3.1): they are no received SMS.
#[test]
fn stored_outgoing_messages_are_neither_handed_over_nor_deleted() {
    let (mut i, t) = ready(Profile::default());
    i.on_resume(t);
    let (mut sent, mut handed) = (Vec::new(), Vec::new());
    loop {
        let (c, h, _) = drain(&mut i);
        for (token, pdu, loc) in h {
            i.on_durable(token, Ok(()), t);
            handed.push((pdu, loc));
        }
        let Some(c) = c.into_iter().next() else { break };
        let listed = [
            ("+CMGL: 1,2,,2", Some("000100")),
            ("+CMGL: 2,3,,2", Some("000101")),
            ("+CMGL: 3,1,,2", Some("000402")),
        ];
        let r = match (c.text.as_str(), i.storage.mem1.as_deref()) {
            ("AT+CMGL=4", Some("ME")) if !sent.contains(&"AT+CMGD=3".to_string()) => {
                resp(&c, &listed, FinalResult::Ok)
            }
            ("AT+CMGR=5", _) => resp(&c, &[("+CMGR: 2,,2", Some("000102"))], FinalResult::Ok),
            _ => answer(&c),
        };
        sent.push(c.text.clone());
        i.on_response(r, t);
        if c.text == "AT+CMGD=3" {
            // A notification for a slot that holds an outgoing message (a stale index).
            i.on_urc(Urc::MessageStored(Location::new("ME", 5)), t);
        }
    }
    assert_eq!(handed, [(vec![0, 4, 2], Some(Location::new("ME", 3)))]);
    assert!(sent.contains(&"AT+CMGR=5".to_string()), "{sent:?}");
    let deletes: Vec<&String> = sent.iter().filter(|c| c.starts_with("AT+CMGD")).collect();
    assert_eq!(deletes, ["AT+CMGD=3"]);
}

/// A `+CMGL=4` answer listing `indices` in index order, as a modem does (TS 27.005 §3.4.2).
fn listing(c: &Command, indices: &[u32]) -> Response {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    let lines: Vec<(String, String)> =
        sorted.iter().map(|i| (format!("+CMGL: {i},0,,2"), format!("0004{i:02X}"))).collect();
    let refs: Vec<(&str, Option<&str>)> = lines.iter().map(|(l, p)| (l.as_str(), Some(p.as_str()))).collect();
    resp(c, &refs, FinalResult::Ok)
}

/// Indices are reused after deletes, so index order is not arrival order; the `+CMTI` order
/// is (TS 27.005 §3.4.1). A batch read with `+CMGL=4` hands over what was notified in
/// notification order (also what is notified while the listing runs), then what nobody
/// notified, by index.
#[test]
fn batched_listing_hands_over_in_notification_order() {
    let (mut i, t) = ready(Profile::default());
    i.on_urc(Urc::MessageStored(Location::new("ME", 3)), t);
    let first = next_cmd(&mut i, t);
    assert_eq!(first.text, "AT+CMGR=3");
    let notified = [1, 4, 2, 5, 0, 6];
    assert!(notified.len() > READ_BATCH);
    for k in notified {
        i.on_urc(Urc::MessageStored(Location::new("ME", k)), t);
    }
    i.on_response(resp(&first, &[("+CMGR: 0,,2", Some("000403"))], FinalResult::Ok), t);
    let (c, mut handed, _) = drain(&mut i);
    assert_eq!(c[0].text, "AT+CMGL=4", "more than READ_BATCH pending: one listing");
    // Stored and notified while the listing runs, and listed: 7; nobody notified 9.
    i.on_urc(Urc::MessageStored(Location::new("ME", 7)), t);
    i.on_response(listing(&c[0], &[0, 1, 2, 4, 5, 6, 7, 9]), t);
    handed.extend(drain(&mut i).1);
    let order: Vec<u32> = handed.iter().map(|h| h.2.as_ref().unwrap().index).collect();
    assert_eq!(order, [3, 1, 4, 2, 5, 0, 6, 7, 9]);
}
