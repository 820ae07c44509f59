//! `bearer.mode = "auto"` against the real kernel: rtnetlink notifications for veth links and
//! addresses made by `ip` in a fresh network namespace (needs root: `unshare(CLONE_NEWNET)` and
//! link creation). `dummy` links are not available on every kernel; a veth pair is, and its
//! carrier (RUNNING / LOWER_UP) follows its peer, which the test uses too.
//!
//! As non-root the namespace part cannot run; the test then checks what an unprivileged process
//! can (the socket, the dump, a loopback interface that must not count) and says so on stderr.

use otapush::bearer::spawn_bearer;
use otapush::config::{BearerConfig, BearerMode};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const GUARD: Duration = Duration::from_secs(20);

fn ip(args: &str) {
    let out = Command::new("ip").args(args.split(' ')).output().expect("running ip");
    assert!(out.status.success(), "ip {args}: {}", String::from_utf8_lossy(&out.stderr));
}

async fn wait_for<T: Clone>(rx: &mut watch::Receiver<T>, what: &str, f: impl FnMut(&T) -> bool) -> T {
    match tokio::time::timeout(GUARD, rx.wait_for(f)).await {
        Ok(v) => v.unwrap().clone(),
        Err(_) => panic!("never saw {what}"),
    }
}

fn auto(interfaces: &[&str]) -> BearerConfig {
    BearerConfig { mode: BearerMode::Auto, interfaces: interfaces.iter().map(|s| s.to_string()).collect() }
}

/// Runs `f` on a fresh thread in a fresh network namespace, on a current-thread runtime (as the
/// daemon runs). Only that thread (and the `ip` processes it starts) sees the namespace.
fn in_new_netns(f: impl std::future::Future<Output = ()> + Send + 'static) {
    std::thread::spawn(move || {
        // SAFETY: unshare(2) with a constant flag; it moves only the calling thread.
        let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f);
    })
    .join()
    .unwrap();
}

#[test]
fn auto_mode_follows_links_and_addresses() {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "NOT ROOT: the network-namespace part of this test cannot run; checking the unprivileged part"
        );
        unprivileged();
        return;
    }
    in_new_netns(async {
        ip("link add wwtest0 type veth peer name wwpeer0");
        // A sentinel pair: bringing it up and down proves that the watcher has handled every
        // earlier notification (they arrive in order on one socket), so "still down" checks
        // need no sleeps.
        ip("link add wwsent0 type veth peer name wwsentp");
        ip("link set wwsentp up");
        ip("link set wwsent0 up");
        let (handle, mut up) = spawn_bearer(&auto(&["wwtest0", "wwsent0"]));
        let mut via = handle.interfaces();

        let v = barrier(&mut via).await;
        assert!(v.is_empty() && !*up.borrow(), "a link that is down: {v:?}");

        // Up and running (peer up), but no address yet.
        ip("link set wwpeer0 up");
        ip("link set wwtest0 up");
        let v = barrier(&mut via).await;
        assert!(v.is_empty() && !*up.borrow(), "no address: {v:?}");

        // An address: up, by notification.
        let t0 = Instant::now();
        ip("addr add 10.9.8.7/24 dev wwtest0");
        wait_for(&mut up, "up", |u| *u).await;
        eprintln!("address added → bearer up in {:?}", t0.elapsed());
        assert_eq!(*via.borrow(), ["wwtest0"]);

        ip("addr del 10.9.8.7/24 dev wwtest0");
        wait_for(&mut up, "down after the address went", |u| !*u).await;

        // IPv6: the link-local address (added by the kernel, or by hand) does not count; a global
        // one does.
        ip("-6 addr add fe80::77/64 dev wwtest0 nodad");
        let v = barrier(&mut via).await;
        assert!(v.is_empty() && !*up.borrow(), "link-local only: {v:?}");
        ip("-6 addr add 2001:db8::7/64 dev wwtest0 nodad");
        wait_for(&mut up, "up by IPv6", |u| *u).await;
        ip("-6 addr del 2001:db8::7/64 dev wwtest0");
        wait_for(&mut up, "down after IPv6", |u| !*u).await;

        // Carrier: the peer going down takes RUNNING and LOWER_UP from wwtest0.
        ip("addr add 10.9.8.7/24 dev wwtest0");
        wait_for(&mut up, "up again", |u| *u).await;
        ip("link set wwpeer0 down");
        wait_for(&mut up, "down without carrier", |u| !*u).await;
        ip("link set wwpeer0 up");
        wait_for(&mut up, "up with carrier", |u| *u).await;

        // Administratively down and up (IPv4 addresses stay).
        ip("link set wwtest0 down");
        wait_for(&mut up, "down by admin", |u| !*u).await;
        ip("link set wwtest0 up");
        wait_for(&mut up, "up by admin", |u| *u).await;

        // Deleted.
        ip("link del wwtest0");
        wait_for(&mut up, "down when deleted", |u| !*u).await;
        assert!(via.borrow().is_empty());

        // A second watcher sees an interface that is already up through its start-up dump.
        ip("link add wwtest1 type veth peer name wwpeer1");
        ip("addr add 10.7.7.7/24 dev wwtest1");
        ip("link set wwpeer1 up");
        ip("link set wwtest1 up");
        let (_h1, mut up1) = spawn_bearer(&auto(&["wwtest1"]));
        wait_for(&mut up1, "up from the dump", |u| *u).await;
        drop(handle);
    });
}

/// Brings the sentinel up and down again: once both are seen, every notification before them
/// has been handled. Returns the interfaces up after that.
async fn barrier(via: &mut watch::Receiver<Vec<String>>) -> Vec<String> {
    ip("addr add 10.200.0.1/32 dev wwsent0");
    wait_for(via, "the sentinel up", |v| v.iter().any(|i| i == "wwsent0")).await;
    ip("addr del 10.200.0.1/32 dev wwsent0");
    wait_for(via, "the sentinel down", |v| !v.iter().any(|i| i == "wwsent0")).await
}

/// What an unprivileged process can check: the socket opens, the dump completes, and the
/// loopback interface (up, running, but only host-scope addresses) does not count.
fn unprivileged() {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let (h, up) = spawn_bearer(&auto(&["lo"]));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!*up.borrow(), "loopback must not count as a bearer");
        assert!(h.interfaces().borrow().is_empty());
    });
}

#[test]
fn external_mode_is_set_by_the_connection_manager_only() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (h, mut up) = spawn_bearer(&BearerConfig { mode: BearerMode::External, interfaces: vec![] });
        assert!(!*up.borrow_and_update(), "starts down");
        assert!(h.set_external(true));
        wait_for(&mut up, "up", |u| *u).await;
        assert!(h.set_external(false));
        wait_for(&mut up, "down", |u| !*u).await;
    });
}
