//! The rtnetlink socket (`AF_NETLINK`, `NETLINK_ROUTE`, netlink(7)) in a tokio `AsyncFd`, and
//! the task that keeps a [`LinkTable`] current from a dump and the multicast notifications.
//! `unsafe` appears only around the system calls.

use super::netlink::{
    dump_request, LinkTable, Message, Messages, NLM_F_DUMP_INTR, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR,
    RTMGRP_LINK, RTM_GETADDR, RTM_GETLINK,
};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::watch;

/// A non-blocking rtnetlink socket subscribed to link and address changes.
pub struct NetlinkSocket {
    fd: AsyncFd<OwnedFd>,
}

fn kernel_address(groups: u32) -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain integers; all-zero is a valid value (it has a private pad
    // field, so it cannot be built with a literal).
    let mut a: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    a.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    a.nl_pid = 0;
    a.nl_groups = groups;
    a
}

const SOCKADDR_NL_LEN: libc::socklen_t = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;

impl NetlinkSocket {
    /// Opens the socket and joins the link, IPv4 and IPv6 address groups. Needs a tokio runtime.
    pub fn open() -> io::Result<NetlinkSocket> {
        // SAFETY: socket(2) with constant arguments; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just created and own; OwnedFd closes it once.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let local = kernel_address(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
        // SAFETY: `local` is a valid sockaddr_nl and the length passed is its size.
        let r = unsafe {
            libc::bind(fd.as_raw_fd(), (&local as *const libc::sockaddr_nl).cast(), SOCKADDR_NL_LEN)
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: an OwnedFd stays open and returns the same descriptor until it is dropped,
        // which happens only with the AsyncFd that owns it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(NetlinkSocket { fd })
    }

    /// Sends one request to the kernel.
    pub fn send(&self, msg: &[u8]) -> io::Result<()> {
        let kernel = kernel_address(0);
        // SAFETY: `msg` is valid for reads of its length; `kernel` is a valid sockaddr_nl.
        let n = unsafe {
            libc::sendto(
                self.fd.get_ref().as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                SOCKADDR_NL_LEN,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Receives one datagram into `buf`. A datagram longer than `buf` is an error (its tail
    /// would be lost), as is `ENOBUFS` (the kernel dropped notifications): both call for a
    /// fresh dump.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut ready = self.fd.readable().await?;
            match ready.try_io(|fd| recv_once(fd.get_ref().as_raw_fd(), buf)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

fn recv_once(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length. MSG_TRUNC makes the call return the
    // datagram's real length, so truncation is visible.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    if n > buf.len() {
        return Err(io::Error::other(format!("netlink datagram of {n} bytes truncated")));
    }
    Ok(n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dump {
    Links(u32),
    Addrs(u32),
    Done,
}

/// Keeps `up` equal to `table.is_up()`: dumps links then addresses, then follows notifications.
/// A lost notification (`ENOBUFS`, overrun, truncation, an interrupted dump) calls for a fresh
/// dump; `up` is published only when no dump is half done or due. `via` gets the configured
/// interfaces that are up. Returns on a socket error it cannot recover from (after publishing
/// down).
pub async fn watch_links(
    sock: NetlinkSocket,
    table: LinkTable,
    up: watch::Sender<bool>,
    via: watch::Sender<Vec<String>>,
) {
    if let Err(e) = follow(&sock, table, &up, &via).await {
        log::error!("bearer: netlink: {e}; the bearer stays down");
        up.send_if_modified(|v| std::mem::replace(v, false));
        via.send_if_modified(|v| !std::mem::take(v).is_empty());
    }
}

async fn follow(
    sock: &NetlinkSocket,
    mut table: LinkTable,
    up: &watch::Sender<bool>,
    via: &watch::Sender<Vec<String>>,
) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut seq = 0u32;
    let mut dump = Dump::Done;
    let mut redump = true;
    let mut failed = false;
    loop {
        // One dump at a time per socket (the kernel answers EBUSY otherwise): a fresh one
        // starts once the current one is done.
        if redump && dump == Dump::Done {
            if failed {
                // The kernel refused the last dump: no tight request/refusal loop.
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                failed = false;
            }
            redump = false;
            table.clear();
            dump = Dump::Links(request_dump(sock, RTM_GETLINK, &mut seq)?);
        }
        let n = match sock.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) || e.kind() == io::ErrorKind::Other => {
                log::warn!("bearer: netlink: {e}; reading the state again");
                redump = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        for parsed in Messages::new(buf.get(..n).unwrap_or_default()) {
            let p = match parsed {
                Ok(p) => p,
                Err(e) => {
                    log::warn!("bearer: {e}");
                    break;
                }
            };
            if p.flags & NLM_F_DUMP_INTR != 0 {
                redump = true;
            }
            match (&p.msg, dump) {
                (Message::Done, Dump::Links(s)) if s == p.seq => {
                    dump = Dump::Addrs(request_dump(sock, RTM_GETADDR, &mut seq)?);
                }
                (Message::Done, Dump::Addrs(s)) if s == p.seq => dump = Dump::Done,
                (Message::Error { errno }, Dump::Links(s) | Dump::Addrs(s)) if *errno != 0 && s == p.seq => {
                    log::warn!("bearer: netlink dump failed: errno {errno}; again");
                    dump = Dump::Done;
                    redump = true;
                    failed = true;
                }
                (Message::Overrun, _) => redump = true,
                (msg, _) => table.apply(msg),
            }
        }
        if dump == Dump::Done && !redump {
            let names: Vec<String> = table.up_interfaces().into_iter().map(String::from).collect();
            let now = !names.is_empty();
            let changed = up.send_if_modified(|v| std::mem::replace(v, now) != now);
            via.send_if_modified(|v| {
                if *v == names {
                    return false;
                }
                v.clone_from(&names);
                true
            });
            if changed {
                log::info!("bearer: {} {names:?}", if now { "up" } else { "down" });
            }
        }
    }
}

/// Sends a dump request with the next sequence number, which it returns.
fn request_dump(sock: &NetlinkSocket, kind: u16, seq: &mut u32) -> io::Result<u32> {
    *seq = seq.wrapping_add(1);
    sock.send(&dump_request(kind, *seq))?;
    Ok(*seq)
}
