# shellcheck shell=bash
# Sourced by scripts/cross-test and scripts/footprint: sets up one Rust target with rustup's
# standard library, Debian's cross gcc (linker, and C compiler for ring and bundled SQLite) and,
# for running, qemu-user. Installs what is missing: `rustup target add`, and `apt-get install`
# when root (otherwise it says which packages to install).
#
#   cross_setup TARGET [run]
#
# exports CARGO_TARGET_<TRIPLE>_LINKER, CC_<triple>, AR_<triple> (and with `run`
# CARGO_TARGET_<TRIPLE>_RUNNER and QEMU_LD_PREFIX), and sets CROSS_STRIP to the target's strip.
#
# Targets: x86_64-unknown-linux-gnu (native), armv7-unknown-linux-gnueabihf,
# aarch64-unknown-linux-gnu, aarch64-unknown-linux-musl, armv7-unknown-linux-musleabihf.
# The musl targets use Debian's musl-dev for the target architecture (multiarch), whose
# <triple>-musl-gcc wrapper runs the glibc cross gcc against musl's headers; the Rust program
# links statically against the musl that rustup's target ships.

_cross_apt_updated=
_cross_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "cross-env: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
    return 1
  fi
  echo "cross-env: installing ${missing[*]}" >&2
  if [ -z "$_cross_apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    _cross_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Debian multiarch: musl-dev for a foreign architecture needs that architecture enabled.
_cross_foreign_arch() {
  local arch=$1
  dpkg --print-foreign-architectures | grep -qx "$arch" && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "cross-env: run 'dpkg --add-architecture $arch' as root first" >&2
    return 1
  fi
  dpkg --add-architecture "$arch"
  _cross_apt_updated=
}

# Child processes of the tests that are target binaries (e.g. CARGO_BIN_EXE_otapushd) run
# through binfmt_misc; the test binaries themselves run through the explicit runner.
_cross_binfmt() {
  local qemu=$1 dir=/proc/sys/fs/binfmt_misc
  [ -e "$dir/$qemu" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "cross-env: note: no binfmt_misc entry for $qemu; tests that spawn target binaries will fail" >&2
    return 0
  fi
  [ -e "$dir/register" ] || mount -t binfmt_misc binfmt_misc "$dir" 2>/dev/null || true
  _cross_apt qemu-user-static binfmt-support || return 1
  [ -e "$dir/$qemu" ] || update-binfmts --enable "$qemu" >/dev/null 2>&1 || true
  [ -e "$dir/$qemu" ] || update-binfmts --import "$qemu" >/dev/null 2>&1 || true
  [ -e "$dir/$qemu" ] ||
    echo "cross-env: note: could not register $qemu with binfmt_misc; tests that spawn target binaries will fail" >&2
}

cross_setup() {
  local target=$1 mode=${2:-} gnu debarch qemu sysroot cc musl_arch=
  case $target in
    x86_64-unknown-linux-gnu)
      CROSS_STRIP=strip
      return 0 ;;
    armv7-unknown-linux-gnueabihf)
      gnu=arm-linux-gnueabihf debarch=armhf qemu=qemu-arm sysroot=/usr/arm-linux-gnueabihf cc=$gnu-gcc ;;
    aarch64-unknown-linux-gnu)
      gnu=aarch64-linux-gnu debarch=arm64 qemu=qemu-aarch64 sysroot=/usr/aarch64-linux-gnu cc=$gnu-gcc ;;
    armv7-unknown-linux-musleabihf)
      gnu=arm-linux-gnueabihf debarch=armhf qemu=qemu-arm sysroot= cc=arm-linux-musleabihf-gcc musl_arch=armhf ;;
    aarch64-unknown-linux-musl)
      gnu=aarch64-linux-gnu debarch=arm64 qemu=qemu-aarch64 sysroot= cc=aarch64-linux-musl-gcc musl_arch=arm64 ;;
    *)
      echo "cross-env: unsupported target $target" >&2
      return 1 ;;
  esac

  rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >&2 || {
    echo "cross-env: rustup has no standard library for $target here" >&2
    return 1
  }
  # The C library's headers and startup files for the target (a recommendation of gcc-$gnu only,
  # so --no-install-recommends leaves them out: SQLite's C then finds no <bits/...> headers).
  _cross_apt "gcc-$gnu" "libc6-dev-$debarch-cross" || return 1
  if [ -n "$musl_arch" ]; then
    _cross_foreign_arch "$musl_arch" && _cross_apt "musl-dev:$musl_arch" || return 1
  fi

  local upper=${target^^}
  upper=${upper//-/_}
  local lower=${target//-/_}
  export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc"
  export "CC_${lower}=$cc"
  export "AR_${lower}=$gnu-ar"
  CROSS_STRIP=$gnu-strip

  if [ "$mode" = run ]; then
    _cross_apt qemu-user-static binfmt-support || return 1
    if [ -n "$sysroot" ]; then
      export "CARGO_TARGET_${upper}_RUNNER=$qemu-static -L $sysroot"
      export QEMU_LD_PREFIX=$sysroot
    else
      export "CARGO_TARGET_${upper}_RUNNER=$qemu-static"
    fi
    _cross_binfmt "$qemu"
  fi
}
