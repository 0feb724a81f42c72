#!/usr/bin/env python3
"""Generates the Redis 7.0 command tables: crates/engine/src/spec_data.rs (a
standalone server's) and crates/engine/src/spec_sentinel_data.rs (Sentinel
mode's own, shorter table).

How to regenerate (from the workspace root):

    python3 tools/gen_command_specs.py

That starts two throwaway `redis-server`s (7.0.x; override the binary with
`--redis-server PATH`), each on a private unix socket: a standalone one, and
one in Sentinel mode (`redis-server <conf> --sentinel`, with a config file in a
temporary directory holding `port 0` and a `unixsocket`, since a Sentinel needs
a writable config file). It asks each `COMMAND` and `COMMAND DOCS` over RESP3
and writes the tables (override the paths with `--out PATH` and
`--sentinel-out PATH`), then runs rustfmt on them. To use already running 7.0
instances instead, pass `--socket PATH` (standalone) and/or
`--sentinel-socket PATH` (Sentinel); the script checks each one's mode.

What is taken from the server: the interface facts only -- command and
subcommand names, arity, flags, first/last/step key positions, ACL
categories, tips, key specifications, groups, since-versions, doc flags,
deprecation versions and the argument structure. The prose is not copied:
summaries, history descriptions, key-spec notes and `replaced_by` texts are our
own wording, kept in the tables below, shared by both modes (the script fails
if either server knows a command or history entry those tables lack, and if a
text is used by neither). Complexity is kept only where Redis gives a bare
formula such as `O(1)`; otherwise it is left empty.

Module commands are skipped. The script only uses the Python standard library.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

# --------------------------------------------------------------------------
# Own-words texts.
# --------------------------------------------------------------------------

SUMMARIES = {
    "acl": "Container for the access control list (ACL) subcommands",
    "acl|cat": "Lists ACL categories, or the commands inside one category",
    "acl|deluser": "Removes ACL users and disconnects their clients",
    "acl|dryrun": "Checks whether a user could run a command, without running it",
    "acl|genpass": "Produces a random password suitable for an ACL user",
    "acl|getuser": "Describes the rules configured for one ACL user",
    "acl|help": "Prints usage notes for the ACL subcommands",
    "acl|list": "Dumps the rules of every ACL user in config-file form",
    "acl|load": "Reloads ACL users from the configured ACL file",
    "acl|log": "Shows or clears recent ACL denials",
    "acl|save": "Writes the current ACL users to the configured ACL file",
    "acl|setuser": "Creates an ACL user or changes its rules",
    "acl|users": "Lists the names of all ACL users",
    "acl|whoami": "Returns the user name this connection is authenticated as",
    "append": "Adds bytes to the end of a string value, creating the key if missing",
    "asking": "Lets the next command reach a slot that is being imported",
    "auth": "Authenticates the connection with a password, or a user name and password",
    "bgrewriteaof": "Starts rewriting the append-only file in the background",
    "bgsave": "Starts writing an RDB snapshot in the background",
    "bitcount": "Counts the bits set to 1 in a string, optionally within a range",
    "bitfield": "Reads, writes and increments integer fields packed in a string",
    "bitfield_ro": "Read-only form of BITFIELD that only allows GET operations",
    "bitop": "Combines strings bitwise (AND, OR, XOR, NOT) into a destination key",
    "bitpos": "Finds the position of the first bit with value 0 or 1",
    "blmove": "Moves an element between lists, waiting for one if the source is empty",
    "blmpop": "Pops elements from the first non-empty of several lists, or waits",
    "blpop": "Removes the head of the first non-empty list, waiting if all are empty",
    "brpop": "Removes the tail of the first non-empty list, waiting if all are empty",
    "brpoplpush": "Moves the tail of one list to the head of another, waiting if needed",
    "bzmpop": "Pops extreme-scored members from the first non-empty sorted set, or waits",
    "bzpopmax": "Pops the top-scored member of the first non-empty sorted set, or waits",
    "bzpopmin": "Pops the lowest-scored member of the first non-empty sorted set, or waits",
    "client": "Container for subcommands about client connections",
    "client|caching": "Turns tracking of the keys read by the next command on or off",
    "client|getname": "Returns the name assigned to this connection",
    "client|getredir": "Returns the id of the client that receives this connection's invalidations",
    "client|help": "Prints usage notes for the CLIENT subcommands",
    "client|id": "Returns the unique id of this connection",
    "client|info": "Describes this connection in CLIENT LIST format",
    "client|kill": "Closes client connections chosen by address, id, type, user and similar filters",
    "client|list": "Describes every client connection, one line each",
    "client|no-evict": "Exempts this connection from client eviction, or ends the exemption",
    "client|pause": "Suspends processing of client commands (all, or writes only) for a while",
    "client|reply": "Controls whether the server sends replies to this connection",
    "client|setname": "Assigns a name to this connection",
    "client|tracking": "Enables or disables server-assisted client-side caching for this connection",
    "client|trackinginfo": "Reports the client-side caching settings of this connection",
    "client|unblock": "Wakes a client that is blocked in a blocking command",
    "client|unpause": "Ends a pause started with CLIENT PAUSE",
    "cluster": "Container for Redis Cluster subcommands",
    "cluster|addslots": "Assigns hash slots to the receiving node",
    "cluster|addslotsrange": "Assigns ranges of hash slots to the receiving node",
    "cluster|bumpepoch": "Advances the config epoch of the node",
    "cluster|count-failure-reports": "Counts the failure reports that exist for a node",
    "cluster|countkeysinslot": "Counts the keys stored in one hash slot",
    "cluster|delslots": "Removes hash slots from the receiving node",
    "cluster|delslotsrange": "Removes ranges of hash slots from the receiving node",
    "cluster|failover": "Makes a replica take over from its master",
    "cluster|flushslots": "Removes every slot assignment from the receiving node",
    "cluster|forget": "Drops a node from the node table of the receiving node",
    "cluster|getkeysinslot": "Lists key names stored in one hash slot",
    "cluster|help": "Prints usage notes for the CLUSTER subcommands",
    "cluster|info": "Reports cluster state and statistics",
    "cluster|keyslot": "Computes the hash slot of a key name",
    "cluster|links": "Lists the cluster bus connections of the node",
    "cluster|meet": "Connects the node to another one so they form one cluster",
    "cluster|myid": "Returns the id of the receiving node",
    "cluster|nodes": "Describes the cluster as the receiving node sees it",
    "cluster|replicas": "Lists the replicas of a master node",
    "cluster|replicate": "Makes the node a replica of the given master",
    "cluster|reset": "Resets the cluster state of the node (soft or hard)",
    "cluster|saveconfig": "Writes the cluster configuration of the node to disk",
    "cluster|set-config-epoch": "Sets the config epoch of a fresh node",
    "cluster|setslot": "Changes the state of a hash slot on the receiving node",
    "cluster|shards": "Describes the shards of the cluster and their nodes",
    "cluster|slaves": "Lists the replicas of a master node (old name of CLUSTER REPLICAS)",
    "cluster|slots": "Maps hash slot ranges to nodes (superseded by CLUSTER SHARDS)",
    "command": "Describes every command the server knows",
    "command|count": "Returns how many commands the server has",
    "command|docs": "Returns documentation-oriented metadata about commands",
    "command|getkeys": "Extracts the key names from a complete command line",
    "command|getkeysandflags": "Extracts the key names and their access flags from a command line",
    "command|help": "Prints usage notes for the COMMAND subcommands",
    "command|info": "Describes the named commands, or all of them",
    "command|list": "Lists command names, optionally filtered",
    "config": "Container for server configuration subcommands",
    "config|get": "Reads the configuration parameters matching the given patterns",
    "config|help": "Prints usage notes for the CONFIG subcommands",
    "config|resetstat": "Zeroes the statistics that INFO reports",
    "config|rewrite": "Writes the running configuration back to the config file",
    "config|set": "Changes configuration parameters at run time",
    "copy": "Duplicates the value of a key under another name",
    "dbsize": "Returns how many keys the selected database holds",
    "debug": "Runs internal debugging and testing operations",
    "decr": "Subtracts one from the integer stored at a key",
    "decrby": "Subtracts an amount from the integer stored at a key",
    "del": "Removes keys",
    "discard": "Drops the commands queued since MULTI",
    "dump": "Serializes the value of a key into the RESTORE payload format",
    "echo": "Replies with its argument",
    "eval": "Runs a Lua script on the server",
    "eval_ro": "Runs a read-only Lua script",
    "evalsha": "Runs a cached Lua script identified by its SHA1 digest",
    "evalsha_ro": "Runs a cached read-only Lua script identified by its SHA1 digest",
    "exec": "Runs the commands queued since MULTI as one transaction",
    "exists": "Counts how many of the given keys exist",
    "expire": "Sets the time to live of a key in seconds",
    "expireat": "Sets the Unix time, in seconds, at which a key expires",
    "expiretime": "Returns the Unix time, in seconds, at which a key expires",
    "failover": "Hands the master role over to one of the replicas",
    "fcall": "Calls a function from a loaded library",
    "fcall_ro": "Calls a read-only function from a loaded library",
    "flushall": "Deletes the keys of every database",
    "flushdb": "Deletes the keys of the selected database",
    "function": "Container for function library subcommands",
    "function|delete": "Unloads a function library",
    "function|dump": "Serializes all loaded function libraries",
    "function|flush": "Unloads every function library",
    "function|help": "Prints usage notes for the FUNCTION subcommands",
    "function|kill": "Stops the function that is running now",
    "function|list": "Describes the loaded libraries and their functions",
    "function|load": "Loads a function library from source code",
    "function|restore": "Loads function libraries from a FUNCTION DUMP payload",
    "function|stats": "Reports on the running function and the available engines",
    "geoadd": "Stores members with longitude/latitude positions in a geospatial index",
    "geodist": "Computes the distance between two members of a geospatial index",
    "geohash": "Returns geohash strings for members of a geospatial index",
    "geopos": "Returns the longitude/latitude of members of a geospatial index",
    "georadius": "Finds members within a radius of a point, optionally storing them",
    "georadius_ro": "Finds members within a radius of a point (read-only form)",
    "georadiusbymember": "Finds members within a radius of another member, optionally storing them",
    "georadiusbymember_ro": "Finds members within a radius of another member (read-only form)",
    "geosearch": "Finds members inside a circle or box of a geospatial index",
    "geosearchstore": "Finds members inside a circle or box and stores them in a key",
    "get": "Returns the string stored at a key",
    "getbit": "Returns the bit at an offset of a string",
    "getdel": "Returns a string value and removes its key",
    "getex": "Returns a string value and optionally changes its expiration",
    "getrange": "Returns part of a string value",
    "getset": "Replaces a string value and returns the previous one",
    "hdel": "Removes fields from a hash",
    "hello": "Negotiates the protocol version; may also authenticate and name the connection",
    "hexists": "Tells whether a hash has a field",
    "hget": "Returns the value of one hash field",
    "hgetall": "Returns every field and value of a hash",
    "hincrby": "Adds an integer to a numeric hash field",
    "hincrbyfloat": "Adds a floating-point number to a numeric hash field",
    "hkeys": "Returns the field names of a hash",
    "hlen": "Returns the number of fields in a hash",
    "hmget": "Returns the values of several hash fields",
    "hmset": "Sets several hash fields (older form of HSET)",
    "hrandfield": "Picks random fields of a hash",
    "hscan": "Iterates over the fields and values of a hash incrementally",
    "hset": "Sets one or more hash fields",
    "hsetnx": "Sets a hash field only when it does not exist yet",
    "hstrlen": "Returns the byte length of the value of a hash field",
    "hvals": "Returns the values of a hash",
    "incr": "Adds one to the integer stored at a key",
    "incrby": "Adds an amount to the integer stored at a key",
    "incrbyfloat": "Adds a floating-point amount to the number stored at a key",
    "info": "Reports server information and statistics by section",
    "keys": "Lists the key names that match a glob pattern",
    "lastsave": "Returns the Unix time of the last successful snapshot",
    "latency": "Container for latency monitoring subcommands",
    "latency|doctor": "Explains the collected latency data in plain text",
    "latency|graph": "Draws an ASCII graph of one latency event",
    "latency|help": "Prints usage notes for the LATENCY subcommands",
    "latency|histogram": "Reports per-command latency histograms",
    "latency|history": "Returns the samples recorded for one latency event",
    "latency|latest": "Returns the latest sample of every latency event",
    "latency|reset": "Clears recorded latency samples",
    "lcs": "Computes the longest common subsequence of two strings",
    "lindex": "Returns the list element at an index",
    "linsert": "Inserts an element before or after another one in a list",
    "llen": "Returns the length of a list",
    "lmove": "Pops an element from one end of a list and pushes it onto another list",
    "lmpop": "Pops elements from the first non-empty of several lists",
    "lolwut": "Prints generative art and the server version",
    "lpop": "Removes and returns elements from the head of a list",
    "lpos": "Finds the indexes of matching elements in a list",
    "lpush": "Adds elements to the head of a list",
    "lpushx": "Adds elements to the head of a list only if the list exists",
    "lrange": "Returns a range of list elements",
    "lrem": "Removes elements equal to a value from a list",
    "lset": "Overwrites the list element at an index",
    "ltrim": "Keeps only a range of list elements",
    "memory": "Container for memory introspection subcommands",
    "memory|doctor": "Explains memory usage problems in plain text",
    "memory|help": "Prints usage notes for the MEMORY subcommands",
    "memory|malloc-stats": "Returns the internal statistics of the allocator",
    "memory|purge": "Asks the allocator to give unused memory back",
    "memory|stats": "Reports a breakdown of the memory usage of the server",
    "memory|usage": "Estimates how many bytes a key and its value take",
    "mget": "Returns the string values of several keys",
    "migrate": "Moves keys to another Redis instance atomically",
    "module": "Container for module management subcommands",
    "module|help": "Prints usage notes for the MODULE subcommands",
    "module|list": "Lists the loaded modules",
    "module|load": "Loads a module from a shared library file",
    "module|loadex": "Loads a module with extra configuration and arguments",
    "module|unload": "Unloads a module",
    "monitor": "Streams every command the server processes to this connection",
    "move": "Moves a key to another database",
    "mset": "Sets several string keys at once",
    "msetnx": "Sets several string keys at once, only if none of them exists",
    "multi": "Opens a transaction block",
    "object": "Container for subcommands that inspect stored values",
    "object|encoding": "Returns the internal representation used for the value of a key",
    "object|freq": "Returns the LFU access-frequency counter of a key",
    "object|help": "Prints usage notes for the OBJECT subcommands",
    "object|idletime": "Returns the seconds since a key was last touched",
    "object|refcount": "Returns the reference count of the value of a key",
    "persist": "Removes the expiration of a key",
    "pexpire": "Sets the time to live of a key in milliseconds",
    "pexpireat": "Sets the Unix time, in milliseconds, at which a key expires",
    "pexpiretime": "Returns the Unix time, in milliseconds, at which a key expires",
    "pfadd": "Adds elements to a HyperLogLog",
    "pfcount": "Estimates the distinct elements seen by one or more HyperLogLogs",
    "pfdebug": "Internal helper for inspecting HyperLogLog values",
    "pfmerge": "Merges HyperLogLogs into a destination key",
    "pfselftest": "Internal self-test of the HyperLogLog implementation",
    "ping": "Checks that the server is alive",
    "psetex": "Sets a string value with a time to live in milliseconds",
    "psubscribe": "Subscribes the connection to the channels matching patterns",
    "psync": "Internal replication handshake used by replicas",
    "pttl": "Returns the remaining time to live of a key in milliseconds",
    "publish": "Sends a message to a channel",
    "pubsub": "Container for Pub/Sub introspection subcommands",
    "pubsub|channels": "Lists the channels that have subscribers",
    "pubsub|help": "Prints usage notes for the PUBSUB subcommands",
    "pubsub|numpat": "Counts the pattern subscriptions",
    "pubsub|numsub": "Counts the subscribers of the given channels",
    "pubsub|shardchannels": "Lists the shard channels that have subscribers",
    "pubsub|shardnumsub": "Counts the subscribers of the given shard channels",
    "punsubscribe": "Drops pattern subscriptions of the connection",
    "quit": "Closes the connection",
    "randomkey": "Returns a random key name",
    "readonly": "Allows reads from a cluster replica on this connection",
    "readwrite": "Ends READONLY mode on this connection",
    "rename": "Gives a key a new name",
    "renamenx": "Renames a key only if the new name is unused",
    "replconf": "Internal replication configuration exchange",
    "replicaof": "Turns the server into a replica of another one, or back into a master",
    "reset": "Restores the connection to its initial state",
    "restore": "Creates a key from a DUMP payload",
    "restore-asking": "Internal RESTORE used while migrating cluster slots",
    "role": "Reports the replication role of the server",
    "rpop": "Removes and returns elements from the tail of a list",
    "rpoplpush": "Moves the tail of one list to the head of another",
    "rpush": "Adds elements to the tail of a list",
    "rpushx": "Adds elements to the tail of a list only if the list exists",
    "sadd": "Adds members to a set",
    "save": "Writes an RDB snapshot synchronously",
    "scan": "Iterates over the key space incrementally",
    "scard": "Returns the number of members of a set",
    "script": "Container for Lua script cache subcommands",
    "script|debug": "Selects the debugging mode for the following EVAL calls",
    "script|exists": "Tells which SHA1 digests are in the script cache",
    "script|flush": "Empties the script cache",
    "script|help": "Prints usage notes for the SCRIPT subcommands",
    "script|kill": "Stops the Lua script that is running now",
    "script|load": "Adds a Lua script to the cache without running it",
    "sdiff": "Returns the members of the first set that are absent from the others",
    "sdiffstore": "Stores the difference of sets in a key",
    "select": "Switches the connection to another database",
    # Sentinel mode only.
    "sentinel": "Container for the subcommands of a Sentinel",
    "sentinel|ckquorum": "Checks that enough Sentinels are reachable to agree on a failover",
    "sentinel|config": "Reads or changes the global settings of the Sentinel",
    "sentinel|debug": "Shows or changes the internal timing parameters of the Sentinel",
    "sentinel|failover": "Starts a failover of a master without asking the other Sentinels",
    "sentinel|flushconfig": "Writes the Sentinel state back to its config file",
    "sentinel|get-master-addr-by-name": "Returns the address and port of the current master of a name",
    "sentinel|help": "Prints usage notes for the SENTINEL subcommands",
    "sentinel|info-cache": "Returns the last INFO replies collected from masters and replicas",
    "sentinel|is-master-down-by-addr": "Asks whether a master looks down here, and may request a vote",
    "sentinel|master": "Describes the state of one monitored master",
    "sentinel|masters": "Describes every monitored master",
    "sentinel|monitor": "Starts watching a master under a new name",
    "sentinel|myid": "Returns the id of this Sentinel",
    "sentinel|pending-scripts": "Lists the notification and reconfiguration scripts queued or running",
    "sentinel|remove": "Stops watching a master and forgets its state",
    "sentinel|replicas": "Describes the replicas of a monitored master",
    "sentinel|reset": "Clears the state of the masters whose names match a pattern",
    "sentinel|sentinels": "Describes the other Sentinels that watch a master",
    "sentinel|set": "Changes the settings of a monitored master",
    "sentinel|simulate-failure": "Makes the Sentinel crash at chosen failover steps, for testing",
    "sentinel|slaves": "Describes the replicas of a monitored master (old name of SENTINEL REPLICAS)",
    "set": "Stores a string value, with optional expiration and conditions",
    "setbit": "Sets or clears the bit at an offset of a string",
    "setex": "Sets a string value with a time to live in seconds",
    "setnx": "Sets a string value only if the key is missing",
    "setrange": "Overwrites part of a string value at an offset",
    "shutdown": "Stops the server, optionally saving first",
    "sinter": "Returns the members common to all the given sets",
    "sintercard": "Counts the members common to all the given sets",
    "sinterstore": "Stores the intersection of sets in a key",
    "sismember": "Tells whether a value is a member of a set",
    "slaveof": "Turns the server into a replica of another one (old name of REPLICAOF)",
    "slowlog": "Container for slow log subcommands",
    "slowlog|get": "Returns entries of the slow log",
    "slowlog|help": "Prints usage notes for the SLOWLOG subcommands",
    "slowlog|len": "Returns the number of entries in the slow log",
    "slowlog|reset": "Empties the slow log",
    "smembers": "Returns every member of a set",
    "smismember": "Tells for each value whether it is a member of a set",
    "smove": "Moves a member from one set to another",
    "sort": "Sorts a list, set or sorted set, optionally storing the result",
    "sort_ro": "Sorts a list, set or sorted set (read-only form)",
    "spop": "Removes and returns random members of a set",
    "spublish": "Sends a message to a shard channel",
    "srandmember": "Returns random members of a set without removing them",
    "srem": "Removes members from a set",
    "sscan": "Iterates over the members of a set incrementally",
    "ssubscribe": "Subscribes the connection to shard channels",
    "strlen": "Returns the byte length of a string value",
    "subscribe": "Subscribes the connection to channels",
    "substr": "Returns part of a string value (old name of GETRANGE)",
    "sunion": "Returns the members of all the given sets combined",
    "sunionstore": "Stores the union of sets in a key",
    "sunsubscribe": "Drops shard channel subscriptions of the connection",
    "swapdb": "Exchanges the contents of two databases",
    "sync": "Internal full synchronization used by old replicas",
    "time": "Returns the server clock as seconds and microseconds",
    "touch": "Updates the last-access time of keys and counts the existing ones",
    "ttl": "Returns the remaining time to live of a key in seconds",
    "type": "Returns the data type stored at a key",
    "unlink": "Removes keys, reclaiming their memory in the background",
    "unsubscribe": "Drops channel subscriptions of the connection",
    "unwatch": "Forgets every key watched by the connection",
    "wait": "Blocks until earlier writes reach some replicas or a timeout passes",
    "watch": "Marks keys whose modification aborts the next transaction",
    "xack": "Acknowledges stream entries for a consumer group",
    "xadd": "Appends an entry to a stream, creating the stream if needed",
    "xautoclaim": "Transfers idle pending entries to another consumer, scanning from an id",
    "xclaim": "Transfers ownership of pending entries to another consumer",
    "xdel": "Removes entries from a stream",
    "xgroup": "Container for consumer group subcommands",
    "xgroup|create": "Creates a consumer group on a stream",
    "xgroup|createconsumer": "Adds a consumer to a consumer group",
    "xgroup|delconsumer": "Removes a consumer from a consumer group",
    "xgroup|destroy": "Deletes a consumer group",
    "xgroup|help": "Prints usage notes for the XGROUP subcommands",
    "xgroup|setid": "Moves the last-delivered id of a consumer group",
    "xinfo": "Container for stream introspection subcommands",
    "xinfo|consumers": "Describes the consumers of a consumer group",
    "xinfo|groups": "Describes the consumer groups of a stream",
    "xinfo|help": "Prints usage notes for the XINFO subcommands",
    "xinfo|stream": "Describes a stream",
    "xlen": "Returns the number of entries in a stream",
    "xpending": "Inspects the pending entries of a consumer group",
    "xrange": "Returns the stream entries between two ids",
    "xread": "Reads stream entries newer than the given ids, optionally waiting",
    "xreadgroup": "Reads stream entries for a member of a consumer group, optionally waiting",
    "xrevrange": "Returns the stream entries between two ids, newest first",
    "xsetid": "Overrides the last id and related counters of a stream (internal)",
    "xtrim": "Drops old entries from a stream",
    "zadd": "Adds members with scores to a sorted set, or updates their scores",
    "zcard": "Returns the number of members of a sorted set",
    "zcount": "Counts the sorted set members whose score falls in a range",
    "zdiff": "Returns the members of the first sorted set that are absent from the others",
    "zdiffstore": "Stores the difference of sorted sets in a key",
    "zincrby": "Adds to the score of a sorted set member",
    "zinter": "Returns the intersection of sorted sets",
    "zintercard": "Counts the members common to all the given sorted sets",
    "zinterstore": "Stores the intersection of sorted sets in a key",
    "zlexcount": "Counts the sorted set members in a lexicographical range",
    "zmpop": "Pops lowest- or highest-scored members from the first non-empty sorted set",
    "zmscore": "Returns the scores of several sorted set members",
    "zpopmax": "Removes and returns the highest-scored members of a sorted set",
    "zpopmin": "Removes and returns the lowest-scored members of a sorted set",
    "zrandmember": "Picks random members of a sorted set",
    "zrange": "Returns a range of sorted set members by rank, score or lexicographical order",
    "zrangebylex": "Returns the sorted set members in a lexicographical range",
    "zrangebyscore": "Returns the sorted set members in a score range",
    "zrangestore": "Stores a range of sorted set members in a key",
    "zrank": "Returns the rank of a member in a sorted set, lowest score first",
    "zrem": "Removes members from a sorted set",
    "zremrangebylex": "Removes the sorted set members in a lexicographical range",
    "zremrangebyrank": "Removes the sorted set members in a range of ranks",
    "zremrangebyscore": "Removes the sorted set members in a score range",
    "zrevrange": "Returns a range of sorted set members by rank, highest score first",
    "zrevrangebylex": "Returns the sorted set members in a lexicographical range, in reverse order",
    "zrevrangebyscore": "Returns the sorted set members in a score range, highest score first",
    "zrevrank": "Returns the rank of a member in a sorted set, highest score first",
    "zscan": "Iterates over the members and scores of a sorted set incrementally",
    "zscore": "Returns the score of a sorted set member",
    "zunion": "Returns the union of sorted sets",
    "zunionstore": "Stores the union of sorted sets in a key",
}

# Own wording for each history entry, in the server's order (the versions come
# from the server).
_TIMEOUT_DOUBLE = "The timeout is parsed as a double rather than an integer."
_EXPIRE_OPTS = "Gained the NX, XX, GT and LT options."
_UPPER_UNITS = "Unit names may be given in upper case."
_RESTORE = [
    "Gained the REPLACE modifier.",
    "Gained the ABSTTL modifier.",
    "Gained the IDLETIME and FREQ options.",
]
_FLUSH = ["Gained the ASYNC mode.", "Gained the SYNC mode."]
HISTORY = {
    "acl|getuser": [
        "Reports Pub/Sub channel patterns.",
        "Reports selectors; key and channel patterns shown as rules, not lists.",
    ],
    "acl|setuser": [
        "Supports Pub/Sub channel patterns.",
        "Supports selectors and per-key permissions.",
    ],
    "auth": ["Accepts a user name as well as a password (ACL)."],
    "bgsave": ["Gained the SCHEDULE option."],
    "bitcount": ["Gained the BYTE|BIT unit option."],
    "bitpos": ["Gained the BYTE|BIT unit option."],
    "blpop": [_TIMEOUT_DOUBLE],
    "brpop": [_TIMEOUT_DOUBLE],
    "brpoplpush": [_TIMEOUT_DOUBLE],
    "bzpopmax": [_TIMEOUT_DOUBLE],
    "bzpopmin": [_TIMEOUT_DOUBLE],
    "client|kill": [
        "Introduced the filter syntax.",
        "Gained the ID filter.",
        "TYPE accepts master.",
        "TYPE replica replaces slave, which is still accepted.",
        "Gained the LADDR filter.",
    ],
    "client|list": [
        "Lines include the client id.",
        "Gained the TYPE filter.",
        "Lines include the user.",
        "Lines include argv-mem, tot-mem, laddr and redir; gained the ID filter.",
        "Lines include resp, multi-mem, rbs and rbp.",
        "Lines include ssub.",
    ],
    "client|pause": ["Gained the mode argument and its WRITE mode."],
    "cluster|meet": ["Gained the optional cluster bus port."],
    "cluster|slots": [
        "Entries include node ids.",
        "Entries include more networking metadata.",
    ],
    "command|info": ["With no argument, describes every command."],
    "config|get": ["Accepts several patterns in one call."],
    "config|set": ["Accepts several parameter/value pairs in one call."],
    "exists": ["Takes several keys."],
    "expire": [_EXPIRE_OPTS],
    "expireat": [_EXPIRE_OPTS],
    "flushall": _FLUSH,
    "flushdb": _FLUSH,
    "geoadd": ["Gained the CH, NX and XX options."],
    "georadius": ["COUNT accepts the ANY modifier.", _UPPER_UNITS],
    "georadius_ro": ["COUNT accepts the ANY modifier."],
    "georadiusbymember": [_UPPER_UNITS],
    "geosearch": [_UPPER_UNITS],
    "geosearchstore": [_UPPER_UNITS],
    "hdel": ["Takes several fields."],
    "hello": ["Protocol version made optional; alone, reports the connection context."],
    "hset": ["Takes several field/value pairs."],
    "info": ["Takes several section names."],
    "lpop": ["Gained the optional count."],
    "lpush": ["Takes several elements."],
    "lpushx": ["Takes several elements."],
    "migrate": [
        "Gained the COPY and REPLACE options.",
        "Gained the KEYS option.",
        "Gained the AUTH option.",
        "Gained the AUTH2 option.",
    ],
    "pexpire": [_EXPIRE_OPTS],
    "pexpireat": [_EXPIRE_OPTS],
    "pttl": ["Replies -2 when the key is missing."],
    "renamenx": ["Renaming a key to its own name is no longer an error."],
    "restore": _RESTORE,
    "restore-asking": _RESTORE,
    "rpop": ["Gained the optional count."],
    "rpush": ["Takes several elements."],
    "rpushx": ["Takes several elements."],
    "sadd": ["Takes several members."],
    "scan": ["Gained the TYPE filter."],
    "script|flush": ["Gained the ASYNC and SYNC modes."],
    "set": [
        "Gained the EX, PX, NX and XX options.",
        "Gained the KEEPTTL option.",
        "Gained the GET, EXAT and PXAT options.",
        "NX and GET may be combined.",
    ],
    "shutdown": ["Gained the NOW, FORCE and ABORT modifiers."],
    "slowlog|get": ["Entries include the client address and name."],
    "spop": ["Gained the optional count."],
    "srandmember": ["Gained the optional count."],
    "srem": ["Takes several members."],
    "ttl": ["Replies -2 when the key is missing."],
    "xadd": [
        "Gained NOMKSTREAM, the MINID strategy and LIMIT.",
        "Accepts ids of the form <ms>-*.",
    ],
    "xautoclaim": ["Reply gains a third element: deleted entry ids dropped from the PEL."],
    "xgroup|create": ["Gained the ENTRIESREAD argument."],
    "xgroup|setid": ["Gained the optional ENTRIESREAD argument."],
    "xinfo|groups": ["Reports entries-read and lag."],
    "xinfo|stream": [
        "Gained the FULL modifier.",
        "Reports entries-added, max-deleted-entry-id, entries-read, lag and more.",
    ],
    "xpending": ["Gained the IDLE filter and exclusive range bounds."],
    "xrange": ["Range bounds may be exclusive."],
    "xrevrange": ["Range bounds may be exclusive."],
    "xsetid": ["Gained the ENTRIESADDED and MAXDELETEDID arguments."],
    "xtrim": ["Gained the MINID strategy and the LIMIT option."],
    "zadd": [
        "Takes several score/member pairs.",
        "Gained the XX, NX, CH and INCR options.",
        "Gained the GT and LT options.",
    ],
    "zrange": ["Gained the REV, BYSCORE, BYLEX and LIMIT options."],
    "zrangebyscore": ["Gained the WITHSCORES option."],
    "zrem": ["Takes several members."],
    "zrevrangebyscore": ["Score bounds may be exclusive."],
}

# Own wording for key-spec notes, by (command, key spec index).
_SCRIPT_RW = "Key use is unknown in advance, so the widest flags, RW and UPDATE, apply"
_SCRIPT_RO = "Key use is unknown in advance; the call is read-only, so RO and ACCESS"
_SORT_BY = "BY/GET patterns: key names derive from sorted values; positions unknown"
NOTES = {
    ("eval", 0): _SCRIPT_RW,
    ("fcall", 0): _SCRIPT_RW,
    ("eval_ro", 0): _SCRIPT_RO,
    ("fcall_ro", 0): _SCRIPT_RO,
    ("getex", 0): "RW and UPDATE since the expiration of the key may change",
    ("sort", 1): _SORT_BY,
    ("sort", 2): "STORE destination: the keyword may sit anywhere, position unknown",
    ("sort_ro", 1): _SORT_BY,
    ("set", 0): "RW and ACCESS apply only when the GET option is given",
    ("bitfield", 0): "Its operations may both read and modify the key",
    ("pfcount", 0): "RW since counting may rewrite the encoding of the key and replicate it",
    ("xadd", 0): "UPDATE rather than INSERT since trimming may remove entries",
}

# Own wording for `replaced_by`.
REPLACED_BY = {
    "brpoplpush": "`BLMOVE` with `RIGHT` then `LEFT`",
    "cluster|slaves": "`CLUSTER REPLICAS`",
    "cluster|slots": "`CLUSTER SHARDS`",
    "georadius": "`GEOSEARCH` or `GEOSEARCHSTORE` using `BYRADIUS`",
    "georadius_ro": "`GEOSEARCH` using `BYRADIUS`",
    "georadiusbymember": "`GEOSEARCH` or `GEOSEARCHSTORE` using `BYRADIUS` and `FROMMEMBER`",
    "georadiusbymember_ro": "`GEOSEARCH` using `BYRADIUS` and `FROMMEMBER`",
    "getset": "`SET` using `GET`",
    "hmset": "`HSET` given several field/value pairs",
    "rpoplpush": "`LMOVE` with `RIGHT` then `LEFT`",
    "sentinel|slaves": "`SENTINEL REPLICAS`",
    "slaveof": "`REPLICAOF`",
    "substr": "`GETRANGE`",
    "zrangebylex": "`ZRANGE` using `BYLEX`",
    "zrangebyscore": "`ZRANGE` using `BYSCORE`",
    "zrevrange": "`ZRANGE` using `REV`",
    "zrevrangebylex": "`ZRANGE` using `REV` and `BYLEX`",
    "zrevrangebyscore": "`ZRANGE` using `REV` and `BYSCORE`",
}

# Complexities kept verbatim: bare big-O formulas only.
BARE_COMPLEXITY = re.compile(r"O\((1|N|log\(N\))\)")

# --------------------------------------------------------------------------
# A minimal RESP3 client that keeps reply types apart.
# --------------------------------------------------------------------------


class Simple(str):
    pass


class Set(list):
    pass


class Map(list):
    """A RESP3 map as a list of (key, value) pairs, in wire order."""


class RespError(Exception):
    pass


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.f = self.sock.makefile("rwb")

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.f.write(b"".join(parts))
        self.f.flush()
        return self.read()

    def read(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise RespError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return Simple(rest.decode())
        if t == b"-":
            raise RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode()
        if t in (b"*", b"~"):
            items = [self.read() for _ in range(int(rest))]
            return Set(items) if t == b"~" else items
        if t == b"%":
            return Map([(self.read(), self.read()) for _ in range(int(rest))])
        if t == b"_":
            return None
        raise RespError("unexpected reply type %r" % line)


def start_server(binary, sentinel=False):
    tmp = tempfile.mkdtemp(prefix="specgen.")
    sock = os.path.join(tmp, "redis.sock")
    log = os.path.join(tmp, "log")
    if sentinel:
        # A Sentinel refuses to start without a config file it can rewrite;
        # `port 0` turns TCP off, the unix socket is enough.
        conf = os.path.join(tmp, "sentinel.conf")
        with open(conf, "w") as f:
            f.write("port 0\nunixsocket %s\ndir %s\nlogfile %s\n" % (sock, tmp, log))
        argv = [binary, conf, "--sentinel"]
    else:
        argv = [binary, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", tmp, "--logfile", log]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(sock):
            return proc, tmp, sock
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit("redis-server%s did not start" % (" --sentinel" if sentinel else ""))


def fetch(binary, sock, mode):
    """`(version, COMMAND reply, COMMAND DOCS reply as a dict)` from a server
    in `mode` ("standalone" or "sentinel"), started here unless `sock` is given."""
    proc = tmp = None
    if not sock:
        proc, tmp, sock = start_server(binary, sentinel=mode == "sentinel")
    try:
        cl = Client(sock)
        hello = dict(cl.call("HELLO", "3"))
        version = hello["version"]
        if not version.startswith("7.0."):
            fail("need a Redis 7.0 server, got " + version)
        if hello.get("mode") != mode:
            fail("need a %s server, got mode %r" % (mode, hello.get("mode")))
        infos = cl.call("COMMAND")
        docs = dict(cl.call("COMMAND", "DOCS"))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)
    return version, infos, docs


# --------------------------------------------------------------------------
# Collecting and checking.
# --------------------------------------------------------------------------


def fail(msg):
    sys.exit("gen_command_specs: " + msg)


def check_len(what, text, limit):
    # Longer literals would push rustfmt past 100 columns, and it would give
    # up formatting the item.
    if len(text) > limit:
        fail("%s is longer than %d characters" % (what, limit))


def expect_keys(what, pairs, allowed_order):
    keys = [k for k, _ in pairs]
    order = [k for k in allowed_order if k in keys]
    if keys != order:
        fail("%s: unexpected field order %r" % (what, keys))
    return dict(pairs)


def parse_key_spec(cmd, idx, m):
    d = expect_keys(cmd + " key spec", m, ["notes", "flags", "begin_search", "find_keys"])
    if not isinstance(d["flags"], Set) or not all(isinstance(x, Simple) for x in d["flags"]):
        fail(cmd + ": key spec flags are not a set of simple strings")
    bs = expect_keys(cmd + " begin_search", d["begin_search"], ["type", "spec"])
    bspec = expect_keys(cmd + " begin_search spec", bs["spec"], ["index", "keyword", "startfrom"])
    if bs["type"] == "index":
        begin = ("index", bspec["index"])
    elif bs["type"] == "keyword":
        begin = ("keyword", bspec["keyword"], bspec["startfrom"])
    elif bs["type"] == "unknown" and not bspec:
        begin = ("unknown",)
    else:
        fail(cmd + ": unknown begin_search " + repr(bs))
    fk = expect_keys(cmd + " find_keys", d["find_keys"], ["type", "spec"])
    if fk["type"] == "range":
        fspec = expect_keys(cmd + " range", fk["spec"], ["lastkey", "keystep", "limit"])
        find = ("range", fspec["lastkey"], fspec["keystep"], fspec["limit"])
    elif fk["type"] == "keynum":
        fspec = expect_keys(cmd + " keynum", fk["spec"], ["keynumidx", "firstkey", "keystep"])
        find = ("keynum", fspec["keynumidx"], fspec["firstkey"], fspec["keystep"])
    elif fk["type"] == "unknown" and not fk["spec"]:
        find = ("unknown",)
    else:
        fail(cmd + ": unknown find_keys " + repr(fk))
    notes = None
    if "notes" in d:
        notes = NOTES.get((cmd, idx))
        if notes is None:
            fail("no own-words note for key spec %d of %s" % (idx, cmd))
        check_len("notes of " + cmd, notes, 72)
    return {"notes": notes, "flags": list(d["flags"]), "begin": begin, "find": find}


ARG_FIELDS = ["name", "type", "key_spec_index", "token", "summary", "since",
              "deprecated_since", "flags", "arguments"]
ARG_TYPES = {
    "key": "Key", "string": "String", "integer": "Integer", "double": "Double",
    "pattern": "Pattern", "unix-time": "UnixTime", "pure-token": "PureToken",
    "oneof": "OneOf", "block": "Block",
}


def parse_args(cmd, args):
    out = []
    for a in args:
        d = expect_keys(cmd + " argument", a, ARG_FIELDS)
        if "summary" in d:
            fail(cmd + ": argument summaries are not handled")
        if d["type"] not in ARG_TYPES:
            fail(cmd + ": argument type " + d["type"])
        if "flags" in d and not isinstance(d["flags"], Set):
            fail(cmd + ": argument flags are not a set")
        if ("arguments" in d) != (d["type"] in ("oneof", "block")):
            fail(cmd + ": nested arguments mismatch")
        out.append({
            "name": d["name"], "type": d["type"],
            "key_spec_index": d.get("key_spec_index", -1),
            "token": d.get("token"), "since": d.get("since"),
            "deprecated_since": d.get("deprecated_since"),
            "flags": list(d.get("flags", [])),
            "arguments": parse_args(cmd, d.get("arguments", [])),
        })
    return out


DOC_FIELDS = ["summary", "since", "group", "complexity", "module", "doc_flags",
              "deprecated_since", "replaced_by", "history", "arguments", "subcommands"]


def build(info, docs, used):
    """Merges one COMMAND INFO entry with its COMMAND DOCS map."""
    if len(info) != 10:
        fail("COMMAND INFO entry of unexpected length")
    name = info[0]
    d = expect_keys(name + " docs", docs, DOC_FIELDS)
    for i in (2, 6, 7, 8):
        if not isinstance(info[i], Set):
            fail("%s: COMMAND INFO element %d is not a set" % (name, i))
    if not all(isinstance(x, Simple) for x in list(info[2]) + list(info[6])):
        fail(name + ": flags/categories are not simple strings")
    if any(isinstance(x, Simple) for x in info[7]):
        fail(name + ": tips are expected as bulk strings")
    if info[9] and isinstance(info[9], Set):
        fail(name + ": non-empty subcommands are expected as an array")
    summary = SUMMARIES.get(name)
    if not summary:
        fail("no own-words summary for " + name)
    check_len("summary of " + name, summary, 80)
    used["summary"].add(name)
    history = []
    if "history" in d:
        texts = HISTORY.get(name)
        if texts is None or len(texts) != len(d["history"]):
            fail("own-words history for %s must have %d entries" % (name, len(d["history"])))
        for (version, _), text in zip(d["history"], texts):
            history.append((version, text))
            check_len("history of " + name, text, 72)
        used["history"].add(name)
    replaced_by = None
    if "replaced_by" in d:
        replaced_by = REPLACED_BY.get(name)
        if replaced_by is None:
            fail("no own-words replaced_by for " + name)
        check_len("replaced_by of " + name, replaced_by, 72)
        used["replaced_by"].add(name)
    complexity = d.get("complexity", "")
    if not BARE_COMPLEXITY.fullmatch(complexity):
        complexity = ""
    sub_docs = dict(d.get("subcommands", []))
    subs = []
    for sub in info[9]:
        if sub[0] not in sub_docs:
            fail("no docs for " + sub[0])
        subs.append(build(sub, sub_docs.pop(sub[0]), used))
    if sub_docs:
        fail("docs without info: %r" % list(sub_docs))
    subs.sort(key=lambda s: s["name"])
    key_specs = [parse_key_spec(name, i, ks) for i, ks in enumerate(info[8])]
    for i, ks in enumerate(key_specs):
        if ks["notes"]:
            used["notes"].add((name, i))
    return {
        "name": name, "arity": info[1], "flags": list(info[2]),
        "first": info[3], "last": info[4], "step": info[5],
        "acl": list(info[6]), "tips": list(info[7]), "key_specs": key_specs,
        "subcommands": subs, "group": d["group"], "since": d.get("since", ""),
        "summary": summary, "complexity": complexity,
        "doc_flags": list(d.get("doc_flags", [])),
        "deprecated_since": d.get("deprecated_since"), "replaced_by": replaced_by,
        "history": history, "arguments": parse_args(name, d.get("arguments", [])),
    }


# --------------------------------------------------------------------------
# Emitting Rust.
# --------------------------------------------------------------------------


def rs_str(s):
    out = []
    for ch in s:
        if ch in "\\\"":
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("\\u{%x}" % ord(ch))
    return '"' + "".join(out) + '"'


def rs_strs(items):
    return "&[" + ", ".join(rs_str(x) for x in items) + "]"


def rs_opt(s):
    return "None" if s is None else "Some(%s)" % rs_str(s)


class Emitter:
    """Writes the table as flat constants (one per command, argument list and
    key-spec list) so that every item stays small enough for rustfmt."""

    def __init__(self):
        self.items = []
        self.names = set()

    def const(self, name, ty, value):
        if name in self.names:
            fail("duplicate constant " + name)
        self.names.add(name)
        self.items.append("const %s: %s = %s;" % (name, ty, value))
        return name

    def args(self, prefix, args):
        parts = []
        for i, a in enumerate(args):
            e = "ArgSpec::new(%s, ArgType::%s)" % (rs_str(a["name"]), ARG_TYPES[a["type"]])
            if a["key_spec_index"] >= 0:
                e += ".key_spec(%d)" % a["key_spec_index"]
            if a["token"] is not None:
                e += ".token(%s)" % rs_str(a["token"])
            if a["since"] is not None:
                e += ".since(%s)" % rs_str(a["since"])
            if a["deprecated_since"] is not None:
                e += ".deprecated_since(%s)" % rs_str(a["deprecated_since"])
            if a["flags"]:
                e += ".flags(%s)" % rs_strs(a["flags"])
            if a["arguments"]:
                e += ".args(%s)" % self.args("%s_%d" % (prefix, i), a["arguments"])
            parts.append(e)
        return self.const(prefix, "&[ArgSpec]", "&[" + ", ".join(parts) + "]")

    def key_specs(self, prefix, specs):
        parts = []
        for ks in specs:
            b = ks["begin"]
            if b[0] == "index":
                begin = "BeginSearch::Index(%d)" % b[1]
            elif b[0] == "keyword":
                begin = "BeginSearch::Keyword { keyword: %s, startfrom: %d }" % (rs_str(b[1]), b[2])
            else:
                begin = "BeginSearch::Unknown"
            f = ks["find"]
            if f[0] == "range":
                find = "FindKeys::Range { lastkey: %d, keystep: %d, limit: %d }" % f[1:]
            elif f[0] == "keynum":
                find = "FindKeys::Keynum { keynumidx: %d, firstkey: %d, keystep: %d }" % f[1:]
            else:
                find = "FindKeys::Unknown"
            parts.append("KeySpec { notes: %s, flags: %s, begin_search: %s, find_keys: %s }" % (
                rs_opt(ks["notes"]), rs_strs(ks["flags"]), begin, find))
        return self.const(prefix, "&[KeySpec]", "&[" + ", ".join(parts) + "]")

    def command(self, c):
        ident = re.sub(r"[^A-Z0-9]", "_", c["name"].upper())
        subs = [self.command(s) for s in c["subcommands"]]
        key_specs = self.key_specs(ident + "_KEYS", c["key_specs"]) if c["key_specs"] else "&[]"
        args = self.args(ident + "_ARGS", c["arguments"]) if c["arguments"] else "&[]"
        fields = [
            "name: %s" % rs_str(c["name"]),
            "arity: %d" % c["arity"],
            "flags: %s" % rs_strs(c["flags"]),
            "first_key: %d" % c["first"],
            "last_key: %d" % c["last"],
            "key_step: %d" % c["step"],
            "acl_categories: %s" % rs_strs(c["acl"]),
            "tips: %s" % rs_strs(c["tips"]),
            "key_specs: %s" % key_specs,
            "subcommands: &[%s]" % ", ".join(subs),
            "group: %s" % rs_str(c["group"]),
            "since: %s" % rs_str(c["since"]),
            "summary: %s" % rs_str(c["summary"]),
            "complexity: %s" % rs_str(c["complexity"]),
            "doc_flags: %s" % rs_strs(c["doc_flags"]),
            "deprecated_since: %s" % rs_opt(c["deprecated_since"]),
            "replaced_by: %s" % rs_opt(c["replaced_by"]),
            "history: &[%s]" % ", ".join(
                "(%s, %s)" % (rs_str(v), rs_str(t)) for v, t in c["history"]),
            "arguments: %s" % args,
        ]
        return self.const(ident, "CommandSpec", "CommandSpec { %s }" % ", ".join(fields))


HEADERS = {
    "standalone": """\
//! Redis 7.0 command table: every command and subcommand with its arity, flags,
//! key positions, ACL categories, tips, key specs and documentation metadata.
//!
//! GENERATED by tools/gen_command_specs.py from redis-server %(version)s; do not
//! edit. Run `python3 tools/gen_command_specs.py` to regenerate. `COMMAND_SPECS`
//! is sorted by name (byte order), and so is every subcommand list, so lookups
//! can binary-search. %(count)d commands, %(subs)d subcommands.

%(uses)s

""",
    "sentinel": """\
//! Redis 7.0 Sentinel's command table (`redis-server --sentinel`): the commands
//! a Sentinel has, with the arity, flags, ACL categories, tips and documentation
//! metadata its `COMMAND` and `COMMAND DOCS` report. Some differ from the
//! standalone table in `spec_data.rs`, and SENTINEL exists only here.
//!
//! GENERATED by tools/gen_command_specs.py from redis-server %(version)s in
//! Sentinel mode; do not edit. Run `python3 tools/gen_command_specs.py` to
//! regenerate. `SENTINEL_COMMAND_SPECS` is sorted by name (byte order), and so
//! is every subcommand list, so lookups can binary-search. %(count)d commands,
//! %(subs)d subcommands.

%(uses)s

""",
}
STATICS = {"standalone": "COMMAND_SPECS", "sentinel": "SENTINEL_COMMAND_SPECS"}


def collect(mode, infos, docs, used):
    commands = []
    for info in infos:
        d = docs.get(info[0])
        if d is None:
            fail("%s: no docs for %s" % (mode, info[0]))
        if "module" in dict(d):
            continue
        commands.append(build(info, d, used))
    commands.sort(key=lambda c: c["name"])
    return commands


def write_table(path, mode, version, commands, rustfmt):
    subs = sum(len(c["subcommands"]) for c in commands)
    em = Emitter()
    names = [em.command(c) for c in commands]
    body = ["pub static %s: &[CommandSpec] = &[%s];" % (STATICS[mode], ", ".join(names))]
    body.extend(em.items)
    body = "\n\n".join(body) + "\n"
    # Import only what the table uses (Sentinel's commands have no keys).
    used_types = [t for t in ("ArgSpec", "ArgType", "BeginSearch", "CommandSpec",
                              "FindKeys", "KeySpec")
                  if re.search(r"\b%s\b" % t, body)]
    uses = "use crate::spec::{%s};" % ", ".join(used_types)
    text = HEADERS[mode] % {
        "version": version, "count": len(commands), "subs": subs,
        "uses": uses,
    } + body
    with open(path, "w") as f:
        f.write(text)
    if rustfmt:
        subprocess.run(["rustfmt", "--edition", "2021", path], check=True)
    print("wrote %s: %d commands, %d subcommands" % (path, len(commands), subs))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(
        description="Generate spec_data.rs and spec_sentinel_data.rs from redis-server 7.0")
    ap.add_argument("--redis-server", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    ap.add_argument("--socket", help="use an already running standalone server at this unix socket")
    ap.add_argument("--sentinel-socket", help="use an already running Sentinel at this unix socket")
    ap.add_argument("--out", default=os.path.join(root, "crates/engine/src/spec_data.rs"))
    ap.add_argument("--sentinel-out",
                    default=os.path.join(root, "crates/engine/src/spec_sentinel_data.rs"))
    ap.add_argument("--no-rustfmt", action="store_true")
    opts = ap.parse_args()

    used = {"summary": set(), "history": set(), "replaced_by": set(), "notes": set()}
    tables = []
    for mode, sock, out in (("standalone", opts.socket, opts.out),
                            ("sentinel", opts.sentinel_socket, opts.sentinel_out)):
        version, infos, docs = fetch(opts.redis_server, sock, mode)
        tables.append((out, mode, version, collect(mode, infos, docs, used)))
    for table, key in ((SUMMARIES, "summary"), (HISTORY, "history"),
                       (REPLACED_BY, "replaced_by"), (NOTES, "notes")):
        stale = set(table) - used[key]
        if stale:
            fail("unused %s texts: %r" % (key, sorted(stale)))
    for out, mode, version, commands in tables:
        write_table(out, mode, version, commands, not opts.no_rustfmt)


if __name__ == "__main__":
    main()
