#!/usr/bin/env python3
"""Peer figure: python-messaging (PyPI `python-messaging`) decoding the same PDUs as
benches/codec.rs, decode plus text (or data) per PDU, and its WAP push reassembly of the
two-segment MMS notification.

Setup (once): python3 -m venv /tmp/pmvenv && /tmp/pmvenv/bin/pip install python-messaging
Run: /tmp/pmvenv/bin/python benches/peer_python_messaging.py
"""
import timeit

from messaging.sms import SmsDeliver
from messaging.sms.wap import extract_push_notification

# The PDUs of benches/codec.rs (sources named there; GSM7_160 is the PDU codec.rs builds with
# the encoder, checked there against this hex).
GSM7_160 = (
    "0791447758100650040C91447700091032000042507121035488A054741914AFA7C76B9058FEBEBB41E6371EA4AEB7E173"
    "D0DB5E9683E8E832881DD6E741E4F719048BC966B49AED86CBB94054741914AFA7C76B9058FEBEBB41E6371EA4AEB7E173"
    "D0DB5E9683E8E832881DD6E741E4F719048BC966B49AED86CBB94054741914AFA7C76B9058FEBEBB41E6371EA4AEB7E173"
    "D0DB5E9683E8E832881DD6E741E4F719048BC966"
)
SHORT = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
UCS2 = (
    "04819999990414D0FBFD7EBFDFEFF77BFE1E0019512090801361807E00DC00FC00C400E400D600F600C5"
    "00E500D800F800C600E600C700E700C900E900CA00EA00DF003100320033003400350036003700380039"
    "003000200054006800690073002000"
    "6D0065007300730061006700650020006900730020003600330020"
    "0075006E00690063006F00640065002000630068006100720073002E"
)
MMS = [
    "0791447758100650400E80885810000000810004016082415464408C0C08049F8E020105040B8423F00106226170706C69636174696F6E2F766E642E7761702E6D6D732D6D65737361676500AF848C82984E4F4B3543694B636F544D595347344D4253774141734B7631344655484141414141414141008D908919802B3434373738353334323734392F545950453D504C4D4E008A808E0274008805810301194083687474703A2F",
    "0791447758100650440E8088581000000081000401608241547440440C08049F8E020205040B8423F02F70726F6D6D732F736572766C6574732F4E4F4B3543694B636F544D595347344D4253774141734B763134465548414141414141414100",
]


def decode_text(pdu):
    d = SmsDeliver(pdu)
    return d.text if d.text is not None else d.data


def per_call_us(fn, number):
    best = min(timeit.repeat(fn, number=number, repeat=5))
    return best / number * 1e6


def main():
    for name, pdu in [("gsm7_160", GSM7_160), ("gsm7_short", SHORT), ("ucs2_63", UCS2), ("8bit_mms_segment", MMS[0])]:
        assert decode_text(pdu)
        print("python-messaging: sms_decode_text/%-18s %8.1f us per PDU" % (name, per_call_us(lambda: decode_text(pdu), 2000)))

    def push():
        # Decode both segments, order them by their concatenation sequence number, join the
        # 8-bit user data and parse the WSP push and MMS notification (python-messaging's
        # test_wap.py does the same).
        segs = sorted((SmsDeliver(p) for p in MMS), key=lambda d: d.udh.concat.seq)
        return extract_push_notification(b"".join(d.text for d in segs))

    assert push().headers.get("Content-Location")
    print("python-messaging: receive_path/mms_two_segments   %8.1f us per segment" % (per_call_us(push, 1000) / 2))

if __name__ == "__main__":
    main()
