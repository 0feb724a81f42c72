"""Lists with plain quicklist nodes, as in Redis 7.0.

An element at least ``DEBUG QUICKLIST-PACKED-THRESHOLD`` bytes long (1 GB by
default) lives in a plain node of its own.  The observable parts, checked here
against what Debian's redis-server 7.0.15 does: the threshold's validation,
``DEBUG OBJECT``'s node count, ``DUMP`` bytes (the RDB's PLAIN containers),
every list command across plain and packed nodes, compression of plain nodes,
and persistence.  Every test passes with ``REDUST_SERVER=/usr/bin/redis-server``.
"""

import re

import pytest

from helpers import RespError

DEBUG_ARGS = ["--enable-debug-command", "yes"]


def ql_nodes(c, key):
    line = c.call("DEBUG", "OBJECT", key)
    return int(re.search(r"ql_nodes:(\d+)", line).group(1))


def ql_field(c, key, field):
    return re.search(field + r":(\S+)", c.call("DEBUG", "OBJECT", key)).group(1)


@pytest.mark.server(args=DEBUG_ARGS)
def test_packed_threshold_validation(c):
    ok = ["0", "", "1", "1b", "1k", "10mb", "4293918720"]
    bad = ["4gb", "4294967296", "4293918721", "-1", "abc", "1.5"]
    for v in ok:
        assert c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", v) == "OK", v
    for v in bad:
        with pytest.raises(RespError) as e:
            c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", v)
        assert e.value.msg == "ERR argument must be a memory value bigger than 1 and smaller than 4gb", v
    with pytest.raises(RespError) as e:
        c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD")
    assert e.value.msg == (
        "ERR unknown subcommand or wrong number of arguments for "
        "'QUICKLIST-PACKED-THRESHOLD'. Try DEBUG HELP."
    )
    help_text = c.call("DEBUG", "HELP")
    assert "QUICKLIST-PACKED-THRESHOLD <size>" in help_text
    assert "QUICKLIST <key> [<0|1>]" in help_text


@pytest.mark.server(args=DEBUG_ARGS)
def test_debug_quicklist_and_listpack(c):
    c.call("RPUSH", "l", "a", "b")
    c.call("HSET", "h", "f", "v")
    c.call("SET", "s", "1")
    assert c.call("DEBUG", "QUICKLIST", "l") == "Quicklist structure printed on stdout"
    assert c.call("DEBUG", "QUICKLIST", "l", "1") == "Quicklist structure printed on stdout"
    for args, msg in [
        (("QUICKLIST", "nokey"), "ERR no such key"),
        (("QUICKLIST", "s"), "ERR Not a quicklist encoded object."),
        (("LISTPACK", "l"), "ERR Not a listpack encoded object."),
        (("LISTPACK", "nokey"), "ERR no such key"),
    ]:
        with pytest.raises(RespError) as e:
            c.call("DEBUG", *args)
        assert e.value.msg == msg, args
    assert c.call("DEBUG", "LISTPACK", "h") == "Listpack structure printed on stdout"


# Redis 7.0.15, threshold 10, default list settings.
DUMP_MIXED = (
    b"\x12\x05\x02\x0e\x0e\x00\x00\x00\x02\x00\x81a\x02\x82bb\x03\xff\x01\x0c"
    b"cccccccccccc\x02\x0b\x0b\x00\x00\x00\x01\x00\x82dd\x03\xff\x01\x11"
    b"eeeeeeeeeeeeeeeee\x02\n\n\x00\x00\x00\x01\x00\x81f\x02\xff\n\x00"
    b"\xca\xc2F\xd7\x91y\xa5\xaa"
)
DUMP_SPLIT = (
    b"\x12\x05\x02\x0f\x0f\x00\x00\x00\x04\x00\x01\x01\x02\x01\x03\x01\x04\x01"
    b"\xff\x01\x0c0123456789ab\x02\t\t\x00\x00\x00\x01\x00\x05\x01\xff\x01\r"
    b"0123456789abc\x02\r\r\x00\x00\x00\x03\x00\x06\x01\x07\x01\x08\x01\xff\n"
    b"\x00\xabi\x86\x05\"\x83`\xb6"
)


@pytest.mark.server(args=DEBUG_ARGS)
def test_plain_nodes_layout_and_dump_match_redis(c):
    assert c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "10") == "OK"
    c.call("RPUSH", "l", "a", "bb", "c" * 12, "dd", "e" * 17, "f")
    assert ql_nodes(c, "l") == 5
    assert c.call("DUMP", "l") == DUMP_MIXED
    # A large element replacing a small one: its node splits around it.
    c.call("LSET", "l", "0", "z" * 18)
    assert ql_nodes(c, "l") == 6
    # A small element replacing a plain node joins the next node.
    c.call("LSET", "l", "2", "x")
    assert ql_nodes(c, "l") == 5
    # A large element before a packed node's head: a node of its own.
    assert c.call("LINSERT", "l", "BEFORE", "dd", "0123456789ab") == 7
    assert ql_nodes(c, "l") == 7
    assert c.call("LRANGE", "l", "0", "-1") == [
        b"z" * 18, b"bb", b"x", b"0123456789ab", b"dd", b"e" * 17, b"f"]
    # Inside packed nodes: split, plain node between the pieces.
    c.call("RPUSH", "l2", *"12345678")
    assert c.call("LINSERT", "l2", "AFTER", "4", "0123456789ab") == 9
    assert c.call("LINSERT", "l2", "BEFORE", "6", "0123456789abc") == 10
    assert ql_nodes(c, "l2") == 5
    assert c.call("DUMP", "l2") == DUMP_SPLIT
    assert c.call("LREM", "l2", "0", "0123456789ab") == 1
    assert ql_nodes(c, "l2") == 4
    assert c.call("LTRIM", "l2", "1", "-2") == "OK"
    assert ql_nodes(c, "l2") == 4
    assert c.call("LRANGE", "l2", "0", "-1") == [b"2", b"3", b"4", b"5", b"0123456789abc", b"6", b"7"]
    # 0 restores the 1 GB default: the same pushes pack into one node.
    assert c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0") == "OK"
    c.call("RPUSH", "l3", "a", "bb", "c" * 12, "dd", "e" * 17, "f")
    assert ql_nodes(c, "l3") == 1


@pytest.mark.server(args=DEBUG_ARGS)
def test_every_list_command_across_plain_and_packed_nodes(c):
    """The suite of list commands on a list of mixed nodes gives what a list of
    the same elements gives (Redis's own list tests run this way with a 1b
    threshold)."""
    big = [("big%d-" % i).encode() * 8 for i in range(6)]
    small = [b"s%d" % i for i in range(6)]
    c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "20")
    c.call("RPUSH", "l", big[0], small[0], small[1], big[1], small[2])
    c.call("LPUSH", "l", big[2], small[3])
    model = [small[3], big[2], big[0], small[0], small[1], big[1], small[2]]
    assert c.call("LRANGE", "l", "0", "-1") == model
    assert c.call("LLEN", "l") == 7
    assert c.call("LINDEX", "l", "1") == big[2]
    assert c.call("LINDEX", "l", "-2") == big[1]
    assert c.call("LPOS", "l", big[1]) == 5
    assert c.call("LPOS", "l", small[0], "RANK", "-1") == 3
    assert c.call("LPOP", "l") == small[3]
    assert c.call("LPOP", "l") == big[2]
    model = model[2:]
    assert c.call("RPOP", "l") == small[2]
    assert c.call("RPOP", "l", "2") == [big[1], small[1]]
    model = model[:2]
    assert c.call("LRANGE", "l", "0", "-1") == model
    c.call("RPUSH", "l", big[3], small[4], big[4])
    model += [big[3], small[4], big[4]]
    assert c.call("LMOVE", "l", "dst", "RIGHT", "LEFT") == big[4]
    assert c.call("LMOVE", "l", "dst", "LEFT", "RIGHT") == big[0]
    model = model[1:-1]
    assert c.call("LRANGE", "dst", "0", "-1") == [big[4], big[0]]
    assert c.call("LSET", "l", "1", big[5]) == "OK"
    model[1] = big[5]
    assert c.call("LINSERT", "l", "AFTER", big[5], small[5]) == 4
    model.insert(2, small[5])
    assert c.call("LRANGE", "l", "0", "-1") == model
    assert c.call("LREM", "l", "-1", big[5]) == 1
    model.remove(big[5])
    assert c.call("LRANGE", "l", "0", "-1") == model
    assert c.call("LTRIM", "l", "1", "-1") == "OK"
    model = model[1:]
    assert c.call("LRANGE", "l", "0", "-1") == model
    assert c.call("LRANGE", "l", "1", "1") == model[1:2]
    assert c.call("SORT", "l", "ALPHA") == sorted(model)
    assert c.call("RPOPLPUSH", "l", "l") == model[-1]
    model = model[-1:] + model[:-1]
    assert c.call("LRANGE", "l", "0", "-1") == model
    assert c.call("BLPOP", "l", "0") == [b"l", model[0]]
    assert c.call("LMPOP", "1", "l", "RIGHT", "COUNT", "10") == [b"l", list(reversed(model[1:]))]
    assert c.call("EXISTS", "l") == 0


@pytest.mark.server(args=DEBUG_ARGS + ["--list-compress-depth", "1"])
def test_plain_nodes_are_compressed_inside_the_ends(c):
    c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "60")
    c.call("RPUSH", "l", "a", "x" * 100, "y" * 30, "b")
    assert ql_nodes(c, "l") == 3
    assert ql_field(c, "l", "ql_compressed") == "1"
    # The serialized length shows the compressed plain node (100 x's take a few bytes).
    assert int(ql_field(c, "l", "serializedlength")) < 60
    assert c.call("LINDEX", "l", "1") == b"x" * 100
    assert c.call("LRANGE", "l", "0", "-1") == [b"a", b"x" * 100, b"y" * 30, b"b"]
    # Only plain nodes: the uncompressed size is the elements' bytes.
    c.call("RPUSH", "p", "p" * 70, "q" * 80, "r" * 90)
    assert ql_field(c, "p", "ql_uncompressed_size") == "240"
    assert c.call("LPOP", "p") == b"p" * 70
    assert c.call("LRANGE", "p", "0", "-1") == [b"q" * 80, b"r" * 90]


@pytest.mark.server(args=DEBUG_ARGS)
def test_plain_nodes_survive_reload_and_restore(c):
    c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "10")
    items = [b"a", b"0123456789ab", b"b", b"c", b"z" * 5000]
    c.call("RPUSH", "l", *items)
    payload = c.call("DUMP", "l")
    assert c.call("DEBUG", "RELOAD") == "OK"
    assert c.call("LRANGE", "l", "0", "-1") == items
    assert ql_nodes(c, "l") == 4
    assert c.call("RESTORE", "copy", "0", payload) == "OK"
    assert c.call("LRANGE", "copy", "0", "-1") == items
    assert ql_nodes(c, "copy") == 4
