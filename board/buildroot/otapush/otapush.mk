################################################################################
#
# otapush
#
################################################################################

# Copy board/buildroot/otapush/ into package/otapush/ (or a BR2_EXTERNAL tree) and source its
# Config.in. For a local checkout: OTAPUSH_OVERRIDE_SRCDIR = /path/to/otapush in local.mk.
OTAPUSH_VERSION = 0.1.0
OTAPUSH_SITE = https://example.invalid/otapush.git
OTAPUSH_SITE_METHOD = git
OTAPUSH_LICENSE = MIT or Apache-2.0
OTAPUSH_LICENSE_FILES = Cargo.toml
OTAPUSH_DEPENDENCIES = dbus

ifneq ($(BR2_PACKAGE_OTAPUSH_SSE_HTTP),y)
OTAPUSH_CARGO_BUILD_OPTS += --no-default-features
OTAPUSH_CARGO_INSTALL_OPTS += --no-default-features
endif

# The daemon's user (in dialout for the modem's tty) and the group allowed the privileged
# D-Bus methods; the same as systemd/otapush.sysusers.
define OTAPUSH_USERS
	otapush -1 otapush -1 * /var/lib/otapush - dialout otapush push daemon
	- - otapush-admin -1 - - - - -
endef

define OTAPUSH_INSTALL_FILES
	$(INSTALL) -D -m 0644 $(@D)/dbus/org.otapush.Push1.conf \
		$(TARGET_DIR)/usr/share/dbus-1/system.d/org.otapush.Push1.conf
	$(INSTALL) -D -m 0644 $(@D)/dbus/org.otapush.Push1.service \
		$(TARGET_DIR)/usr/share/dbus-1/system-services/org.otapush.Push1.service
	$(INSTALL) -d $(TARGET_DIR)/usr/share/dbus-1/interfaces $(TARGET_DIR)/usr/share/otapush/board
	$(INSTALL) -m 0644 $(@D)/dbus/org.otapush.Push1.*.xml $(TARGET_DIR)/usr/share/dbus-1/interfaces/
	$(INSTALL) -m 0644 $(@D)/board/*.toml $(TARGET_DIR)/usr/share/otapush/board/
	$(INSTALL) -D -m 0644 $(@D)/udev/70-otapush.rules \
		$(TARGET_DIR)/usr/lib/udev/rules.d/70-otapush.rules
	$(INSTALL) -D -m 0644 $(@D)/board/otapushd.toml.example \
		$(TARGET_DIR)/etc/otapush/otapushd.toml
endef
OTAPUSH_POST_INSTALL_TARGET_HOOKS += OTAPUSH_INSTALL_FILES

define OTAPUSH_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/systemd/otapushd.service \
		$(TARGET_DIR)/usr/lib/systemd/system/otapushd.service
	$(INSTALL) -D -m 0644 $(@D)/systemd/otapush.sysusers \
		$(TARGET_DIR)/usr/lib/sysusers.d/otapush.conf
endef

define OTAPUSH_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(OTAPUSH_PKGDIR)/S97otapushd $(TARGET_DIR)/etc/init.d/S97otapushd
endef

$(eval $(cargo-package))
