"""ACL (users, permissions, AUTH, ACL LOG, aclfile), end to end.

Every reply and error text here was checked against Debian's redis-server 7.0.15
(``REDUST_SERVER=/usr/bin/redis-server python3 -m pytest -q test_acl.py -n 2``).

BEHAVIOURS VERIFIED AGAINST REDIS 7.0.15 THAT AN IMPLEMENTATION MUST MATCH

Default user: ACL LIST -> ["user default on nopass ~* &* +@all"] (7.0 does NOT print
  sanitize-payload for it; 7.2 does). GETUSER reply: flags, passwords, commands, keys,
  channels, selectors (RESP2 flat array, RESP3 map with flags as a set; selectors are
  [commands, keys, channels] records). Unknown user -> nil.
Description of a user (ACL LIST / ACL SAVE / CONFIG REWRITE):
  "user <name> <flags> <#hash...> <keys> <channels> <command rules> (<selector>)..."
  * flags in table order: on|off, nopass, skip-sanitize-payload, sanitize-payload
    ("reset" sets sanitize-payload; the two sanitize flags exclude each other);
  * passwords as #<sha256 hex>, insertion order, no duplicates; ">p" clears nopass,
    "nopass" clears the passwords;
  * keys: "~*" when allkeys, else each pattern as given: "%R~p", "%W~p", "~p" for
    read+write (%RW~p and "%R~p %W~p" merge into "~p"), nothing when no pattern;
  * channels: "&*" when allchannels, else "resetchannels" followed by "&p" patterns;
  * commands: "+@all" (when the selector can run future commands, i.e. +@all/allcommands
    was applied and not undone by -@all) or "-@all", then category rules chosen by a
    greedy best fit over the category table (e.g. "+@all -@read -@write" prints as
    "+@all -@write -@read"; "+@read +get" prints "-@all +@read"), then single-command
    differences (+cmd, -cmd, +cmd|sub, +cmd|firstarg).  Redis emits those single-command
    rules in command-table hash order, which changes from run to run, so the tests here
    accept them in any order.
SETUSER errors: "ERR Error in ACL SETUSER modifier '<rule>': <reason>" with reasons
  "Syntax error", "Unknown command or category name in ACL", "The password hash must be
  exactly 64 characters and contain only lowercase hexadecimal characters", "The password
  you are trying to remove from the user does not exist", "Adding a pattern after the *
  pattern (or the 'allkeys' flag) ...", "Allowing first-arg of a subcommand is not
  supported"; "ERR Unmatched parenthesis in acl selector starting at '<arg>'.";
  "ERR Usernames can't contain spaces or null characters". A failed SETUSER changes
  nothing (and does not create the user).
Permission errors: "NOPERM this user has no permissions to run the '<cmd|sub>' command",
  "NOPERM this user has no permissions to access one of the keys used as arguments",
  "NOPERM this user has no permissions to access one of the channels used as arguments".
  Keys: a read (ACCESS) key spec needs an R pattern, a write (INSERT/DELETE/UPDATE) spec
  needs a W pattern, EXISTS/TYPE/STRLEN-like specs need any matching pattern.
ACL LOG entries (newest first): count, reason (command|key|channel|auth), context
  (toplevel|multi|lua), object, username, age-seconds (a double: bulk string in RESP2),
  client-info. (7.2 adds entry-id and timestamps; 7.0 does not have them.)
"""

import hashlib
import os
import re

import pytest

from helpers import SERVER_BIN, Client, RespError, run_server_expect_exit, wait_until

try:
    from sentinel_helpers import SentinelServer
except Exception:  # pragma: no cover - the sentinel helpers import only the harness
    SentinelServer = None

DEFAULT_LINE = b"user default on nopass ~* &* +@all"


def sha(pw):
    return hashlib.sha256(pw.encode()).hexdigest()


def line_of(c, name):
    """The ACL LIST line of user ``name`` (bytes), or None."""
    prefix = b"user %s " % name.encode()
    lines = [l for l in c.call("ACL", "LIST") if l.startswith(prefix)]
    assert len(lines) <= 1, lines
    return lines[0] if lines else None


def assert_rules(line, fixed, unordered=()):
    """``line`` == ``fixed`` followed by the ``unordered`` tokens in any order.

    Redis 7.0 prints single-command rules in command-table hash order (random per
    process), so when there is more than one of them the order is not checked."""
    if isinstance(line, bytes):
        line = line.decode()
    toks = line.split(" ")
    want = fixed.split(" ")
    assert toks[: len(want)] == want, line
    assert sorted(toks[len(want):]) == sorted(unordered), line


def setuser(c, name, *rules):
    assert c.call("ACL", "SETUSER", name, *rules) == "OK"
    return line_of(c, name)


def login(server, user, password="pw"):
    cl = server.client()
    assert cl.call("AUTH", user, password) == "OK"
    return cl


def log_entries(c, *args):
    """ACL LOG (RESP2) as a list of dicts, keeping the field order in '_fields'."""
    out = []
    for rec in c.call("ACL", "LOG", *args):
        assert len(rec) % 2 == 0
        d = {}
        for i in range(0, len(rec), 2):
            d[rec[i].decode()] = rec[i + 1]
        d["_fields"] = [rec[i].decode() for i in range(0, len(rec), 2)]
        out.append(d)
    return out


LOG_FIELDS = ["count", "reason", "context", "object", "username", "age-seconds", "client-info"]


# ---------------------------------------------------------------------------
# 1. the default user
# ---------------------------------------------------------------------------


def test_default_user_list_users_whoami(c):
    assert c.call("ACL", "LIST") == [DEFAULT_LINE]
    assert c.call("ACL", "USERS") == [b"default"]
    assert c.call("ACL", "WHOAMI") == b"default"


def test_getuser_default_resp2(c):
    assert c.call("ACL", "GETUSER", "default") == [
        b"flags", [b"on", b"nopass"],
        b"passwords", [],
        b"commands", b"+@all",
        b"keys", b"~*",
        b"channels", b"&*",
        b"selectors", [],
    ]
    assert c.call("ACL", "GETUSER", "nosuchuser") is None


def test_getuser_default_resp3(c):
    c.call("HELLO", "3")
    rep = c.call("ACL", "GETUSER", "default")
    assert isinstance(rep, dict)
    assert list(rep) == [b"flags", b"passwords", b"commands", b"keys", b"channels", b"selectors"]
    assert rep == {
        b"flags": {b"on", b"nopass"},
        b"passwords": [],
        b"commands": b"+@all",
        b"keys": b"~*",
        b"channels": b"&*",
        b"selectors": [],
    }
    assert c.call("ACL", "GETUSER", "nosuchuser") is None
    assert c.call("ACL", "WHOAMI") == b"default"
    assert c.call("ACL", "USERS") == [b"default"]


# ---------------------------------------------------------------------------
# 2. ACL SETUSER and how users are described
# ---------------------------------------------------------------------------


def test_setuser_creates_user_with_no_permissions(c):
    assert c.call("ACL", "SETUSER", "alice") == "OK"
    assert c.call("ACL", "LIST") == [b"user alice off resetchannels -@all", DEFAULT_LINE]
    assert c.call("ACL", "USERS") == [b"alice", b"default"]
    assert c.call("ACL", "GETUSER", "alice") == [
        b"flags", [b"off"], b"passwords", [], b"commands", b"-@all",
        b"keys", b"", b"channels", b"", b"selectors", [],
    ]
    # SETUSER on an existing user applies rules on top of the current ones.
    assert c.call("ACL", "SETUSER", "alice", "on", ">p1", "~k*", "+get") == "OK"
    assert c.call("ACL", "SETUSER", "alice", "+set") == "OK"
    assert_rules(line_of(c, "alice"), "user alice on #%s ~k* resetchannels -@all" % sha("p1"),
                 ["+get", "+set"])
    # ACL LIST and ACL USERS are sorted by name.
    assert c.call("ACL", "SETUSER", "Zed") == "OK"
    assert c.call("ACL", "SETUSER", "bob") == "OK"
    assert c.call("ACL", "USERS") == [b"Zed", b"alice", b"bob", b"default"]
    assert [l.split(b" ")[1] for l in c.call("ACL", "LIST")] == [b"Zed", b"alice", b"bob", b"default"]


def test_setuser_passwords(c):
    h1, h2, h3 = sha("p1"), sha("p2"), sha("p3")
    assert setuser(c, "u", "on", ">p1", ">p2", ">p1", "<p1") == ("user u on #%s resetchannels -@all" % h2).encode()
    assert c.call("ACL", "GETUSER", "u")[2:4] == [b"passwords", [h2.encode()]]
    # '#<hash>' adds an already hashed password; duplicates are ignored; insertion order kept.
    assert setuser(c, "u", "#" + h3, "#" + h2, ">p1") == (
        "user u on #%s #%s #%s resetchannels -@all" % (h2, h3, h1)).encode()
    # '!<hash>' removes by hash.
    assert setuser(c, "u", "!" + h3) == ("user u on #%s #%s resetchannels -@all" % (h2, h1)).encode()
    # nopass clears the passwords; a new password clears nopass.
    assert setuser(c, "u", "nopass") == b"user u on nopass resetchannels -@all"
    assert c.call("ACL", "GETUSER", "u")[:4] == [b"flags", [b"on", b"nopass"], b"passwords", []]
    assert setuser(c, "u", ">p3") == ("user u on #%s resetchannels -@all" % h3).encode()
    # resetpass clears passwords and nopass: nobody can log in.
    assert setuser(c, "u", "nopass", "resetpass") == b"user u on resetchannels -@all"
    assert c.call("ACL", "GETUSER", "u")[:4] == [b"flags", [b"on"], b"passwords", []]
    # '<' the last password leaves none.
    assert setuser(c, "v", "on", "nopass", ">x", "<x") == b"user v on resetchannels -@all"


def test_setuser_flags_order_and_case(c):
    assert setuser(c, "f1", "reset") == b"user f1 off sanitize-payload resetchannels -@all"
    assert c.call("ACL", "GETUSER", "f1")[:2] == [b"flags", [b"off", b"sanitize-payload"]]
    assert setuser(c, "f1", "skip-sanitize-payload", "nopass", "on") == (
        b"user f1 on nopass skip-sanitize-payload resetchannels -@all")
    assert c.call("ACL", "GETUSER", "f1")[:2] == [b"flags", [b"on", b"nopass", b"skip-sanitize-payload"]]
    assert setuser(c, "f1", "sanitize-payload", "off") == b"user f1 off nopass sanitize-payload resetchannels -@all"
    # Rule keywords are case-insensitive; command names are printed in lower case.
    assert setuser(c, "f2", "ON", "NOPASS", "AllKeys", "+GET") == b"user f2 on nopass ~* resetchannels -@all +get"
    assert setuser(c, "f3", "+@READ", "+CONFIG|GET") == b"user f3 off resetchannels -@all +@read +config|get"


def test_setuser_reset(c):
    setuser(c, "r", "on", ">pw", "~k", "&c", "+@all", "(~x +get)")
    assert setuser(c, "r", "reset") == b"user r off sanitize-payload resetchannels -@all"
    assert c.call("ACL", "GETUSER", "r") == [
        b"flags", [b"off", b"sanitize-payload"], b"passwords", [], b"commands", b"-@all",
        b"keys", b"", b"channels", b"", b"selectors", [],
    ]


def test_setuser_key_patterns(c):
    assert setuser(c, "k", "~a", "~b", "~a") == b"user k off ~a ~b resetchannels -@all"
    assert setuser(c, "k", "resetkeys") == b"user k off resetchannels -@all"
    assert setuser(c, "k", "%R~r*", "%W~w*", "%RW~rw*", "~x*") == (
        b"user k off %R~r* %W~w* ~rw* ~x* resetchannels -@all")
    assert c.call("ACL", "GETUSER", "k")[6:8] == [b"keys", b"%R~r* %W~w* ~rw* ~x*"]
    # Lower-case permission letters; R then W on one pattern merges to read-write.
    assert setuser(c, "k2", "%w~a") == b"user k2 off %W~a resetchannels -@all"
    assert setuser(c, "k3", "%rw~a") == b"user k3 off ~a resetchannels -@all"
    assert setuser(c, "k4", "%R~a", "%W~a") == b"user k4 off ~a resetchannels -@all"
    # ~* / allkeys / %RW~* replace every pattern; %R~* does not.
    assert setuser(c, "k5", "~a", "~*") == b"user k5 off ~* resetchannels -@all"
    assert setuser(c, "k6", "%RW~*") == b"user k6 off ~* resetchannels -@all"
    assert setuser(c, "k7", "%R~*", "~a") == b"user k7 off %R~* ~a resetchannels -@all"
    assert setuser(c, "k8", "~a", "allkeys") == b"user k8 off ~* resetchannels -@all"
    assert c.call("ACL", "GETUSER", "k8")[6:8] == [b"keys", b"~*"]
    # An empty pattern is accepted as is.
    assert setuser(c, "k9", "~") == b"user k9 off ~ resetchannels -@all"


def test_setuser_channel_patterns(c):
    assert setuser(c, "ch", "&ch*", "&foo", "&foo") == b"user ch off resetchannels &ch* &foo -@all"
    assert c.call("ACL", "GETUSER", "ch")[8:10] == [b"channels", b"&ch* &foo"]
    assert setuser(c, "ch", "&*") == b"user ch off &* -@all"
    assert setuser(c, "ch", "resetchannels") == b"user ch off resetchannels -@all"
    assert setuser(c, "ch", "allchannels") == b"user ch off &* -@all"
    assert c.call("ACL", "GETUSER", "ch")[8:10] == [b"channels", b"&*"]


# (rules, exact ACL LIST line of user "t") -- at most one single-command rule each, so the
# line is deterministic.
NORMALISATION = [
    (["+get"], "-@all +get"),
    (["+get", "-get"], "-@all"),
    (["+get", "+get"], "-@all +get"),
    (["+@read", "-get"], "-@all +@read -get"),
    (["+@read", "-get", "+get"], "-@all +@read"),
    (["+@read", "+get"], "-@all +@read"),
    (["-get", "+@read"], "-@all +@read"),
    (["+@read", "+@read"], "-@all +@read"),
    (["+@read", "-@read"], "-@all"),
    (["+@read", "-@write"], "-@all +@read"),
    (["-@read"], "-@all"),
    (["+@all"], "+@all"),
    (["allcommands"], "+@all"),
    (["+@all", "+get"], "+@all"),
    (["+get", "+@all"], "+@all"),
    (["+@all", "-get"], "+@all -get"),
    (["+@all", "-@all"], "-@all"),
    (["+get", "-@all"], "-@all"),
    (["+get", "nocommands"], "-@all"),
    (["+@all", "-@dangerous"], "+@all -@dangerous"),
    (["+@all", "-@read", "+get"], "+@all -@read +get"),
    (["+@all", "-@read", "-@write"], "+@all -@write -@read"),
    (["allcommands", "-get", "+@hash"], "+@all -get"),
    (["+@admin", "-config|set"], "-@all +@admin -config|set"),
    (["+client|kill", "+@admin"], "-@all +@admin"),
    (["+@all", "-config", "+config|get"], "+@all -config +config|get"),
    (["+config|get"], "-@all +config|get"),
    (["+config|get", "+config|get"], "-@all +config|get"),
    (["+config|get", "+config"], "-@all +config"),
    (["+config", "+config|get"], "-@all +config"),
    (["+config|get", "-config"], "-@all"),
    (["+config|get", "-config|get"], "-@all"),
    (["-config|get"], "-@all"),
    (["-debug", "+debug|object"], "-@all +debug|object"),
    (["+select|0"], "-@all +select|0"),
    (["+select|0", "+select|1"], "-@all +select|0 +select|1"),
    (["+select|0", "+select"], "-@all +select"),
    # A first-arg rule is accepted for any command without subcommands (7.0).
    (["+get|x"], "-@all +get|x"),
]


@pytest.mark.parametrize("rules,described", NORMALISATION, ids=[" ".join(r) for r, _ in NORMALISATION])
def test_command_rules_normalisation(c, rules, described):
    assert c.call("ACL", "SETUSER", "t", *rules) == "OK"
    assert line_of(c, "t") == ("user t off resetchannels " + described).encode()
    assert c.call("ACL", "GETUSER", "t")[4:6] == [b"commands", described.encode()]


def test_command_rules_several_single_commands(c):
    assert_rules(setuser(c, "b", "on", "nopass", "-@all", "+get", "+set"),
                 "user b on nopass resetchannels -@all", ["+get", "+set"])
    assert_rules(setuser(c, "b2", "+get", "+set", "-get", "+del"),
                 "user b2 off resetchannels -@all", ["+set", "+del"])
    assert_rules(setuser(c, "f", "+config|get", "+config|set"),
                 "user f off resetchannels -@all", ["+config|get", "+config|set"])
    assert_rules(setuser(c, "g", "+config", "-config|set"),
                 "user g off resetchannels -@all", ["+config", "-config|set"])
    assert_rules(setuser(c, "h", "+@all", "-get", "-set"),
                 "user h off resetchannels +@all", ["-get", "-set"])
    cmds = c.call("ACL", "GETUSER", "h")[5].decode()
    assert cmds.startswith("+@all ") and sorted(cmds.split(" ")[1:]) == ["-get", "-set"]


def test_selectors(c):
    line = setuser(c, "s", "on", ">p", "~a", "(~x +get)", "&c", "+set", "(&z ~q)")
    assert line == ("user s on #%s ~a resetchannels &c -@all +set (~x resetchannels -@all +get) "
                    "(~q resetchannels &z -@all)" % sha("p")).encode()
    assert c.call("ACL", "GETUSER", "s") == [
        b"flags", [b"on"],
        b"passwords", [sha("p").encode()],
        b"commands", b"-@all +set",
        b"keys", b"~a",
        b"channels", b"&c",
        b"selectors", [
            [b"commands", b"-@all +get", b"keys", b"~x", b"channels", b""],
            [b"commands", b"-@all", b"keys", b"~q", b"channels", b"&z"],
        ],
    ]
    # allkeys inside a selector; an empty selector.
    assert setuser(c, "s2", "(allkeys +get)", "()") == (
        b"user s2 off resetchannels -@all (~* resetchannels -@all +get) (resetchannels -@all)")
    # clearselectors drops them all, reset too.
    assert setuser(c, "s", "clearselectors") == ("user s on #%s ~a resetchannels &c -@all +set" % sha("p")).encode()
    assert c.call("ACL", "GETUSER", "s")[10:] == [b"selectors", []]
    assert setuser(c, "s2", "reset") == b"user s2 off sanitize-payload resetchannels -@all"


def test_selector_spread_over_arguments(c):
    # A selector may be split over several arguments: '(~x' '+get)' is one selector.
    assert setuser(c, "s", "(~x", "+get)", "(", "%R~y", "+set", ")") == (
        b"user s off resetchannels -@all (~x resetchannels -@all +get) (%R~y resetchannels -@all +set)")


def test_selectors_getuser_resp3(c):
    setuser(c, "s", "on", "~a", "&c", "+set", "(~x +get)", "(%R~y &z)")
    c.call("HELLO", "3")
    assert c.call("ACL", "GETUSER", "s") == {
        b"flags": {b"on"},
        b"passwords": [],
        b"commands": b"-@all +set",
        b"keys": b"~a",
        b"channels": b"&c",
        b"selectors": [
            {b"commands": b"-@all +get", b"keys": b"~x", b"channels": b""},
            {b"commands": b"-@all", b"keys": b"%R~y", b"channels": b"&z"},
        ],
    }


# ---------------------------------------------------------------------------
# 3. SETUSER errors
# ---------------------------------------------------------------------------

SYNTAX = "Syntax error"
UNKNOWN = "Unknown command or category name in ACL"
BADHASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
NOPASS = "The password you are trying to remove from the user does not exist"

SETUSER_ERRORS = [
    ("foo", SYNTAX),
    ("+nosuch", UNKNOWN),
    ("-nosuch", UNKNOWN),
    ("+@nosuch", UNKNOWN),
    ("-@nosuch", UNKNOWN),
    ("+", UNKNOWN),
    ("+@", UNKNOWN),
    ("+@all|x", UNKNOWN),
    ("+config|nosuch", UNKNOWN),
    ("-config|nosuch", UNKNOWN),
    ("+config|get|x", "Allowing first-arg of a subcommand is not supported"),
    ("+config|", SYNTAX),
    ("+select|", SYNTAX),
    ("+select|x|y", UNKNOWN),
    # first-args can be allowed, never denied
    ("-select|0", UNKNOWN),
    ("-get|x", UNKNOWN),
    ("#abc", BADHASH),
    ("#" + "g" * 64, BADHASH),
    ("#" + "A" * 64, BADHASH),
    ("!abc", BADHASH),
    ("!" + "a" * 64, NOPASS),
    ("<nosuchpass", NOPASS),
    ("%X~a", SYNTAX),
    ("%~a", SYNTAX),
    ("%Ra", SYNTAX),
    ("%RR~a", SYNTAX),
    # only key/channel/command rules are valid inside a selector
    ("(on)", SYNTAX),
    ("(>pass)", SYNTAX),
    ("(nopass)", SYNTAX),
    ("(reset)", SYNTAX),
    ("(clearselectors)", SYNTAX),
    ("(+nosuch)", UNKNOWN),
]


@pytest.mark.parametrize("rule,reason", SETUSER_ERRORS, ids=[r for r, _ in SETUSER_ERRORS])
def test_setuser_error_texts(c, rule, reason):
    assert c.err("ACL", "SETUSER", "t", rule) == "ERR Error in ACL SETUSER modifier '%s': %s" % (rule, reason)
    assert c.call("ACL", "GETUSER", "t") is None


def test_setuser_pattern_after_star_errors(c):
    assert c.err("ACL", "SETUSER", "t", "~*", "~a") == (
        "ERR Error in ACL SETUSER modifier '~a': Adding a pattern after the * pattern (or the 'allkeys' "
        "flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
    assert c.err("ACL", "SETUSER", "t", "allkeys", "~a") == (
        "ERR Error in ACL SETUSER modifier '~a': Adding a pattern after the * pattern (or the 'allkeys' "
        "flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
    assert c.err("ACL", "SETUSER", "t", "&*", "&a") == (
        "ERR Error in ACL SETUSER modifier '&a': Adding a pattern after the * pattern (or the 'allchannels' "
        "flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of "
        "channels")
    # after resetkeys it is fine
    assert setuser(c, "t", "~*", "resetkeys", "~a") == b"user t off ~a resetchannels -@all"


def test_setuser_unmatched_parenthesis_and_bad_usernames(c):
    assert c.err("ACL", "SETUSER", "t", "(") == "ERR Unmatched parenthesis in acl selector starting at '('."
    assert c.err("ACL", "SETUSER", "t", "(~a") == "ERR Unmatched parenthesis in acl selector starting at '(~a'."
    assert c.err("ACL", "SETUSER", "t", "on", "(+get", "~x") == (
        "ERR Unmatched parenthesis in acl selector starting at '(+get'.")
    assert c.err("ACL", "SETUSER", "a b") == "ERR Usernames can't contain spaces or null characters"
    assert c.err("ACL", "SETUSER", "a\x00b", "on") == "ERR Usernames can't contain spaces or null characters"
    assert c.call("ACL", "USERS") == [b"default"]


def test_failed_setuser_changes_nothing(c):
    before_line = setuser(c, "at", "on", ">p", "+get", "~k*")
    before = c.call("ACL", "GETUSER", "at")
    assert c.err("ACL", "SETUSER", "at", "off", "resetpass", "resetkeys", "+set", "+nosuch") == (
        "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL")
    assert line_of(c, "at") == before_line
    assert c.call("ACL", "GETUSER", "at") == before
    # a new user is not created by a failing SETUSER
    assert c.err("ACL", "SETUSER", "newu", "on", "bogus").startswith("ERR Error in ACL SETUSER modifier 'bogus'")
    assert c.call("ACL", "GETUSER", "newu") is None
    assert c.call("ACL", "USERS") == [b"at", b"default"]
    # the default user is protected the same way
    assert c.err("ACL", "SETUSER", "default", "off", "-@all", "%Q~x").startswith("ERR Error in ACL SETUSER")
    assert c.call("ACL", "LIST")[-1] == DEFAULT_LINE
    assert c.call("PING") == "PONG"


def test_acl_command_arity_and_unknown_subcommand(c):
    assert c.err("ACL") == "ERR wrong number of arguments for 'acl' command"
    assert c.err("ACL", "NOSUCH") == "ERR unknown subcommand 'NOSUCH'. Try ACL HELP."
    for sub in ("LIST", "USERS", "WHOAMI", "SAVE", "LOAD"):
        assert c.err("ACL", sub, "x") == "ERR wrong number of arguments for 'acl|%s' command" % sub.lower()
    for sub in ("GETUSER", "SETUSER", "DELUSER", "DRYRUN"):
        assert c.err("ACL", sub) == "ERR wrong number of arguments for 'acl|%s' command" % sub.lower()
    assert c.err("ACL", "GETUSER", "a", "b") == "ERR wrong number of arguments for 'acl|getuser' command"
    assert c.err("ACL", "DRYRUN", "default") == "ERR wrong number of arguments for 'acl|dryrun' command"


# ---------------------------------------------------------------------------
# 4. AUTH / HELLO AUTH
# ---------------------------------------------------------------------------

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def test_auth_user_pass_and_whoami(server, c):
    setuser(c, "alice", "on", ">s1", "~*", "&*", "+@all")
    a = server.client()
    assert a.call("ACL", "WHOAMI") == b"default"
    assert a.call("AUTH", "alice", "s1") == "OK"
    assert a.call("ACL", "WHOAMI") == b"alice"
    # switch to another user on the same connection
    setuser(c, "bob", "on", ">s2", "+acl|whoami")
    assert a.call("AUTH", "bob", "s2") == "OK"
    assert a.call("ACL", "WHOAMI") == b"bob"
    assert a.call("AUTH", "default", "anything") == "OK"  # default is nopass
    assert a.call("ACL", "WHOAMI") == b"default"


def test_auth_failures(server, c):
    setuser(c, "alice", "on", ">s1", "+@all")
    setuser(c, "off1", "off", ">s1", "+@all")
    a = server.client()
    assert a.call("AUTH", "alice", "s1") == "OK"
    assert a.err("AUTH", "alice", "bad") == WRONGPASS
    assert a.err("AUTH", "off1", "s1") == WRONGPASS  # disabled user, right password
    assert a.err("AUTH", "nobody", "x") == WRONGPASS
    # a failed AUTH keeps the current user
    assert a.call("ACL", "WHOAMI") == b"alice"
    # a user with no password and no nopass cannot log in at all
    setuser(c, "nopw", "on", "+@all")
    assert a.err("AUTH", "nopw", "") == WRONGPASS


def test_auth_nopass_user_accepts_any_password(server, c):
    setuser(c, "np", "on", "nopass", "+@all")
    a = server.client()
    assert a.call("AUTH", "np", "anything") == "OK"
    assert a.call("AUTH", "np", "") == "OK"
    assert a.call("ACL", "WHOAMI") == b"np"


def test_auth_password_without_requirepass(c):
    assert c.err("AUTH", "x") == (
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?")
    assert c.call("AUTH", "default", "x") == "OK"
    assert c.err("AUTH") == "ERR wrong number of arguments for 'auth' command"
    assert c.err("AUTH", "a", "b", "c") == "ERR syntax error"


@pytest.mark.server(config="requirepass foo\n")
def test_requirepass_in_config(server):
    c = server.client()
    assert c.err("PING") == "NOAUTH Authentication required."
    assert c.err("ACL", "WHOAMI") == "NOAUTH Authentication required."
    assert c.err("CLIENT", "SETNAME", "x") == "NOAUTH Authentication required."
    hello_noauth = (
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH "
        "<user> <pass> option can be used to authenticate the client and select the RESP protocol "
        "version at the same time")
    assert c.err("HELLO", "3") == hello_noauth
    assert c.err("HELLO") == hello_noauth
    assert c.err("AUTH", "bar") == WRONGPASS
    assert c.err("AUTH", "default", "bar") == WRONGPASS
    assert c.call("AUTH", "foo") == "OK"
    assert c.call("PING") == "PONG"
    assert c.call("ACL", "LIST") == [("user default on #%s ~* &* +@all" % sha("foo")).encode()]
    assert c.call("ACL", "GETUSER", "default")[:4] == [b"flags", [b"on"], b"passwords", [sha("foo").encode()]]
    c2 = server.client()
    assert c2.call("AUTH", "default", "foo") == "OK"
    assert c2.call("ACL", "WHOAMI") == b"default"


def test_config_set_requirepass_updates_default_user(server, c):
    assert c.call("CONFIG", "SET", "requirepass", "baz") == "OK"
    assert c.call("ACL", "LIST") == [("user default on #%s ~* &* +@all" % sha("baz")).encode()]
    # the existing connection stays authenticated
    assert c.call("PING") == "PONG"
    c2 = server.client()
    assert c2.pipeline([("PING",), ("AUTH", "foo"), ("AUTH", "baz"), ("PING",)]) == [
        RespError("NOAUTH Authentication required."), RespError(WRONGPASS), "OK", "PONG"]
    # ACL SETUSER default adds passwords; requirepass still reports what CONFIG SET stored
    assert c.call("ACL", "SETUSER", "default", ">another") == "OK"
    assert c.call("ACL", "LIST") == [
        ("user default on #%s #%s ~* &* +@all" % (sha("baz"), sha("another"))).encode()]
    assert c.call("CONFIG", "GET", "requirepass") == [b"requirepass", b"baz"]
    # an empty requirepass makes the default user nopass again (all passwords dropped)
    assert c.call("CONFIG", "SET", "requirepass", "") == "OK"
    assert c.call("ACL", "LIST") == [DEFAULT_LINE]
    assert c.call("CONFIG", "GET", "requirepass") == [b"requirepass", b""]


def test_hello_auth(server, c):
    setuser(c, "al", "on", ">s1", "~*", "&*", "+@all")
    h = server.client()
    rep = h.call("HELLO", "3", "AUTH", "al", "s1")
    assert isinstance(rep, dict) and rep[b"proto"] == 3
    assert h.call("ACL", "WHOAMI") == b"al"
    assert h.err("HELLO", "3", "AUTH", "al", "bad") == WRONGPASS
    assert h.err("HELLO", "2", "AUTH", "nobody", "x") == WRONGPASS
    assert h.err("HELLO", "3", "AUTH", "al") == "ERR Syntax error in HELLO option 'AUTH'"
    assert h.call("ACL", "WHOAMI") == b"al"
    h2 = server.client()
    rep = h2.call("HELLO", "2", "SETNAME", "n1", "AUTH", "al", "s1")
    assert isinstance(rep, list) and rep[rep.index(b"proto") + 1] == 2
    info = h2.call("CLIENT", "INFO").decode()
    assert " name=n1 " in info and " user=al " in info


def test_client_list_and_info_show_user(server, c):
    setuser(c, "al", "on", ">s1", "+@all")
    a = login(server, "al", "s1")
    info = a.call("CLIENT", "INFO").decode()
    assert re.search(r" user=al redir=-1 resp=2\n$", info), info
    lines = c.call("CLIENT", "LIST").decode().splitlines()
    users = sorted(re.search(r" user=(\S+) ", l).group(1) for l in lines)
    assert users == ["al", "default"]


def test_reset_returns_to_default_user(server, c):
    setuser(c, "al", "on", ">s1", "+@all")
    a = login(server, "al", "s1")
    assert a.call("RESET") == "RESET"
    assert a.call("ACL", "WHOAMI") == b"default"


def test_auth_hello_reset_allowed_without_permissions(server, c):
    setuser(c, "nc", "on", ">p")  # no commands at all
    setuser(c, "full", "on", ">p", "+@all")
    n = login(server, "nc", "p")
    assert n.err("PING") == "NOPERM this user has no permissions to run the 'ping' command"
    assert n.err("ACL", "WHOAMI") == "NOPERM this user has no permissions to run the 'acl|whoami' command"
    assert n.call("HELLO")[:2] == [b"server", b"redis"]
    assert n.call("RESET") == "RESET"  # back to the default user
    assert n.call("ACL", "WHOAMI") == b"default"
    n2 = login(server, "nc", "p")
    assert n2.call("AUTH", "full", "p") == "OK"
    assert n2.call("ACL", "WHOAMI") == b"full"
    # unknown commands and arity errors come before the permission check
    n3 = login(server, "nc", "p")
    assert n3.err("NOSUCHCMD") == "ERR unknown command 'NOSUCHCMD', with args beginning with: "
    assert n3.err("GET") == "ERR wrong number of arguments for 'get' command"
    assert n3.err("CONFIG", "nosuch") == "ERR unknown subcommand 'nosuch'. Try CONFIG HELP."


def test_disabling_user_keeps_existing_connections(server, c):
    setuser(c, "u", "on", ">pw", "+@all")
    u = login(server, "u")
    assert c.call("ACL", "SETUSER", "u", "off", "resetpass") == "OK"
    assert u.call("PING") == "PONG"
    assert u.call("ACL", "WHOAMI") == b"u"
    assert server.client().err("AUTH", "u", "pw") == WRONGPASS


# ---------------------------------------------------------------------------
# 5. permission checks
# ---------------------------------------------------------------------------

NOPERM_KEYS = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNELS = "NOPERM this user has no permissions to access one of the channels used as arguments"


def noperm_cmd(name):
    return "NOPERM this user has no permissions to run the '%s' command" % name


def test_noperm_command_and_subcommand(server, c):
    setuser(c, "u", "reset", "on", ">pw", "~*", "&*", "+@all", "-flushall", "-config", "+config|get")
    u = login(server, "u")
    assert u.err("FLUSHALL") == noperm_cmd("flushall")
    assert u.err("flushall", "async") == noperm_cmd("flushall")
    assert u.err("CONFIG", "SET", "maxmemory", "0") == noperm_cmd("config|set")
    assert u.err("config", "SET", "maxmemory", "0") == noperm_cmd("config|set")
    assert u.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"0"]
    assert u.call("SET", "k", "v") == "OK"
    # only GET allowed
    setuser(c, "g", "on", ">pw", "~*", "+get")
    g = login(server, "g")
    assert g.call("GET", "k") == b"v"
    assert g.err("SET", "k", "v") == noperm_cmd("set")
    assert g.err("CLIENT", "ID") == noperm_cmd("client|id")


def test_first_arg_rules(server, c):
    setuser(c, "s", "on", ">pw", "+select|0", "+select|2")
    s = login(server, "s")
    assert s.call("SELECT", "0") == "OK"
    assert s.call("SELECT", "2") == "OK"
    assert s.err("SELECT", "1") == noperm_cmd("select")


def test_key_permissions_read_write(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "~k*", "%R~r*", "%W~w*")
    c.call("SET", "r1", "x")
    u = login(server, "u")
    # ~k*: read and write
    assert u.call("SET", "k1", "v") == "OK"
    assert u.call("GET", "k1") == b"v"
    # %R~r*: read only
    assert u.call("GET", "r1") == b"x"
    assert u.err("SET", "r1", "y") == NOPERM_KEYS
    assert u.err("DEL", "r1") == NOPERM_KEYS
    # %W~w*: write only
    assert u.call("SET", "w1", "v") == "OK"
    assert u.call("APPEND", "w1", "v") == 2
    assert u.err("GET", "w1") == NOPERM_KEYS
    assert u.err("TTL", "w1") == NOPERM_KEYS
    # key specs that neither read the value nor write it need any matching pattern
    assert u.call("EXISTS", "w1") == 1
    assert u.call("TYPE", "w1") == "string"
    assert u.call("STRLEN", "w1") == 2
    assert u.call("DEL", "w1") == 1
    # no pattern at all
    assert u.err("GET", "x") == NOPERM_KEYS
    assert u.err("SET", "x", "1") == NOPERM_KEYS
    assert u.err("EXISTS", "x") == NOPERM_KEYS


def test_key_permissions_multi_key_commands(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "~k*", "%R~r*", "%W~w*")
    u = login(server, "u")
    assert u.err("MSET", "k1", "1", "x", "2") == NOPERM_KEYS
    assert u.err("MGET", "k1", "x") == NOPERM_KEYS
    assert u.err("DEL", "k1", "x") == NOPERM_KEYS
    assert u.call("MSET", "k1", "1", "k2", "2") == "OK"
    # COPY: source needs read, destination needs write
    assert u.call("COPY", "k1", "w2") == 1
    assert u.err("COPY", "w2", "k3") == NOPERM_KEYS
    assert u.err("COPY", "k1", "r3") == NOPERM_KEYS
    assert u.call("COPY", "r1", "k9") == 0
    # LMOVE reads and writes its source
    assert u.err("LMOVE", "r1", "w1", "LEFT", "LEFT") == NOPERM_KEYS
    assert u.call("LMOVE", "k5", "w1", "LEFT", "LEFT") is None
    # commands without keys are not affected
    assert u.call("DBSIZE") == 3


def test_channel_permissions(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "~*", "&ch*")
    u = login(server, "u")
    assert u.call("PUBLISH", "ch1", "m") == 0
    assert u.err("PUBLISH", "foo", "m") == NOPERM_CHANNELS
    # one forbidden channel rejects the whole SUBSCRIBE: nothing subscribed
    assert u.err("SUBSCRIBE", "ch1", "foo") == NOPERM_CHANNELS
    assert u.call("PING") == "PONG"
    # unsubscribing is never checked
    assert u.call("UNSUBSCRIBE", "foo") == [b"unsubscribe", b"foo", 0]
    assert u.call("PUNSUBSCRIBE", "foo") == [b"punsubscribe", b"foo", 0]
    assert u.call("SUBSCRIBE", "ch1") == [b"subscribe", b"ch1", 1]


def test_psubscribe_pattern_must_match_literally(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "~*", "&c*", "&news.*")
    u = login(server, "u")
    assert u.call("PSUBSCRIBE", "c*") == [b"psubscribe", b"c*", 1]
    # a narrower pattern is still refused: patterns are compared literally
    assert u.err("PSUBSCRIBE", "news.1*") == NOPERM_CHANNELS
    assert u.err("PSUBSCRIBE", "*") == NOPERM_CHANNELS
    assert u.call("PSUBSCRIBE", "news.*") == [b"psubscribe", b"news.*", 2]
    assert u.call("SUBSCRIBE", "news.x") == [b"subscribe", b"news.x", 3]
    assert u.err("SUBSCRIBE", "other") == NOPERM_CHANNELS


def test_channel_rule_change_disconnects_subscribers(server, c):
    setuser(c, "s", "on", "nopass", "+@all", "~*", "resetchannels", "&news.*", "&foo")
    s1 = login(server, "s", "x")
    s2 = login(server, "s", "x")
    s3 = login(server, "s", "x")
    assert s1.call("SUBSCRIBE", "foo") == [b"subscribe", b"foo", 1]
    assert s2.call("PSUBSCRIBE", "news.*") == [b"psubscribe", b"news.*", 1]
    assert s3.call("SUBSCRIBE", "news.1") == [b"subscribe", b"news.1", 1]
    assert c.call("ACL", "SETUSER", "s", "resetchannels", "&foo") == "OK"
    assert s2.is_closed(5)
    assert s3.is_closed(5)
    assert not s1.is_closed(0.2)
    wait_until(lambda: c.call("PUBLISH", "foo", "m") == 1, 5)


def test_deluser_disconnects_its_clients(server, c):
    setuser(c, "full", "on", ">pw", "+@all")
    setuser(c, "other", "on", ">pw", "+@all")
    k1 = login(server, "full")
    k2 = login(server, "full")
    o = login(server, "other")
    assert c.call("ACL", "DELUSER", "full") == 1
    assert k1.is_closed(5)
    assert k2.is_closed(5)
    assert o.call("PING") == "PONG"
    assert c.call("ACL", "USERS") == [b"default", b"other"]


def test_client_kill_user(server, c):
    setuser(c, "ck", "on", "nopass", "+@all")
    a = login(server, "ck", "")
    b = login(server, "ck", "")
    assert c.call("CLIENT", "KILL", "USER", "ck") == 2
    assert a.is_closed(5) and b.is_closed(5)
    assert c.call("CLIENT", "KILL", "USER", "ck") == 0
    assert c.err("CLIENT", "KILL", "USER", "nosuchuser") == "ERR No such user 'nosuchuser'"


def test_multi_noperm_at_queue_time(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "-flushall", "~k*")
    u = login(server, "u")
    assert u.call("MULTI") == "OK"
    assert u.err("GET", "x") == NOPERM_KEYS
    assert u.err("FLUSHALL") == noperm_cmd("flushall")
    assert u.call("SET", "k1", "2") == "QUEUED"
    assert u.err("EXEC") == "EXECABORT Transaction discarded because of previous errors."
    assert c.call("GET", "k1") is None
    assert u.call("MULTI") == "OK"
    assert u.call("GET", "k1") == "QUEUED"
    assert u.call("EXEC") == [None]


def test_multi_rules_changed_before_exec(server, c):
    setuser(c, "mx", "on", "nopass", "+@all", "~*", "&*")
    m = login(server, "mx", "")
    assert m.call("MULTI") == "OK"
    for cmd in (("GET", "k"), ("PUBLISH", "ch", "x"), ("SET", "k2", "v"), ("PING",)):
        assert m.call(*cmd) == "QUEUED"
    assert c.call("ACL", "SETUSER", "mx", "resetkeys", "~k2", "resetchannels") == "OK"
    prefix = ("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC "
              "call. This command is no longer allowed for the following reason: ")
    assert m.call("EXEC") == [
        RespError(prefix + "no permission to touch the specified keys"),
        RespError(prefix + "no permission to access one of the channels used as arguments"),
        "OK",
        "PONG",
    ]
    assert m.call("MULTI") == "OK"
    assert m.call("GET", "k2") == "QUEUED"
    assert c.call("ACL", "SETUSER", "mx", "-get") == "OK"
    assert m.call("EXEC") == [RespError(prefix + "no permission to execute the command or subcommand")]


def test_denied_multi_exec_discard(server, c):
    setuser(c, "mx", "on", "nopass", "+@all", "~*", "-multi")
    m = login(server, "mx", "")
    assert m.err("MULTI") == noperm_cmd("multi")
    # a denied EXEC is reported as EXECABORT (also outside MULTI)
    setuser(c, "mx", "+multi", "-exec", "-get")
    assert m.call("MULTI") == "OK"
    assert m.err("GET", "k") == noperm_cmd("get")
    assert m.err("EXEC") == "EXECABORT Transaction discarded because of: " + noperm_cmd("exec")
    assert m.call("PING") == "PONG"  # the transaction is gone
    assert m.err("EXEC") == "EXECABORT Transaction discarded because of: " + noperm_cmd("exec")


def test_eval_redis_call_denied(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "-flushall", "~k*", "&ch*")
    u = login(server, "u")

    def script_err(body):
        sha1 = hashlib.sha1(body.encode()).hexdigest()
        return " script: %s, on @user_script:1." % sha1

    body = 'return redis.call("flushall")'
    assert u.err("EVAL", body, "0") == (
        "ERR The user executing the script can't run this command or subcommand" + script_err(body))
    body = 'return redis.call("get","x")'
    assert u.err("EVAL", body, "0") == (
        "ERR The user executing the script can't access at least one of the keys mentioned in the "
        "command arguments" + script_err(body))
    body = 'return redis.call("publish","zz","m")'
    assert u.err("EVAL", body, "0") == (
        "ERR The user executing the script can't publish to the channel mentioned in the command"
        + script_err(body))
    # redis.pcall returns the error table: no script suffix
    assert u.err("EVAL", 'return redis.pcall("flushall")', "0") == (
        "ERR The user executing the script can't run this command or subcommand")
    assert u.err("EVAL", 'return redis.pcall("get","x")', "0") == (
        "ERR The user executing the script can't access at least one of the keys mentioned in the "
        "command arguments")
    assert u.call("EVAL", 'return redis.call("set","k1","v")', "0") == "OK"
    # keys declared to EVAL itself are checked before the script runs
    assert u.err("EVAL", "return redis.call('get',KEYS[1])", "1", "x") == NOPERM_KEYS


def test_eval_acl_check_cmd(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "-flushall", "-config", "+config|get", "~k*")
    u = login(server, "u")

    def check(*args):
        lua = "return redis.acl_check_cmd(%s)" % ",".join('"%s"' % a for a in args)
        return u.call("EVAL", lua, "0")

    assert check("flushall") is None  # Lua false -> nil
    assert check("get", "x") is None
    assert check("get", "k1") == 1
    assert check("config", "set", "a", "b") is None
    assert check("config", "get", "a") == 1
    err = u.err("EVAL", 'return redis.acl_check_cmd("nosuch")', "0")
    assert err.startswith("ERR Invalid command passed to redis.acl_check_cmd() script: "), err


# ---------------------------------------------------------------------------
# 6. ACL LOG
# ---------------------------------------------------------------------------


def check_age(v):
    assert isinstance(v, bytes), v
    age = float(v.decode())
    assert 0 <= age < 60, v


def test_acl_log_command_entry(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "-flushall", "~*")
    u = login(server, "u")
    assert c.call("ACL", "LOG") == []
    assert u.err("FLUSHALL") == noperm_cmd("flushall")
    raw = c.call("ACL", "LOG")
    assert len(raw) == 1
    rec = raw[0]
    assert rec[0::2] == [f.encode() for f in LOG_FIELDS]
    (e,) = log_entries(c)
    assert e["count"] == 1
    assert e["reason"] == b"command"
    assert e["context"] == b"toplevel"
    assert e["object"] == b"flushall"
    assert e["username"] == b"u"
    check_age(e["age-seconds"])
    ci = e["client-info"].decode()
    assert ci.startswith("id=") and " cmd=flushall user=u " in ci and not ci.endswith("\n"), ci


def test_acl_log_resp3(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "-flushall", "~*")
    login(server, "u").err("FLUSHALL")
    c.call("HELLO", "3")
    (e,) = c.call("ACL", "LOG")
    assert list(e) == [f.encode() for f in LOG_FIELDS]
    assert e[b"count"] == 1
    assert e[b"reason"] == b"command"
    assert e[b"object"] == b"flushall"
    assert isinstance(e[b"age-seconds"], float) and 0 <= e[b"age-seconds"] < 60


def test_acl_log_reasons(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "-config", "+config|get", "~k*", "&ch*")
    u = login(server, "u")
    u.err("GET", "x")
    u.err("PUBLISH", "nope", "m")
    u.err("CONFIG", "SET", "a", "b")
    a = server.client()
    a.err("AUTH", "u", "bad")
    a.err("AUTH", "nobody", "x")
    a.err("HELLO", "3", "AUTH", "ghost", "x")
    got = [(e["reason"], e["context"], e["object"], e["username"]) for e in log_entries(c)]
    assert got == [
        (b"auth", b"toplevel", b"HELLO", b"ghost"),
        (b"auth", b"toplevel", b"AUTH", b"nobody"),
        (b"auth", b"toplevel", b"AUTH", b"u"),
        (b"command", b"toplevel", b"config|set", b"u"),
        (b"channel", b"toplevel", b"nope", b"u"),
        (b"key", b"toplevel", b"x", b"u"),
    ]
    # a failed AUTH is logged with the client's current user in client-info
    auth_entry = log_entries(c)[1]
    assert " cmd=auth user=default " in auth_entry["client-info"].decode()


def test_acl_log_contexts_multi_and_lua(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "-flushall", "~k*", "&ch*")
    u = login(server, "u")
    u.call("MULTI")
    u.err("GET", "zz")
    u.call("DISCARD")
    u.err("EVAL", 'return redis.pcall("flushall")', "0")
    u.err("EVAL", 'return redis.call("publish","zz","m")', "0")
    u.err("EVAL", "return redis.call('get',KEYS[1])", "1", "x")  # checked at top level
    got = [(e["reason"], e["context"], e["object"]) for e in log_entries(c)]
    assert got == [
        (b"key", b"toplevel", b"x"),
        (b"channel", b"lua", b"zz"),
        (b"command", b"lua", b"flushall"),
        (b"key", b"multi", b"zz"),
    ]
    # a rule change between queueing and EXEC logs with context multi
    c.call("ACL", "LOG", "RESET")
    u.call("MULTI")
    u.call("SET", "k1", "v")
    setuser(c, "u", "-set")
    u.call("EXEC")
    (e,) = log_entries(c)
    assert (e["reason"], e["context"], e["object"], e["username"]) == (b"command", b"multi", b"set", b"u")
    assert " cmd=exec user=u " in e["client-info"].decode()


def test_acl_log_groups_identical_entries(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "-flushall", "~k*")
    u = login(server, "u")
    u2 = login(server, "u")
    u.err("FLUSHALL")
    u.err("GET", "x")
    u2.err("FLUSHALL")  # same reason/context/object/user from another client: grouped
    entries = log_entries(c)
    assert [(e["count"], e["object"]) for e in entries] == [(2, b"flushall"), (1, b"x")]
    # the updated entry moved to the head; the client-info is the latest one
    u2_id = u2.call("CLIENT", "ID")
    assert entries[0]["client-info"].decode().startswith("id=%d " % u2_id)
    u.err("GET", "x")
    u.err("GET", "x")
    assert [(e["count"], e["object"]) for e in log_entries(c)] == [(3, b"x"), (2, b"flushall")]
    # failed AUTH attempts for the same user group too
    a = server.client()
    a.err("AUTH", "u", "bad1")
    a.err("AUTH", "u", "bad2")
    assert (log_entries(c)[0]["count"], log_entries(c)[0]["reason"]) == (2, b"auth")


def test_acl_log_count_argument_and_reset(server, c):
    setuser(c, "u", "on", ">pw", "+@all", "~k*")
    u = login(server, "u")
    for k in ("a", "b", "c"):
        u.err("GET", k)
    assert [e["object"] for e in log_entries(c)] == [b"c", b"b", b"a"]
    assert [e["object"] for e in log_entries(c, "1")] == [b"c"]
    assert [e["object"] for e in log_entries(c, "2")] == [b"c", b"b"]
    assert len(log_entries(c, "100")) == 3
    assert c.call("ACL", "LOG", "0") == []
    assert c.call("ACL", "LOG", "-1") == []
    assert c.err("ACL", "LOG", "x") == "ERR value is not an integer or out of range"
    bad = "ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP."
    assert c.err("ACL", "LOG", "RESET", "x") == bad
    assert c.err("ACL", "LOG", "1", "2") == bad
    assert c.call("ACL", "LOG", "RESET") == "OK"
    assert c.call("ACL", "LOG") == []
    assert c.call("ACL", "LOG", "reset") == "OK"


def test_acl_log_max_len(server, c):
    assert c.call("CONFIG", "GET", "acllog-max-len") == [b"acllog-max-len", b"128"]
    assert c.call("CONFIG", "SET", "acllog-max-len", "2") == "OK"
    for i in range(5):
        c.err("AUTH", "u%d" % i, "x")
    assert [e["username"] for e in log_entries(c)] == [b"u4", b"u3"]


# ---------------------------------------------------------------------------
# 7. ACL CAT
# ---------------------------------------------------------------------------

CATEGORIES = [
    b"keyspace", b"read", b"write", b"set", b"sortedset", b"list", b"hash", b"string", b"bitmap",
    b"hyperloglog", b"geo", b"stream", b"pubsub", b"admin", b"fast", b"slow", b"blocking",
    b"dangerous", b"connection", b"transaction", b"scripting",
]


def test_acl_cat_lists_categories(c):
    assert c.call("ACL", "CAT") == CATEGORIES


def test_acl_cat_category_members(c):
    # Redis lists a category's commands in command-table hash order: compare as sets.
    read = c.call("ACL", "CAT", "read")
    assert len(read) == len(set(read))
    for name in (b"get", b"mget", b"exists", b"ttl", b"object|encoding", b"memory|usage",
                 b"xinfo|stream", b"zscore", b"keys", b"scan", b"dbsize"):
        assert name in read, name
    for name in (b"set", b"del", b"config", b"config|get", b"object", b"ping"):
        assert name not in read, name
    assert set(c.call("ACL", "CAT", "READ")) == set(read)
    assert set(c.call("ACL", "CAT", "transaction")) == {b"multi", b"exec", b"discard", b"watch", b"unwatch"}
    conn = set(c.call("ACL", "CAT", "connection"))
    for name in (b"auth", b"hello", b"ping", b"client|kill", b"client|list", b"command", b"command|info"):
        assert name in conn, name
    assert b"client" not in conn
    admin = set(c.call("ACL", "CAT", "admin"))
    for name in (b"acl|setuser", b"acl|log", b"config|set", b"config|get", b"debug", b"shutdown"):
        assert name in admin, name
    assert b"acl|whoami" not in admin and b"acl|cat" not in admin
    scripting = set(c.call("ACL", "CAT", "scripting"))
    assert {b"eval", b"evalsha", b"fcall", b"script|load", b"function|load"} <= scripting


def test_acl_cat_errors(c):
    assert c.err("ACL", "CAT", "nosuch") == "ERR Unknown category 'nosuch'"
    assert c.err("ACL", "CAT", "a", "b") == (
        "ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP.")


# ---------------------------------------------------------------------------
# 8. GENPASS, DRYRUN, DELUSER, HELP, COMMAND INFO
# ---------------------------------------------------------------------------


def test_acl_genpass(c):
    hexre = re.compile(rb"^[0-9a-f]+$")
    p1, p2 = c.call("ACL", "GENPASS"), c.call("ACL", "GENPASS")
    assert len(p1) == 64 and hexre.match(p1) and p1 != p2
    # bits rounded up to whole hex digits
    for bits, n in ((32, 8), (1, 1), (5, 2), (8, 2), (9, 3), (255, 64), (256, 64), (257, 65), (4096, 1024)):
        p = c.call("ACL", "GENPASS", str(bits))
        assert len(p) == n and hexre.match(p), (bits, p)


def test_acl_genpass_errors(c):
    msg = ("ERR ACL GENPASS argument must be the number of bits for the output password, "
           "a positive number up to 4096")
    for arg in ("0", "-1", "4097"):
        assert c.err("ACL", "GENPASS", arg) == msg
    assert c.err("ACL", "GENPASS", "x") == "ERR value is not an integer or out of range"
    assert c.err("ACL", "GENPASS", "1", "2") == (
        "ERR unknown subcommand or wrong number of arguments for 'GENPASS'. Try ACL HELP.")


def test_acl_dryrun(c):
    setuser(c, "dr", "on", "nopass", "~k*", "%R~r*", "&c*", "+get", "+set", "+config|get", "+publish",
            "+subscribe", "+psubscribe", "+spublish")
    assert c.call("ACL", "DRYRUN", "dr", "get", "k1") == "OK"
    assert c.call("ACL", "DRYRUN", "dr", "GET", "x") == b"This user has no permissions to access the 'x' key"
    assert c.call("ACL", "DRYRUN", "dr", "get", "r1") == "OK"
    assert c.call("ACL", "DRYRUN", "dr", "set", "r1", "v") == b"This user has no permissions to access the 'r1' key"
    assert c.call("ACL", "DRYRUN", "dr", "del", "k1") == b"This user has no permissions to run the 'del' command"
    assert c.call("ACL", "DRYRUN", "dr", "config", "get", "x") == "OK"
    assert c.call("ACL", "DRYRUN", "dr", "config", "set", "x", "y") == (
        b"This user has no permissions to run the 'config|set' command")
    assert c.call("ACL", "DRYRUN", "dr", "publish", "c1", "m") == "OK"
    assert c.call("ACL", "DRYRUN", "dr", "publish", "x", "m") == b"This user has no permissions to access the 'x' channel"
    assert c.call("ACL", "DRYRUN", "dr", "subscribe", "c1", "x") == (
        b"This user has no permissions to access the 'x' channel")
    assert c.call("ACL", "DRYRUN", "dr", "psubscribe", "c*") == "OK"
    assert c.call("ACL", "DRYRUN", "dr", "psubscribe", "c") == b"This user has no permissions to access the 'c' channel"
    # DRYRUN does not write to the ACL log
    assert c.call("ACL", "LOG") == []


def test_sharded_channel_permissions(server, c):
    # Sharded pub/sub (SPUBLISH, SSUBSCRIBE) is not in redust yet: this test
    # runs where the server has it.
    if c.err("SPUBLISH") != "ERR wrong number of arguments for 'spublish' command":
        pytest.skip("the server has no sharded pub/sub")
    setuser(c, "u", "on", ">pw", "+@all", "~*", "&ch*")
    u = login(server, "u")
    assert u.err("SPUBLISH", "foo", "m") == NOPERM_CHANNELS
    assert u.err("SSUBSCRIBE", "foo") == NOPERM_CHANNELS
    setuser(c, "dr", "on", "nopass", "&c*", "+spublish")
    assert c.call("ACL", "DRYRUN", "dr", "spublish", "x", "m") == (
        b"This user has no permissions to access the 'x' channel")


def test_acl_dryrun_errors(c):
    setuser(c, "dr", "on", "nopass", "+get")
    assert c.err("ACL", "DRYRUN", "nosuch", "get", "x") == "ERR User 'nosuch' not found"
    assert c.err("ACL", "DRYRUN", "dr", "nosuchcmd") == "ERR Command 'nosuchcmd' not found"
    assert c.err("ACL", "DRYRUN", "dr", "get") == "ERR wrong number of arguments for 'get' command"
    assert c.err("ACL", "DRYRUN", "dr", "get", "a", "b") == "ERR wrong number of arguments for 'get' command"
    assert c.err("ACL", "DRYRUN", "dr", "config") == "ERR wrong number of arguments for 'config' command"
    # quirk: an unknown subcommand reports the container as not found
    assert c.err("ACL", "DRYRUN", "dr", "config", "nosuch") == "ERR Command 'config' not found"


def test_acl_deluser(c):
    assert c.err("ACL", "DELUSER", "default") == "ERR The 'default' user cannot be removed"
    assert c.call("ACL", "DELUSER", "nosuch") == 0
    setuser(c, "d1")
    setuser(c, "d2")
    setuser(c, "d3")
    assert c.call("ACL", "DELUSER", "d1", "d2", "nosuch", "d1") == 2
    # 'default' anywhere in the list fails the whole call
    assert c.err("ACL", "DELUSER", "d3", "default") == "ERR The 'default' user cannot be removed"
    assert c.call("ACL", "USERS") == [b"d3", b"default"]


def test_acl_help(c):
    assert c.call("ACL", "HELP") == [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    ]


ACL_SUBCOMMANDS = {
    # name: (arity, flags, categories)
    b"acl|setuser": (-3, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"]),
    b"acl|deluser": (-3, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"]),
    b"acl|cat": (-2, ["noscript", "loading", "stale"], ["@slow"]),
    b"acl|list": (2, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"]),
    b"acl|users": (2, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"]),
    b"acl|genpass": (-2, ["noscript", "loading", "stale"], ["@slow"]),
    b"acl|load": (2, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"]),
    b"acl|save": (2, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"]),
    b"acl|getuser": (3, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"]),
    b"acl|help": (2, ["loading", "stale"], ["@slow"]),
    b"acl|whoami": (2, ["noscript", "loading", "stale"], ["@slow"]),
    b"acl|dryrun": (-4, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"]),
    b"acl|log": (-2, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"]),
}


def check_command_info_acl(c):
    (info,) = c.call("COMMAND", "INFO", "acl")
    assert info[:9] == [b"acl", -2, [], 0, 0, 0, ["@slow"], [], []]
    subs = {s[0]: (s[1], s[2], s[6]) for s in info[9]}
    assert subs == ACL_SUBCOMMANDS
    for s in info[9]:
        assert s[3:6] == [0, 0, 0] and s[7:] == [[], [], []], s


def test_command_info_acl(c):
    check_command_info_acl(c)


# ---------------------------------------------------------------------------
# 9. configuration: user directives, CONFIG REWRITE, aclfile
# ---------------------------------------------------------------------------


@pytest.mark.server(config="user alice on >secret ~* +@all\nuser bob off\n")
def test_user_directives_in_config(server, c):
    assert c.call("ACL", "LIST") == [
        ("user alice on #%s ~* resetchannels +@all" % sha("secret")).encode(),
        b"user bob off resetchannels -@all",
        DEFAULT_LINE,
    ]
    a = server.client()
    assert a.call("AUTH", "alice", "secret") == "OK"
    assert a.call("ACL", "WHOAMI") == b"alice"
    assert server.client().err("AUTH", "bob", "") == WRONGPASS
    # without an aclfile, ACL SAVE / LOAD refuse
    msg = ("ERR This Redis instance is not configured to use an ACL file. You may want to specify users "
           "via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis "
           "configuration file set) in order to store users in the Redis configuration.")
    assert c.err("ACL", "SAVE") == msg
    assert c.err("ACL", "LOAD") == msg
    assert c.call("CONFIG", "GET", "aclfile") == [b"aclfile", b""]


@pytest.mark.server(config="user default on >pw ~* +@all\nuser bob on nopass &x +get\n")
def test_user_default_directive_resets_default_user(server):
    c = server.client()
    assert c.err("PING") == "NOAUTH Authentication required."
    assert c.call("AUTH", "pw") == "OK"
    # a 'user default' line starts from 'reset' (hence sanitize-payload, resetchannels)
    assert c.call("ACL", "LIST") == [
        b"user bob on nopass resetchannels &x -@all +get",
        ("user default on sanitize-payload #%s ~* resetchannels +@all" % sha("pw")).encode(),
    ]
    # and it wins over requirepass: CONFIG GET requirepass stays empty
    assert c.call("CONFIG", "GET", "requirepass") == [b"requirepass", b""]


@pytest.mark.server(config="user alice on >secret ~* +@all\n")
def test_config_rewrite_persists_users(server, c):
    setuser(c, "bob", "on", ">pw", "~k*", "&c", "+get", "(~w* +set)")
    expected = c.call("ACL", "LIST")
    assert c.call("CONFIG", "REWRITE") == "OK"
    with open(server.config_path) as f:
        lines = [l for l in f.read().splitlines() if l.startswith("user ")]
    assert lines == [l.decode() for l in expected]
    server.restart()
    c2 = server.client()
    # the rewritten 'user default ...' line goes through 'reset' when loaded again, so after
    # the restart the default user carries sanitize-payload (real 7.0.15 behaviour)
    assert c2.call("ACL", "LIST") == expected[:-1] + [b"user default on nopass sanitize-payload ~* &* +@all"]
    assert c2.call("AUTH", "bob", "pw") == "OK"


def aclfile_server(server_factory, content):
    """A server with ``aclfile <dir>/users.acl`` holding ``content``; returns (server, path)."""
    s = server_factory(config="", wait=False)
    path = os.path.join(s.dir, "users.acl")
    with open(path, "w") as f:
        f.write(content)
    with open(s.config_path, "w") as f:
        f.write("aclfile %s\n" % path)
    s.start()
    return s, path


def test_aclfile_load_and_save_roundtrip(server_factory):
    s, path = aclfile_server(server_factory, "user alice on >a ~* +@all\n")
    c = s.client()
    assert c.call("CONFIG", "GET", "aclfile") == [b"aclfile", path.encode()]
    assert c.call("ACL", "LIST") == [
        ("user alice on #%s ~* resetchannels +@all" % sha("a")).encode(), DEFAULT_LINE]
    setuser(c, "bob", "on", ">pw", "~k*", "&c", "+get", "(+set ~w*)")
    assert c.call("ACL", "SAVE") == "OK"
    with open(path) as f:
        content = f.read()
    assert content == (
        "user alice on #%s ~* resetchannels +@all\n"
        "user bob on #%s ~k* resetchannels &c -@all +get (~w* resetchannels -@all +set)\n"
        "user default on nopass ~* &* +@all\n" % (sha("a"), sha("pw")))
    # LOAD replaces everything with the file's users (default reset when not in the file)
    setuser(c, "default", ">x", "resetkeys", "~x")
    with open(path, "w") as f:
        f.write("user carol on nopass +@all ~*\n\n   \nuser dave on (~x +get) &y\n")
    assert c.call("ACL", "LOAD") == "OK"
    assert c.call("ACL", "LIST") == [
        b"user carol on nopass ~* resetchannels +@all",
        b"user dave on resetchannels &y -@all (~x resetchannels -@all +get)",
        DEFAULT_LINE,
    ]
    # the saved file loads back to the same users
    before = c.call("ACL", "LIST")
    assert c.call("ACL", "SAVE") == "OK"
    assert c.call("ACL", "LOAD") == "OK"
    assert c.call("ACL", "LIST") == before
    assert c.err("CONFIG", "SET", "aclfile", "/tmp/x") == (
        "ERR CONFIG SET failed (possibly related to argument 'aclfile') - can't set immutable config")


def test_acl_load_disconnects_non_default_users(server_factory):
    s, path = aclfile_server(server_factory, "user alice on >a ~* &* +@all\nuser bob on >b ~* &* +@all\n")
    c = s.client()
    a = login(s, "alice", "a")
    b = login(s, "bob", "b")
    d = s.client()
    with open(path, "w") as f:
        f.write("user alice on >a ~* &* +@all\n")
    assert c.call("ACL", "LOAD") == "OK"
    # every client of a non-default user is dropped, even if the user still exists
    assert a.is_closed(5)
    assert b.is_closed(5)
    assert d.call("PING") == "PONG"
    assert c.call("ACL", "USERS") == [b"alice", b"default"]
    # a client running ACL LOAD as such a user gets its reply, then is dropped
    a2 = login(s, "alice", "a")
    assert a2.call("ACL", "LOAD") == "OK"
    assert a2.is_closed(5)


def test_acl_load_errors(server_factory):
    s, path = aclfile_server(server_factory, "user alice on >a ~* &* +@all\n")
    c = s.client()
    before = c.call("ACL", "LIST")
    tail = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
    cases = [
        ("user dave on +nosuch\nbogus line\n",
         "ERR %s:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. "
         "%s:2 should start with user keyword followed by the username. " % (path, path) + tail),
        ("user dave on bogus\n", "ERR %s:1: Syntax error. " % path + tail),
        ("user dave on #abc\n", "ERR %s:1: The password hash must be exactly 64 characters and contain "
                                "only lowercase hexadecimal characters. " % path + tail),
        ("user dave on ~* ~a\n", "ERR %s:1: Adding a pattern after the * pattern (or the 'allkeys' flag) "
                                 "is not valid and does not have any effect. Try 'resetkeys' to start with "
                                 "an empty list of patterns. " % path + tail),
        ("user\n", "ERR %s:1 should start with user keyword followed by the username. " % path + tail),
        ("# comment\n", "ERR %s:1 should start with user keyword followed by the username. " % path + tail),
        ("user dave on\nuser dave off\nuser eve on +nosuch\n",
         "ERR WARNING: Duplicate user 'dave' found on line 2. %s:3: Error in applying operation '+nosuch': "
         "Unknown command or category name in ACL. " % path + tail),
    ]
    for content, msg in cases:
        with open(path, "w") as f:
            f.write(content)
        assert c.err("ACL", "LOAD") == msg, content
        assert c.call("ACL", "LIST") == before
    os.unlink(path)
    assert c.err("ACL", "LOAD") == "ERR Error loading ACLs, opening file '%s': No such file or directory" % path
    assert c.call("ACL", "LIST") == before


def test_startup_missing_aclfile_fails():
    rc, out = run_server_expect_exit(config="aclfile /nonexistent-redust-dir/users.acl\n")
    assert rc == 1
    assert ("Aborting Redis startup because of ACL errors: Error loading ACLs, opening file "
            "'/nonexistent-redust-dir/users.acl': No such file or directory") in out, out


def test_startup_users_and_aclfile_conflict():
    rc, out = run_server_expect_exit(config="user a on\naclfile /nonexistent-redust-dir/users.acl\n")
    assert rc == 1
    assert ("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path "
            "is invalid. This setup is very likely to lead to configuration errors and security holes, "
            "please define either an ACL file or declare users directly in your redis.conf, but not "
            "both.") in out, out


def test_startup_bad_user_directive():
    # an unknown rule word is a config-file error
    rc, out = run_server_expect_exit(config="user a on bogus\n")
    assert rc == 1
    assert "*** FATAL CONFIG FILE ERROR (Redis 7.0." in out
    assert "Reading the configuration file, at line 1\n>>> 'user a on bogus'\n" in out
    assert "Error in user declaration 'a': Syntax error" in out, out
    # an unknown command is found when the users are loaded, after the config file
    rc, out = run_server_expect_exit(config="user a on +nosuch\n")
    assert rc == 1
    assert "Error loading ACL rule '+nosuch' for the user named 'a': Unknown command or category name in ACL" in out
    rc, out = run_server_expect_exit(config="user\n")
    assert rc == 1
    assert ">>> 'user'\nBad directive or wrong number of arguments" in out, out


# ---------------------------------------------------------------------------
# 10. acl-pubsub-default
# ---------------------------------------------------------------------------


def test_acl_pubsub_default(c):
    assert c.call("CONFIG", "GET", "acl-pubsub-default") == [b"acl-pubsub-default", b"resetchannels"]
    assert c.call("CONFIG", "SET", "acl-pubsub-default", "allchannels") == "OK"
    assert setuser(c, "n1") == b"user n1 off &* -@all"
    assert c.call("ACL", "GETUSER", "n1")[8:10] == [b"channels", b"&*"]
    assert setuser(c, "n2", "reset") == b"user n2 off sanitize-payload &* -@all"
    assert setuser(c, "n3", "resetchannels") == b"user n3 off resetchannels -@all"
    assert c.call("CONFIG", "SET", "acl-pubsub-default", "resetchannels") == "OK"
    assert setuser(c, "n4") == b"user n4 off resetchannels -@all"
    # existing users keep their channels; reset now uses the new default
    assert line_of(c, "n1") == b"user n1 off &* -@all"
    assert setuser(c, "n1", "reset") == b"user n1 off sanitize-payload resetchannels -@all"
    assert c.err("CONFIG", "SET", "acl-pubsub-default", "foo") == (
        "ERR CONFIG SET failed (possibly related to argument 'acl-pubsub-default') - argument(s) must be "
        "one of the following: allchannels, resetchannels")


@pytest.mark.server(config="acl-pubsub-default allchannels\nuser a on nopass +@all\n")
def test_acl_pubsub_default_in_config(server, c):
    assert line_of(c, "a") == b"user a on nopass &* +@all"


# ---------------------------------------------------------------------------
# 11. Sentinel
# ---------------------------------------------------------------------------


def test_sentinel_acl_users():
    if SentinelServer is None:  # pragma: no cover
        pytest.skip("sentinel helpers unavailable")

    def config(port, d):
        return (
            "port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n"
            "user admin on >adminpw ~* &* +@all\n"
            "user default off\n"
            "sentinel sentinel-user admin\n"
            "sentinel sentinel-pass adminpw\n"
        ) % (port, d, os.path.join(d, "sentinel.log"))

    s = SentinelServer(config, binary=SERVER_BIN)
    try:
        s.start()
        c = Client(s.port)
        try:
            assert c.err("PING") == "NOAUTH Authentication required."
            assert c.err("AUTH", "admin", "bad") == WRONGPASS
            assert c.call("AUTH", "admin", "adminpw") == "OK"
            assert c.call("ACL", "WHOAMI") == b"admin"
            assert c.call("COMMAND", "COUNT") == 15
            check_command_info_acl(c)
            assert c.call("ACL", "CAT") == CATEGORIES
            assert c.call("ACL", "LIST") == [
                ("user admin on #%s ~* &* +@all" % sha("adminpw")).encode(),
                b"user default off sanitize-payload resetchannels -@all",
            ]
            assert c.call("SENTINEL", "CONFIG", "GET", "sentinel-user") == [b"sentinel-user", b"admin"]
            assert c.call("ACL", "SETUSER", "x", "on", "nopass", "+ping") == "OK"
            assert c.call("ACL", "DRYRUN", "x", "ping") == "OK"
            assert c.call("ACL", "DRYRUN", "x", "sentinel", "masters") == (
                b"This user has no permissions to run the 'sentinel|masters' command")
            x = Client(s.port)
            try:
                assert x.call("AUTH", "x", "whatever") == "OK"
                assert x.call("PING") == "PONG"
                assert x.err("SENTINEL", "MASTERS") == noperm_cmd("sentinel|masters")
            finally:
                x.close()
            got = [(e["reason"], e["object"], e["username"]) for e in log_entries(c)]
            assert got == [(b"command", b"sentinel|masters", b"x"), (b"auth", b"AUTH", b"admin")]
            # ACL users are part of the Sentinel config file
            assert c.call("SENTINEL", "FLUSHCONFIG") == "OK"
            users = [l for l in s.read_config().splitlines() if l.startswith("user ")]
            assert users == [l.decode() for l in c.call("ACL", "LIST")]
        finally:
            c.close()
    finally:
        s.cleanup()
