//! The otapush side of `benches/peer_ofono_codec.sh` (issue 13 item 2): `sms::view` plus the
//! text (into one reused `String`) or the borrowed data of every PDU in a hex file (one PDU a
//! line), the same loop as the oFono harness.
//! Run: `cargo bench -p otapush-proto --bench peer_codec -- FILE ROUNDS REPEATS`; prints the best
//! ns per PDU, the PDU count and a checksum of the decoded lengths.
//! `PEER_CODEC_OWNED=1`: the owned `sms::decode` instead (the figure before the view);
//! `PEER_CODEC_ADDRESS=1`: the view, and the text of the service-centre address and of the
//! originator also written into a reused `String` (oFono's `sms_decode` formats both).

use otapush_proto::{hex, sms};
use std::hint::black_box;
use std::time::Instant;

fn decode_owned(pdu: &[u8]) -> usize {
    let d = sms::decode(pdu, true).expect("a PDU of the set failed to decode");
    d.user_data().map_or(0, |u| u.as_bytes().len())
}

fn decode_view(pdu: &[u8], text: &mut String, address: Option<&mut String>) -> usize {
    let v = sms::view(pdu, true).expect("a PDU of the set failed to decode");
    if let Some(a) = address {
        a.clear();
        if let Some(smsc) = v.smsc() {
            smsc.push_to(a);
        }
        v.originator().push_to(a);
        black_box(a.len());
    }
    match v.user_data() {
        Some(ud) => match ud.binary() {
            Some(data) => data.len(),
            None => {
                text.clear();
                ud.text_into(text);
                text.len()
            }
        },
        None => 0,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; the positional arguments are ours.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let [file, rounds, repeats] = args.as_slice() else {
        eprintln!("usage: peer_codec FILE ROUNDS REPEATS");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(file).expect("the PDU file");
    let pdus: Vec<Vec<u8>> =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| hex::decode(l.trim()).expect("hex")).collect();
    let rounds: u64 = rounds.parse().expect("ROUNDS");
    let repeats: u64 = repeats.parse().expect("REPEATS");
    let owned = std::env::var_os("PEER_CODEC_OWNED").is_some_and(|v| v == "1");
    let with_address = std::env::var_os("PEER_CODEC_ADDRESS").is_some_and(|v| v == "1");
    let mut best = f64::MAX;
    let mut sink = 0usize;
    let (mut text, mut address) = (String::new(), String::new());
    for _ in 0..repeats {
        let t = Instant::now();
        for _ in 0..rounds {
            for p in &pdus {
                let p = black_box(p.as_slice());
                sink += if owned {
                    decode_owned(p)
                } else {
                    decode_view(p, &mut text, with_address.then_some(&mut address))
                };
            }
        }
        let ns = t.elapsed().as_nanos() as f64 / (rounds * pdus.len() as u64) as f64;
        best = best.min(ns);
    }
    println!("{best:.1} {} {sink}", pdus.len());
}
