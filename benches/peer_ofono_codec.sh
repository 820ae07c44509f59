#!/bin/sh
# Peer figure for issue 13 item 2: otapush's `sms::view` + text/data against oFono's own
# `sms_decode` + `sms_decode_text`/`sms_decode_datagram` (src/smsutil.c, built here with -O2 as
# oFono builds it) on the same PDUs (benches/vectors/codec_peer.hex), in the same run.
# Prints ns per PDU for both and the ratio; with CALLGRIND=1 also instructions per PDU
# (`valgrind --tool=callgrind`, quieter than time on a shared machine), and for otapush also the
# owned `sms::decode` (PEER_CODEC_OWNED=1) and the view with both addresses written as text
# (PEER_CODEC_ADDRESS=1, as oFono's sms_decode formats them).
# Usage: benches/peer_ofono_codec.sh [ROUNDS]   (default 20000 rounds over the set, best of 7)
# Needs gcc, pkg-config, libglib2.0-dev (and valgrind for CALLGRIND=1); benches install their own
# tools: `apt-get install gcc pkg-config libglib2.0-dev valgrind`. oFono's sources are fetched
# into $OFONO_CACHE (default /work/cache/codec), never into the tree.
set -eu
cd "$(dirname "$0")/.."
root=$PWD
rounds=${1:-20000}
set_file=$root/benches/vectors/codec_peer.hex
cache=${OFONO_CACHE:-/work/cache/codec}
# oFono 2.13 is the issue's peer; only deb.debian.org is reachable from the project machine and
# its pool holds 1.31 (Debian 12's ofono), whose src/smsutil.c decoder is the one measured.
ver=1.31
src=$cache/ofono-$ver
sha=a15c5d28096c10eb30e47a68b6dc2e7c4a5a99d7f4cfedf0b69624f33d859e9b
mkdir -p "$cache"
if [ ! -f "$src/src/smsutil.c" ]; then
    tarball=$cache/ofono_$ver.orig.tar.xz
    [ -f "$tarball" ] || curl -sSfo "$tarball" "http://deb.debian.org/debian/pool/main/o/ofono/ofono_$ver.orig.tar.xz"
    echo "$sha  $tarball" | sha256sum -c --quiet
    tar -C "$cache" -xf "$tarball"
fi
build=$cache/build-$ver
mkdir -p "$build/ell" "$build/ofono"
printf '#define VERSION "%s"\n#define STORAGEDIR "/nonexistent"\n#define CONFIGDIR "/nonexistent"\n' "$ver" >"$build/config.h"
for h in "$src"/ell/*.h; do
    case ${h##*/} in private.h | missing.h) ;; *) echo "#include <ell/${h##*/}>" ;; esac
done >"$build/ell/ell.h"
ln -sf "$src"/include/*.h "$build/ofono/"
peer=$build/peer_ofono_codec
# shellcheck disable=SC2046
gcc -O2 -w -std=gnu11 -DHAVE_CONFIG_H -I"$build" -I"$src" -I"$src/src" -I"$src/include" \
    $(pkg-config --cflags glib-2.0) -o "$peer" "$root/benches/peer_ofono_codec.c" \
    "$src/src/smsutil.c" "$src/src/util.c" "$src/src/storage.c" "$src"/ell/util.c \
    "$src/ell/utf8.c" "$src/ell/string.c" "$src/ell/log.c" "$src/ell/queue.c" "$src/ell/strv.c" \
    $(pkg-config --libs glib-2.0)
cargo bench --quiet -p otapush-proto --bench peer_codec --no-run 2>/dev/null
ours=$(cargo bench --quiet -p otapush-proto --bench peer_codec --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*peer_codec[^"]*\)".*/\1/p' | tail -n 1)
kinds=$(grep -c . "$set_file")
echo "PDUs: $kinds kinds (benches/vectors/codec_peer.hex), $rounds rounds, best of 7"
o=$("$peer" "$set_file" "$rounds" 7)
r=$("$ours" "$set_file" "$rounds" 7)
[ "${o#* }" = "${r#* }" ] || { echo "decoded lengths differ: oFono $o, otapush $r" >&2; exit 1; }
echo "oFono $ver sms_decode + text/datagram: ${o%% *} ns per PDU"
echo "otapush sms::view + text/data:        ${r%% *} ns per PDU"
echo "ratio (otapush / oFono): $(echo "${r%% *} ${o%% *}" | awk '{printf "%.2fx", $1 / $2}')  (budget <= 0.5x)"
if [ "${CALLGRIND:-0}" = 1 ]; then
    n=2000
    for who in oFono otapush "otapush (addresses as text)" "otapush (owned sms::decode)"; do
        bin=$ours
        mode=
        case $who in
        oFono) bin=$peer ;;
        *addresses*) mode=PEER_CODEC_ADDRESS=1 ;;
        *owned*) mode=PEER_CODEC_OWNED=1 ;;
        esac
        # shellcheck disable=SC2086 # $mode is one assignment or none
        total() {
            env $mode valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$set_file" "$1" 1 2>&1 |
                sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
        }
        # Instructions of n rounds minus those of one round: the start-up and the file load cancel.
        a=$(total 1)
        b=$(total $((n + 1)))
        echo "$who: $(echo "$a $b $n $kinds" | awk '{printf "%.0f", ($2 - $1) / ($3 * $4)}') instructions per PDU (callgrind)"
    done
fi
