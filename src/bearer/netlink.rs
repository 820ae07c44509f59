//! rtnetlink messages, pure: just enough of `linux/netlink.h`, `linux/rtnetlink.h`,
//! `linux/if_link.h` and `linux/if_addr.h` to know which links are up and which hold a usable
//! address. Netlink integers are in host byte order.
//!
//! A datagram holds messages, each a 16-octet `nlmsghdr` (len u32, type u16, flags u16, seq u32,
//! pid u32) and a payload padded to 4 octets. Link messages carry an `ifinfomsg` (family u8,
//! pad u8, type u16, index i32, flags u32, change u32) then attributes; address messages an
//! `ifaddrmsg` (family u8, prefixlen u8, flags u8, scope u8, index u32) then attributes. An
//! attribute is `rtattr` (len u16, type u16) and its data, padded to 4.

use std::collections::{BTreeSet, HashMap};
use thiserror::Error;

pub const NLMSG_HDRLEN: usize = 16;
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_ROOT | NLM_F_MATCH`.
pub const NLM_F_DUMP: u16 = 0x300;
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
/// Multicast groups (`RTMGRP_*` bit masks for `sockaddr_nl.nl_groups`).
pub const RTMGRP_LINK: u32 = 0x1;
pub const RTMGRP_IPV4_IFADDR: u32 = 0x10;
pub const RTMGRP_IPV6_IFADDR: u32 = 0x100;

const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const IFLA_IFNAME: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
/// `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` share the attribute type field.
const NLA_TYPE_MASK: u16 = 0x3fff;
pub const IFF_UP: u32 = 0x1;
pub const IFF_RUNNING: u32 = 0x40;
pub const IFF_LOWER_UP: u32 = 0x10000;
pub const IFA_F_DADFAILED: u32 = 0x08;
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// Scopes at or above this (link, host, nowhere) do not reach a push server.
pub const RT_SCOPE_LINK: u8 = 253;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NetlinkError {
    #[error("netlink message at offset {offset}: {what}")]
    Malformed { offset: usize, what: &'static str },
}

/// An interface address, as far as reachability goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr {
    pub family: u8,
    pub prefix_len: u8,
    /// `IFA_LOCAL` if present (on point-to-point links `IFA_ADDRESS` is the peer), else
    /// `IFA_ADDRESS`.
    pub bytes: Vec<u8>,
}

/// One message, reduced to what the bearer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `name` is `None` when the message had no `IFLA_IFNAME`.
    NewLink {
        index: u32,
        name: Option<String>,
        flags: u32,
    },
    DelLink {
        index: u32,
    },
    /// `usable`: scope below link and neither tentative nor failed duplicate detection.
    NewAddr {
        index: u32,
        addr: Addr,
        usable: bool,
    },
    DelAddr {
        index: u32,
        addr: Addr,
    },
    Done,
    /// `NLMSG_ERROR`; `errno` 0 is an acknowledgement.
    Error {
        errno: i32,
    },
    Overrun,
    Other,
}

/// A message with its header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub msg: Message,
}

/// The messages of one datagram. Stops at the first malformed one (its length can no longer be
/// trusted to find the next).
pub struct Messages<'a> {
    buf: &'a [u8],
    offset: usize,
}

impl<'a> Messages<'a> {
    pub fn new(buf: &'a [u8]) -> Messages<'a> {
        Messages { buf, offset: 0 }
    }
}

impl Iterator for Messages<'_> {
    type Item = Result<Parsed, NetlinkError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.offset..)?;
        if rest.len() < NLMSG_HDRLEN {
            // Trailing padding, or nothing left.
            self.offset = self.buf.len();
            return None;
        }
        let at = self.offset;
        let bad = |what| Some(Err(NetlinkError::Malformed { offset: at, what }));
        let len = u32_at(rest, 0).unwrap_or(0) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            self.offset = self.buf.len();
            return bad("length outside the datagram");
        }
        let kind = u16_at(rest, 4).unwrap_or(0);
        let flags = u16_at(rest, 6).unwrap_or(0);
        let seq = u32_at(rest, 8).unwrap_or(0);
        self.offset = at.saturating_add(align4(len));
        let payload = rest.get(NLMSG_HDRLEN..len).unwrap_or_default();
        match parse_payload(kind, payload) {
            Ok(msg) => Some(Ok(Parsed { kind, flags, seq, msg })),
            Err(what) => bad(what),
        }
    }
}

fn parse_payload(kind: u16, p: &[u8]) -> Result<Message, &'static str> {
    Ok(match kind {
        NLMSG_DONE => Message::Done,
        NLMSG_OVERRUN => Message::Overrun,
        NLMSG_ERROR => {
            // An `nlmsgerr`: a negative errno (i32), then the request's header.
            let e = i32_at(p, 0).ok_or("short error message")?;
            Message::Error { errno: e.saturating_neg() }
        }
        RTM_NEWLINK | RTM_DELLINK => {
            if p.len() < IFINFOMSG_LEN {
                return Err("short ifinfomsg");
            }
            let index = u32_at(p, 4).ok_or("short ifinfomsg")?;
            if kind == RTM_DELLINK {
                return Ok(Message::DelLink { index });
            }
            let flags = u32_at(p, 8).ok_or("short ifinfomsg")?;
            let mut name = None;
            for attr in Attrs::new(p.get(IFINFOMSG_LEN..).unwrap_or_default()) {
                let (t, data) = attr?;
                if t == IFLA_IFNAME {
                    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                    name = Some(String::from_utf8_lossy(data.get(..end).unwrap_or_default()).into_owned());
                }
            }
            Message::NewLink { index, name, flags }
        }
        RTM_NEWADDR | RTM_DELADDR => {
            let (family, prefix_len, flags8, scope) = match p.get(..IFADDRMSG_LEN) {
                Some(&[f, l, fl, s, ..]) => (f, l, fl, s),
                _ => return Err("short ifaddrmsg"),
            };
            let index = u32_at(p, 4).ok_or("short ifaddrmsg")?;
            let mut flags = u32::from(flags8);
            let (mut local, mut address) = (None, None);
            for attr in Attrs::new(p.get(IFADDRMSG_LEN..).unwrap_or_default()) {
                let (t, data) = attr?;
                match t {
                    IFA_LOCAL => local = Some(data),
                    IFA_ADDRESS => address = Some(data),
                    IFA_FLAGS => flags = u32_at(data, 0).ok_or("short IFA_FLAGS")?,
                    _ => {}
                }
            }
            let bytes = local.or(address).ok_or("address without IFA_LOCAL or IFA_ADDRESS")?.to_vec();
            let addr = Addr { family, prefix_len, bytes };
            if kind == RTM_DELADDR {
                Message::DelAddr { index, addr }
            } else {
                let usable = scope < RT_SCOPE_LINK && flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) == 0;
                Message::NewAddr { index, addr, usable }
            }
        }
        _ => Message::Other,
    })
}

/// The attributes after a fixed header.
struct Attrs<'a> {
    buf: &'a [u8],
}

impl<'a> Attrs<'a> {
    fn new(buf: &'a [u8]) -> Attrs<'a> {
        Attrs { buf }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.len() < 4 {
            return None;
        }
        let len = u16_at(self.buf, 0).unwrap_or(0) as usize;
        let kind = u16_at(self.buf, 2).unwrap_or(0) & NLA_TYPE_MASK;
        let Some(data) = self.buf.get(4..len).filter(|_| len >= 4) else {
            self.buf = &[];
            return Some(Err("attribute length outside the message"));
        };
        self.buf = self.buf.get(align4(len)..).unwrap_or_default();
        Some(Ok((kind, data)))
    }
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A dump request (`NLM_F_REQUEST | NLM_F_DUMP`) for links (`RTM_GETLINK`, with an empty
/// `ifinfomsg`) or addresses (`RTM_GETADDR`, with an empty `ifaddrmsg`), all families.
pub fn dump_request(kind: u16, seq: u32) -> Vec<u8> {
    let body = if kind == RTM_GETLINK { IFINFOMSG_LEN } else { IFADDRMSG_LEN };
    let len = NLMSG_HDRLEN + body;
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills in ours
    m.resize(len, 0); // family AF_UNSPEC, everything else zero
    m
}

#[derive(Debug, Clone)]
struct Link {
    name: String,
    flags: u32,
}

/// What the kernel told us about links and addresses, and the bearer decision on top.
#[derive(Debug, Clone, Default)]
pub struct LinkTable {
    interfaces: Vec<String>,
    links: HashMap<u32, Link>,
    /// Usable addresses per link index.
    addrs: HashMap<u32, BTreeSet<Addr>>,
}

impl LinkTable {
    /// A table that judges the bearer by `interfaces` (names, e.g. `wwan0`).
    pub fn new(interfaces: Vec<String>) -> LinkTable {
        LinkTable { interfaces, ..LinkTable::default() }
    }

    /// Forgets everything (before a fresh dump).
    pub fn clear(&mut self) {
        self.links.clear();
        self.addrs.clear();
    }

    pub fn apply(&mut self, msg: &Message) {
        match msg {
            Message::NewLink { index, name, flags } => {
                let link = self.links.entry(*index).or_insert_with(|| Link { name: String::new(), flags: 0 });
                if let Some(name) = name {
                    link.name.clone_from(name);
                }
                link.flags = *flags;
            }
            Message::DelLink { index } => {
                self.links.remove(index);
                self.addrs.remove(index);
            }
            Message::NewAddr { index, addr, usable } => {
                if *usable {
                    self.addrs.entry(*index).or_default().insert(addr.clone());
                } else if let Some(set) = self.addrs.get_mut(index) {
                    set.remove(addr);
                }
            }
            Message::DelAddr { index, addr } => {
                if let Some(set) = self.addrs.get_mut(index) {
                    set.remove(addr);
                }
            }
            Message::Done | Message::Error { .. } | Message::Overrun | Message::Other => {}
        }
    }

    /// The configured interfaces that are up: administratively up, running (or lower layer up),
    /// and holding a usable address.
    pub fn up_interfaces(&self) -> Vec<&str> {
        let mut up: Vec<&str> = self
            .links
            .iter()
            .filter(|(index, link)| {
                self.interfaces.contains(&link.name)
                    && link.flags & IFF_UP != 0
                    && link.flags & (IFF_RUNNING | IFF_LOWER_UP) != 0
                    && self.addrs.get(index).is_some_and(|s| !s.is_empty())
            })
            .map(|(_, link)| link.name.as_str())
            .collect();
        up.sort_unstable();
        up
    }

    pub fn is_up(&self) -> bool {
        !self.up_interfaces().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-built messages, field by field as `linux/rtnetlink.h` lays them out (host order).

    fn header(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = NLMSG_HDRLEN + payload.len();
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes()); // nlmsg_len
        m.extend_from_slice(&kind.to_ne_bytes()); // nlmsg_type
        m.extend_from_slice(&flags.to_ne_bytes()); // nlmsg_flags
        m.extend_from_slice(&seq.to_ne_bytes()); // nlmsg_seq
        m.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid (0: from the kernel)
        m.extend_from_slice(payload);
        m.resize(align4(m.len()), 0); // NLMSG_ALIGN padding
        m
    }

    fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes()); // rta_len (unpadded)
        a.extend_from_slice(&kind.to_ne_bytes()); // rta_type
        a.extend_from_slice(data);
        a.resize(align4(a.len()), 0); // RTA_ALIGN padding
        a
    }

    fn link(kind: u16, index: u32, flags: u32, name: Option<&str>) -> Vec<u8> {
        let mut p = vec![0u8, 0]; // ifi_family AF_UNSPEC, pad
        p.extend_from_slice(&1u16.to_ne_bytes()); // ifi_type ARPHRD_ETHER
        p.extend_from_slice(&index.to_ne_bytes()); // ifi_index
        p.extend_from_slice(&flags.to_ne_bytes()); // ifi_flags
        p.extend_from_slice(&0xFFFF_FFFFu32.to_ne_bytes()); // ifi_change
        p.extend_from_slice(&attr(4, &1500u32.to_ne_bytes())); // IFLA_MTU, skipped
        if let Some(n) = name {
            p.extend_from_slice(&attr(IFLA_IFNAME, format!("{n}\0").as_bytes()));
            // NUL-terminated
        }
        header(kind, 0, 0, &p)
    }

    fn addr(kind: u16, index: u32, ip: [u8; 4], scope: u8, flags8: u8, flags32: Option<u32>) -> Vec<u8> {
        // ifa_family AF_INET (2), ifa_prefixlen 24, ifa_flags, ifa_scope, ifa_index
        let mut p = vec![2u8, 24, flags8, scope];
        p.extend_from_slice(&index.to_ne_bytes());
        p.extend_from_slice(&attr(IFA_ADDRESS, &ip));
        p.extend_from_slice(&attr(IFA_LOCAL, &ip));
        if let Some(f) = flags32 {
            p.extend_from_slice(&attr(IFA_FLAGS, &f.to_ne_bytes())); // supersedes ifa_flags
        }
        header(kind, 0, 0, &p)
    }

    fn apply_all(t: &mut LinkTable, datagram: &[u8]) {
        for m in Messages::new(datagram) {
            t.apply(&m.unwrap().msg);
        }
    }

    const RUNNING: u32 = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;

    #[test]
    fn constants_match_the_kernel_headers_as_libc_has_them() {
        assert_eq!(RTM_NEWLINK, libc::RTM_NEWLINK);
        assert_eq!(RTM_DELLINK, libc::RTM_DELLINK);
        assert_eq!(RTM_GETLINK, libc::RTM_GETLINK);
        assert_eq!(RTM_NEWADDR, libc::RTM_NEWADDR);
        assert_eq!(RTM_DELADDR, libc::RTM_DELADDR);
        assert_eq!(RTM_GETADDR, libc::RTM_GETADDR);
        assert_eq!(i32::from(NLMSG_ERROR), libc::NLMSG_ERROR);
        assert_eq!(i32::from(NLMSG_DONE), libc::NLMSG_DONE);
        assert_eq!(i32::from(NLMSG_OVERRUN), libc::NLMSG_OVERRUN);
        assert_eq!(i32::from(NLM_F_REQUEST), libc::NLM_F_REQUEST);
        assert_eq!(i32::from(NLM_F_MULTI), libc::NLM_F_MULTI);
        assert_eq!(i32::from(NLM_F_DUMP), libc::NLM_F_DUMP);
        assert_eq!(i32::from(NLM_F_DUMP_INTR), libc::NLM_F_DUMP_INTR);
        assert_eq!(RTMGRP_LINK as i32, libc::RTMGRP_LINK);
        assert_eq!(RTMGRP_IPV4_IFADDR as i32, libc::RTMGRP_IPV4_IFADDR);
        assert_eq!(RTMGRP_IPV6_IFADDR as i32, libc::RTMGRP_IPV6_IFADDR);
        assert_eq!(IFLA_IFNAME, libc::IFLA_IFNAME);
        assert_eq!(IFA_ADDRESS, libc::IFA_ADDRESS);
        assert_eq!(IFA_LOCAL, libc::IFA_LOCAL);
        assert_eq!(IFF_UP as i32, libc::IFF_UP);
        assert_eq!(IFF_RUNNING as i32, libc::IFF_RUNNING);
        assert_eq!(IFF_LOWER_UP as i32, libc::IFF_LOWER_UP);
        assert_eq!(IFA_F_TENTATIVE, libc::IFA_F_TENTATIVE);
        assert_eq!(IFA_F_DADFAILED, libc::IFA_F_DADFAILED);
        assert_eq!(RT_SCOPE_LINK, libc::RT_SCOPE_LINK);
        assert_eq!(NLMSG_HDRLEN, std::mem::size_of::<libc::nlmsghdr>());
        assert_eq!(IFINFOMSG_LEN, std::mem::size_of::<libc::ifinfomsg>());
    }

    #[test]
    fn parses_links_and_addresses() {
        let mut dgram = link(RTM_NEWLINK, 5, RUNNING, Some("wwan0"));
        dgram.extend(addr(RTM_NEWADDR, 5, [10, 0, 0, 7], 0, 0, None));
        dgram.extend(header(NLMSG_DONE, NLM_F_MULTI, 9, &0i32.to_ne_bytes()));
        let msgs: Vec<Parsed> = Messages::new(&dgram).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0].msg, Message::NewLink { index: 5, name: Some("wwan0".into()), flags: RUNNING });
        let a = Addr { family: 2, prefix_len: 24, bytes: vec![10, 0, 0, 7] };
        assert_eq!(msgs[1].msg, Message::NewAddr { index: 5, addr: a, usable: true });
        assert_eq!(
            (msgs[2].kind, msgs[2].flags, msgs[2].seq, &msgs[2].msg),
            (NLMSG_DONE, NLM_F_MULTI, 9, &Message::Done)
        );
    }

    #[test]
    fn error_and_overrun() {
        // nlmsgerr: error -16 (EBUSY), then the offending request's header.
        let mut p = (-16i32).to_ne_bytes().to_vec();
        p.extend_from_slice(&dump_request(RTM_GETADDR, 3)[..NLMSG_HDRLEN]);
        let m: Vec<_> = Messages::new(&header(NLMSG_ERROR, 0, 3, &p)).collect();
        assert_eq!(m[0].as_ref().unwrap().msg, Message::Error { errno: 16 });
        let m: Vec<_> = Messages::new(&header(NLMSG_OVERRUN, 0, 0, &[])).collect();
        assert_eq!(m[0].as_ref().unwrap().msg, Message::Overrun);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let good = link(RTM_NEWLINK, 1, RUNNING, Some("wwan0"));
        // A length past the datagram.
        let mut bad = good.clone();
        bad[..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(matches!(Messages::new(&bad).next(), Some(Err(NetlinkError::Malformed { offset: 0, .. }))));
        // An attribute whose length runs past the message.
        let mut bad = good.clone();
        bad[NLMSG_HDRLEN + IFINFOMSG_LEN..][..2].copy_from_slice(&200u16.to_ne_bytes());
        assert!(Messages::new(&bad).next().unwrap().is_err());
        // A short ifaddrmsg, after a good message: the error names the second one's offset.
        let mut two = good.clone();
        two.extend(header(RTM_NEWADDR, 0, 0, &[2, 24]));
        let r: Vec<_> = Messages::new(&two).collect();
        assert!(matches!(r[1], Err(NetlinkError::Malformed { offset, .. }) if offset == good.len()));
        // Every truncation of a valid datagram is handled.
        let mut dgram = good.clone();
        dgram.extend(addr(RTM_NEWADDR, 1, [1, 2, 3, 4], 0, 0, Some(0)));
        for cut in 0..dgram.len() {
            for m in Messages::new(&dgram[..cut]) {
                let _ = m;
            }
        }
    }

    #[test]
    fn dump_request_layout() {
        let r = dump_request(RTM_GETLINK, 7);
        assert_eq!(r.len(), 32);
        let m: Vec<_> = Messages::new(&r).map(Result::unwrap).collect();
        assert_eq!((m[0].kind, m[0].flags, m[0].seq), (RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 7));
        assert_eq!(dump_request(RTM_GETADDR, 8).len(), 24);
    }

    #[test]
    fn bearer_needs_a_configured_link_up_running_with_a_usable_address() {
        let mut t = LinkTable::new(vec!["wwan0".into(), "ppp0".into()]);
        // eth0 is up with an address, but not configured.
        apply_all(&mut t, &link(RTM_NEWLINK, 2, RUNNING, Some("eth0")));
        apply_all(&mut t, &addr(RTM_NEWADDR, 2, [192, 168, 1, 2], 0, 0, None));
        assert!(!t.is_up());
        // wwan0 administratively up but no carrier.
        apply_all(&mut t, &link(RTM_NEWLINK, 5, IFF_UP, Some("wwan0")));
        apply_all(&mut t, &addr(RTM_NEWADDR, 5, [10, 0, 0, 7], 0, 0, None));
        assert!(!t.is_up());
        // Carrier: lower layer up (a raw-IP wwan device reports LOWER_UP).
        apply_all(&mut t, &link(RTM_NEWLINK, 5, IFF_UP | IFF_LOWER_UP, None));
        assert_eq!(t.up_interfaces(), ["wwan0"], "the name is kept from the earlier message");
        // Address removed: down.
        apply_all(&mut t, &addr(RTM_DELADDR, 5, [10, 0, 0, 7], 0, 0, None));
        assert!(!t.is_up());
        // Link-scope and tentative addresses do not count.
        apply_all(&mut t, &addr(RTM_NEWADDR, 5, [169, 254, 0, 1], RT_SCOPE_LINK, 0, None));
        apply_all(&mut t, &addr(RTM_NEWADDR, 5, [10, 0, 0, 8], 0, IFA_F_TENTATIVE as u8, None));
        apply_all(&mut t, &addr(RTM_NEWADDR, 5, [10, 0, 0, 9], 0, 0, Some(IFA_F_TENTATIVE)));
        assert!(!t.is_up());
        // Duplicate detection finished: the same address again without the flag.
        apply_all(&mut t, &addr(RTM_NEWADDR, 5, [10, 0, 0, 9], 0, 0, Some(0)));
        assert!(t.is_up());
        // Administratively down.
        apply_all(&mut t, &link(RTM_NEWLINK, 5, IFF_LOWER_UP | IFF_RUNNING, Some("wwan0")));
        assert!(!t.is_up());
        // ppp0 comes up; then the link is deleted.
        apply_all(&mut t, &link(RTM_NEWLINK, 9, IFF_UP | IFF_RUNNING, Some("ppp0")));
        apply_all(&mut t, &addr(RTM_NEWADDR, 9, [100, 64, 0, 1], 0, 0, None));
        assert_eq!(t.up_interfaces(), ["ppp0"]);
        apply_all(&mut t, &link(RTM_DELLINK, 9, 0, Some("ppp0")));
        assert!(!t.is_up());
        // Re-created with the same index: its old addresses are gone.
        apply_all(&mut t, &link(RTM_NEWLINK, 9, RUNNING, Some("ppp0")));
        assert!(!t.is_up());
        // A rename away from a configured name.
        apply_all(&mut t, &addr(RTM_NEWADDR, 9, [100, 64, 0, 1], 0, 0, None));
        assert!(t.is_up());
        apply_all(&mut t, &link(RTM_NEWLINK, 9, RUNNING, Some("ppp1")));
        assert!(!t.is_up());
        t.clear();
        assert!(t.up_interfaces().is_empty());
    }
}
