#!/usr/bin/env python3
"""Derives the damaged-file corpus in corrupt/ from the Redis-written fixtures
here, and writes corrupt/EXPECTED: one line per file, `name|error prefix|offset`,
the start of the error text the reader must give and the offset it must name.
Run by make_fixtures.sh; also runnable alone."""
import os

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corrupt")
os.makedirs(out, exist_ok=True)


def fixture(name):
    with open(os.path.join(here, name), "rb") as f:
        return bytearray(f.read())


def find(data, pattern):
    i = bytes(data).find(pattern)
    assert i >= 0, pattern
    return i


cases = []


def case(name, data, prefix, offset):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes(data))
    cases.append(f"{name}|{prefix}|{offset}")


strings = fixture("strings.rdb")
lists = fixture("lists.rdb")
sets = fixture("sets.rdb")

# Truncations.
case("trunc_header.rdb", strings[:5], "unexpected end of file", 5)
case("trunc_aux.rdb", strings[:20], "unexpected end of file", 20)
small = find(lists, b"\x12\x05small")
case("trunc_listpack.rdb", lists[: small + 20], "unexpected end of file", small + 20)
n = len(strings)
case("trunc_checksum.rdb", strings[: n - 4], "unexpected end of file", n - 4)
case("trunc_before_eof.rdb", strings[: n - 9], "unexpected end of file", n - 9)
case("empty_file.rdb", b"", "unexpected end of file", 0)

# Checksums.
d = strings[:]
d[-1] ^= 0x01
case("bad_checksum.rdb", d, "checksum mismatch: expected 0x", n - 8)
d = strings[:]
d[find(d, b"abcdefghijklmnopqrstuvwxyz0123456789") + 3] ^= 0x20
case("flipped_string_byte.rdb", d, "checksum mismatch: expected 0x", n - 8)

# Header.
d = strings[:]
d[4] = ord("X")
case("bad_magic.rdb", d, "wrong signature, not an RDB file", 0)
d = strings[:]
d[5:9] = b"0011"
case("bad_version.rdb", d, "unsupported RDB version 11", 5)

# Structure.
d = sets[:]
i = find(d, b"\xfe\x00\xfb") + 1
d[i] = 0x82
case("bad_length.rdb", d, "invalid length encoding 0x82", i)
d = sets[:]
i = find(d, b"\x0b\x03i16")
d[i] = 8
case("bad_type.rdb", d, "unknown RDB type or opcode 8", i)
d = sets[:]
i = find(d, b"\x0b\x03i16") + 6
d[i] = 3
case("bad_intset.rdb", d, "corrupt intset: invalid intset encoding 3", i)
d = lists[:]
d[small + 16] = 0xF7
case("bad_listpack.rdb", d, "corrupt listpack: invalid listpack entry encoding 0xf7", small + 16)
d = lists[:]
d[small + 8] = 7
case("bad_quicklist_node.rdb", d, "invalid quicklist node container 7", small + 8)
d = strings[:]
i = find(d, b"\x00\x0ccompressible")
assert d[i + 14] == 0xC3 and d[i + 15] < 64 and d[i + 16 : i + 18] == b"\x40\xc8"
d[i + 18] = 0x20
case("bad_lzf.rdb", d, "invalid LZF compressed string: LZF back reference", i + 18)

with open(os.path.join(out, "EXPECTED"), "w") as f:
    f.write("\n".join(cases) + "\n")
