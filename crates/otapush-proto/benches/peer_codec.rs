//! The otapush side of `benches/peer_ofono_codec.sh` (issue 13 item 2): `sms::decode` plus the
//! text or data of every PDU in a hex file (one PDU a line), the same loop as the oFono harness.
//! Run: `cargo bench -p otapush-proto --bench peer_codec -- FILE ROUNDS REPEATS`; prints the best
//! ns per PDU, the PDU count and a checksum of the decoded lengths.

use otapush_proto::{hex, sms};
use std::hint::black_box;
use std::time::Instant;

fn decode_one(pdu: &[u8]) -> usize {
    let d = sms::decode(pdu, true).expect("a PDU of the set failed to decode");
    d.user_data().map_or(0, |u| u.as_bytes().len())
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
    let mut best = f64::MAX;
    let mut sink = 0usize;
    for _ in 0..repeats {
        let t = Instant::now();
        for _ in 0..rounds {
            for p in &pdus {
                sink += decode_one(black_box(p));
            }
        }
        let ns = t.elapsed().as_nanos() as f64 / (rounds * pdus.len() as u64) as f64;
        best = best.min(ns);
    }
    println!("{best:.1} {} {sink}", pdus.len());
}
