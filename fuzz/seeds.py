#!/usr/bin/env python3
"""Writes the committed seed corpus fuzz/corpus/<target>/ from the unit-test vectors.

Run from the repository root: `python3 fuzz/seeds.py`. The output is deterministic (file
names are the first 16 hex digits of each input's SHA-256), so re-running it only adds files
when vectors were added. Sources:

- sms: every hex PDU literal (concat! pieces joined) in crates/otapush-proto/src/sms/tests.rs,
  src/ctl/decode_sms.rs and src/receive.rs, plus the simulator's sample PDU (src/modem/sim/core.rs).
- udh: the headers of those PDUs (TP-UDHI set), and the hand-made ones of the
  crates/otapush-proto/src/sms/udh.rs tests.
- wsp: every hex("...") literal in crates/otapush-proto/src/wsp/vectors.rs and
  src/ctl/decode_wsp.rs, and the WSP payloads of the single-segment push PDUs above.
- sse: the event streams of crates/otapush-proto/src/sse/parser.rs tests, behind a 4-octet
  header (caps, seed).
- reassembly: segment sequences in the record format of fuzz/src/lib.rs `reassembly`.
- receive: the PDUs above as record sequences (all multi-part vectors in order, reversed,
  duplicated), format of `receive`.
- at: AT transcripts of src/modem/at/engine.rs tests and the simulator, format of `at`.
"""
import hashlib
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def src(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def hex_literals(text, min_len=16):
    """Hex strings: each concat!(...) joined, other literals alone; whitespace removed."""
    found = []
    spans = []
    for m in re.finditer(r"concat!\((.*?)\)", text, re.S):
        parts = re.findall(r'"([0-9A-Fa-f\s]*)"', m.group(1))
        found.append("".join("".join(parts).split()))
        spans.append(m.span())
    for m in re.finditer(r'"([0-9A-Fa-f\s]+)"', text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        found.append("".join(m.group(1).split()))
    out = []
    for h in found:
        if len(h) >= min_len and len(h) % 2 == 0:
            out.append(bytes.fromhex(h))
    return out


def write(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha256(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sms_parts(pdu):
    """(udh, user-data octets) of an SMS-DELIVER with SMSC prefix, when it has a UDH; None
    otherwise. Only what the seeds need: no validation."""
    try:
        i = 1 + pdu[0]
        first = pdu[i]
        if first & 0x03 != 0:
            return None
        oa_digits = pdu[i + 1]
        i += 3 + (oa_digits + 1) // 2
        dcs = pdu[i + 1]
        i += 2 + 7
        udl = pdu[i]
        ud = pdu[i + 1 :]
        if not first & 0x40:
            return None
        udhl = ud[0]
        udh = ud[1 : 1 + udhl]
        eight_bit = (dcs & 0x0C) == 0x04 or (dcs & 0xF0) == 0xF0 and dcs & 0x04
        return udh, (ud[1 + udhl : udl] if eight_bit else None)
    except IndexError:
        return None


def main():
    sms_pdus = []
    for path in ["crates/otapush-proto/src/sms/tests.rs", "src/ctl/decode_sms.rs", "src/receive.rs"]:
        sms_pdus += hex_literals(src(path))
    sample = bytes([0x00, 0x04, 0x0B, 0x91, 0x21, 0x43, 0x65, 0x87, 0x09, 0xF1, 0x00, 0x04,
                    0x52, 0x30, 0x10, 0x21, 0x43, 0x65, 0x00, 0x02, 0x53, 0x01])
    sms_pdus.append(sample)
    for p in sms_pdus:
        write("sms", p)

    udhs = [bytes.fromhex(h) for h in [
        "08049F8E020105040B8423F0", "00030102", "000301020104020102", "2401012501030003070301",
        "", "700000", "0003010203", "00020102040109",
    ]]
    wsp_payloads = []
    for p in sms_pdus:
        parts = sms_parts(p)
        if parts:
            udhs.append(parts[0])
            if parts[1] and len(parts[1]) > 3 and parts[1][1] in (6, 7):
                wsp_payloads.append(parts[1])
    for u in udhs:
        write("udh", u)

    wsp_text = src("crates/otapush-proto/src/wsp/vectors.rs") + src("src/ctl/decode_wsp.rs")
    for m in re.finditer(r'hex\(\s*"([0-9A-Fa-f\s]+)"', wsp_text):
        h = "".join(m.group(1).split())
        if len(h) % 2 == 0:
            wsp_payloads.append(bytes.fromhex(h))
    for h in ["C4060A07B6918192414200B4810206"]:
        wsp_payloads.append(bytes.fromhex(h))
    for w in wsp_payloads:
        write("wsp", w)

    # sse: caps 0xFF (256-octet lines and events), up to 16 lines, seed; then the stream.
    streams = [
        b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n\n",
        b"retry:1000\ndata:test1\n\nid:test\ndata:test2\n",
        b"data:\n\ndata\ndata\n\ndata:test\n\n\n",
        b"event:test\ndata:x\n\ndata:x\n\n\n",
        b"id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
        b"id: x\0\ndata: hello\n\n",
        b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
        b"retry:3000\nretry:1000x\ndata:x\n\n\n",
        b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n",
        b"data:test\r\ndata\ndata:test\r\n\r\n",
        b"data:a\r\r\ndata:b\n\n",
        b"data:a\xFFb\ndata:\xE2\x82\nid:\xC3\n\ndata:next\n\n",
        b"retry:99999999999999999999999\n\n",
        b": keep-alive\n\n" + b"data: " + b"x" * 300 + b"\n\ndata: after\n\n",
        b"".join(b"data: line %d\n" % i for i in range(40)) + b"\n",
    ]
    for i, s in enumerate(streams):
        write("sse", bytes([0xFF, 0xFF, 0x0F, i + 1]) + s)
        write("sse", bytes([0x10, 0x08, 0x02, i + 7]) + s)

    # reassembly: limits (4 partials, 1 KiB, 10 s); records op orig ref flags total seq dt len.
    def seg(orig, ref, flags, total, seq, dt, data):
        return bytes([0, orig, ref, flags, total, seq, dt, len(data)]) + data
    ports16 = 1 << 3
    r16 = 2 << 1
    r8 = 1 << 1
    head = bytes([3, 255, 9])
    write("reassembly", head + seg(0, 7, r16 | ports16, 2, 1, 0, b"a" * 40) + seg(0, 7, r16 | ports16, 2, 2, 1, b"b" * 20))
    write("reassembly", head + seg(0, 7, r8, 3, 3, 0, b"c") + seg(1, 7, r8, 3, 1, 0, b"a") + seg(0, 7, r8, 3, 2, 0, b"b"))
    write("reassembly", head + seg(2, 1, r8, 2, 1, 0, b"x") + seg(3, 1, r8, 2, 1, 0, b"x") + seg(2, 1, r8, 2, 1, 0, b"y")
          + bytes([6]) + seg(2, 1, r8 | ports16, 2, 2, 0, b"z") + seg(2, 1, r8, 2, 2, 0, b"z"))
    write("reassembly", head + b"".join(seg(0, i, r16, 2, 1, 2, b"p" * 30) for i in range(8)) + bytes([7]))
    write("reassembly", bytes([0, 4, 0]) + seg(0, 1, r8, 2, 1, 0, b"q" * 10) + seg(0, 2, r8, 2, 1, 0, b"r" * 10)
          + seg(0, 0, 0, 1, 1, 0, b"single") + seg(0, 9, 3 << 1, 2, 1, 0, b"bad width") + bytes([7]))

    # receive: limits (8 partials, 1 KiB, 60 s); records dt len pdu.
    def rec(dt, pdu):
        return bytes([dt, len(pdu)]) + pdu
    rx_head = bytes([7, 255, 59])
    groups = []
    text = src("crates/otapush-proto/src/sms/tests.rs")
    for m in re.finditer(r"let parts = \[(.*?)\];", text, re.S):
        groups.append(hex_literals(m.group(1)))
    groups.append([p for p in sms_pdus if len(p) < 256][:12])
    for g in groups:
        g = [p for p in g if len(p) < 256]
        if not g:
            continue
        write("receive", rx_head + b"".join(rec(1, p) for p in g))
        write("receive", rx_head + b"".join(rec(0, p) for p in reversed(g)))
        write("receive", rx_head + b"".join(rec(0, p) + rec(0, p) for p in g) + bytes([0xFF, 120]))
    mms = [p for p in sms_pdus if p.startswith(bytes.fromhex("0791447758100650"))][:2]
    if len(mms) == 2:
        write("receive", bytes([0, 0, 0]) + rec(0, mms[0]) + bytes([0xFF, 2]) + rec(0, mms[1]))

    # at: max line 255; ops 0 feed, 1 submit (sel, arg), 2 time, 3 reset, 4 drain.
    def feed(b):
        out = b""
        while b:
            out += bytes([0, min(len(b), 255)]) + b[:255]
            b = b[255:]
        return out
    at = [
        bytes([1, 9, 0, 1, 6, 0, 4]) + feed(b"ATE0\r\r\nOK\r\n") + feed(b"\r\nERROR\r\n") + bytes([4]),
        bytes([1, 7, 0]) + feed(b"\r\n+CMTI: \"SM\",1\r\n+CPMS: \"SM\",1,10,\"SM\",1,10,\"SM\",1,10\r\n\r\nOK\r\n+CMTI: \"SM\",2\r\n"),
        bytes([1, 2, 4]) + feed(b"+CMGL: 1,1,,3\r\n00060102\r\n+CMT: ,2\r\n000601\r\n+CMGL: 2,1,,3\r\n00060103\r\nOK\r\n"),
        bytes([1, 4, 0]) + feed(b"\r\n+CPIN: READY\r\n") + bytes([2, 20]),
        feed(b"\r\n+CMS ERROR: 322\r\nOK\r\n") + bytes([1, 3, 3]) + feed(b"AT+CMGD=3\r\r\nOK\r\n"),
        feed(b"+CMT: ,3\r\n+CMTI: \"SM\",5\r\n") + bytes([3]),
        bytes([1, 1, 0]) + feed(b"\r\n+CMGR: 0,,21\r\n" + sample.hex().upper().encode() + b"\r\n\r\nOK\r\n"),
        bytes([1, 6, 0]) + feed(b"\r\n+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)\r\n\r\nOK\r\n"),
        bytes([1, 7, 0]) + feed(b"\r\n+CPMS: ((\"SM\",\"ME\"),(\"SM\",\"ME\"),(\"SM\"))\r\nOK\r\n+CIEV: 7,1\r\n"),
        feed(b"+CDS: 25\r\n" + b"07914477581006500621" + b"\r\n+CIND: (\"battchg\",(0-5)),(\"smsfull\",(0,1))\r\n"),
        bytes([1, 0, 0, 2, 40, 1, 0, 0, 2, 255]) + feed(b"RDY\r\n^BOOT:1,2\r\n+QIND: SMS DONE\r\n"),
    ]
    for a in at:
        write("at", bytes([255]) + a)
        write("at", bytes([24]) + a)


if __name__ == "__main__":
    main()
