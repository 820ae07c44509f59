# otapush for OpenEmbedded / Yocto: oe-core's cargo class (offline build from crate:// sources
# listed in otapush-crates.inc, regenerated from Cargo.lock by scripts/yocto-crates).
# Copy board/yocto/ into a layer, e.g. meta-yourboard/recipes-connectivity/otapush/.
SUMMARY = "Terminal-side WAP Push / SMS / SSE push client (Push-CAI over D-Bus)"
HOMEPAGE = "https://example.invalid/otapush"
SECTION = "net"
LICENSE = "MIT | Apache-2.0"
# The license line of Cargo.toml (line 7); tests/packaging_yocto.rs checks this checksum.
LIC_FILES_CHKSUM = "file://Cargo.toml;beginline=7;endline=7;md5=86b31c7756a1a7962f28b62856ed4f05"

# Pin SRCREV to the release commit for a reproducible image; for a local tree use
# externalsrc instead (INHERIT += "externalsrc", EXTERNALSRC:pn-otapush = "/path/to/otapush").
SRC_URI = "git://example.invalid/otapush.git;protocol=https;branch=main"
SRCREV = "${AUTOREV}"
S = "${WORKDIR}/git"

require otapush-crates.inc

inherit cargo systemd useradd

# "sse-http": the event-stream client (HTTP + rustls/ring). Without it: an SMS-only daemon.
PACKAGECONFIG ??= "sse-http"
PACKAGECONFIG[sse-http] = ",,"
CARGO_BUILD_FLAGS:append = " ${@bb.utils.contains('PACKAGECONFIG', 'sse-http', '', '--no-default-features', d)}"

# The daemon's user and the admin group, created at image build time (read-only rootfs work too);
# the sysusers.d file below says the same for systemd-sysusers.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system otapush-admin"
USERADD_PARAM:${PN} = "--system --user-group --groups dialout --home-dir /var/lib/otapush \
                       --no-create-home --shell /sbin/nologin otapush"

SYSTEMD_SERVICE:${PN} = "otapushd.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

do_install:append() {
    install -D -m 0644 ${S}/systemd/otapushd.service ${D}${systemd_system_unitdir}/otapushd.service
    install -D -m 0644 ${S}/systemd/otapush.sysusers ${D}${nonarch_libdir}/sysusers.d/otapush.conf
    install -D -m 0644 ${S}/dbus/org.otapush.Push1.conf ${D}${datadir}/dbus-1/system.d/org.otapush.Push1.conf
    install -D -m 0644 ${S}/dbus/org.otapush.Push1.service \
        ${D}${datadir}/dbus-1/system-services/org.otapush.Push1.service
    install -d ${D}${datadir}/dbus-1/interfaces
    install -m 0644 ${S}/dbus/org.otapush.Push1.*.xml ${D}${datadir}/dbus-1/interfaces/
    install -D -m 0644 ${S}/udev/70-otapush.rules ${D}${nonarch_base_libdir}/udev/rules.d/70-otapush.rules
    install -d ${D}${datadir}/otapush/board
    install -m 0644 ${S}/board/*.toml ${D}${datadir}/otapush/board/
    install -D -m 0644 ${S}/board/otapushd.toml.example ${D}${sysconfdir}/otapush/otapushd.toml
}

FILES:${PN} += " \
    ${datadir}/dbus-1 \
    ${datadir}/otapush \
    ${nonarch_base_libdir}/udev/rules.d \
    ${nonarch_libdir}/sysusers.d \
"
CONFFILES:${PN} = "${sysconfdir}/otapush/otapushd.toml"
RDEPENDS:${PN} += "dbus"
