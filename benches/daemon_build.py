"""Which build of otapushd a bench measures, and the environment it runs in.

`cargo bench` builds otapushd with the bench profile (opt-level 3, not stripped) and links it as
target/release/otapushd, over the shipped release build (opt-level "s", LTO, stripped). The two
differ in code size and so in resident pages: a figure for what ships must come from the
release build. The bench profile's build is told apart by its symbol table.
"""
import os
import struct
import sys

SHT_SYMTAB = 2


def has_symbol_table(path):
    """True when the ELF64 file at `path` has a `.symtab` section (not stripped)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        endian = "<" if head[5] == 1 else ">"
        (shoff,) = struct.unpack_from(endian + "Q", head, 0x28)
        shentsize, shnum = struct.unpack_from(endian + "HH", head, 0x3A)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
    return any(
        struct.unpack_from(endian + "I", table, i * shentsize + 4)[0] == SHT_SYMTAB
        for i in range(len(table) // shentsize if shentsize else 0)
    )


def check(path, tool):
    """Stops when the default daemon path holds the bench profile's build; with OTAPUSHD set
    to such a build, says so and goes on (profiling an unstripped build is a choice)."""
    if not has_symbol_table(path):
        return
    why = (f"{tool}: {path} has a symbol table: it is the bench profile's build "
           "(`cargo bench` replaces target/release/otapushd), not the shipped one")
    if "OTAPUSHD" in os.environ:
        print(f"{why}; measuring it as asked", flush=True)
        return
    sys.exit(f"{why}; run `cargo build --release --bin otapushd` again, or set OTAPUSHD")


UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "systemd", "otapushd.service")


def unit_environment():
    """The `Environment=NAME=VALUE` settings of the shipped unit, which the benches give the daemon
    so that they measure it as it runs on a device; `UNIT_ENVIRONMENT=off` leaves them out."""
    if os.environ.get("UNIT_ENVIRONMENT") == "off":
        return {}
    out = {}
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Environment="):
                name, _, value = line[len("Environment="):].partition("=")
                out[name] = value
    return out
