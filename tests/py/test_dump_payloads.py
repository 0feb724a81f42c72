"""DUMP payloads byte for byte as Redis 7.0.15 writes them.

Strings over 20 bytes and listpacks are LZF-compressed in RDB files and DUMP
payloads; redust's compressor makes liblzf's exact bytes, so the payloads (and the
RDB files) are Redis's own.  The expected bytes below come from Debian's
redis-server 7.0.15; the test passes with ``REDUST_SERVER=/usr/bin/redis-server``.
"""

import pytest

CASES = [
    (("SET", "k", "a" * 100), "00c3094064016161e057000161610a00e8a3b507b06df271"),
    (("SET", "k", "hello world " * 50),
     "00c31a42580c68656c6c6f20776f726c642068e0ff0be1ff07e130070164200a0041548f9e887b7d5d"),
    (("SET", "k", "".join(chr(97 + (i * 7) % 26) for i in range(300))),
     "00c324412c1a61686f76636a7178656c737a676e7562697077646b7279666d7461e0ff19a11d01676e0a00"
     "8adcf384414c2264"),
    (("SET", "k", "abcabcabd" * 3 + "xyz" * 9),
     "00c31a360361626361400200646005200be001080278797ae00d0201797a0a002b9d640a69714574"),
    (("HSET", "k", *[x for i in range(10) for x in ("field:%d" % i, "value-%d" % i)]),
     "10c3406340bb15bb0000001400876669656c643a30088776616c75652d200880110031c011200880110032c0"
     "11200880110033c011200880110034c011200880110035c011200880110036c011200880110037c011200880"
     "110038c011200880110039c011023908ff0a00e63cd494069dadd6"),
    (("RPUSH", "k", *["item-%03d" % i for i in range(50)]),
     "120102c3410741fb0ffb0100003200886974656d2d30303009c0090031e000090032e000090033e000090034"
     "e000090035e000090036e000090037e000090038e000090039c0090031e000630031e000630031e000630031"
     "e000630031e000630031e000630031e000630031e000630031e000630031e000630032e000630032e0006300"
     "32e000630032e000630032e000630032e000630032e000630032e000630032e000630032e000630033e00063"
     "0033e000630033e000630033e000630033e000630033e000630033e000630033e000630033e000630033e000"
     "630034e000630034e000630034e000630034e000630034e000630034e000630034e000630034e000630034e0"
     "006303343909ff0a0085763d42776a4b6a"),
    # Scores as Redis 7.0 writes them into a listpack: `%.17g`.
    (("ZADD", "k", "0.1", "d", "2.5", "a", "1e300", "b", "-3", "c"),
     "11c336404913490000000800816302dffd0281640293302e3130e005000f311481610283322e350481620297"
     "312ee0051d083031652b33303018ff0a005c08a78ac975afc4"),
]


@pytest.mark.parametrize("command, payload", CASES, ids=[c[0][0] + str(i) for i, c in enumerate(CASES)])
def test_dump_bytes_match_redis(c, command, payload):
    c.call(*command)
    got = c.call("DUMP", "k")
    assert got.hex() == payload
    # And the payload restores to the same value.
    assert c.call("RESTORE", "copy", "0", got) == "OK"
    assert c.call("DUMP", "copy").hex() == payload
