//! Error replies: Redis 7.0's texts, kept in one place, and the error type
//! command handlers return.

use std::borrow::Cow;

/// EVAL, SINTERCARD and the like: `numkeys` past the arguments.
pub const NUMKEYS_TOO_MANY: &str = "ERR Number of keys can't be greater than number of args";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const SYNTAX: &str = "ERR syntax error";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
pub const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const NESTED_MULTI: &str = "ERR MULTI calls can not be nested";
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub const WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
/// Defined by the config crate, whose CONFIG SET refuses deny-loading configs
/// with it too.
pub const LOADING: &str = redust_config::messages::LOADING;
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
/// A count that must not be negative (LPOP/RPOP, SPOP, ZPOPMIN/ZPOPMAX,
/// DEBUG POPULATE).
pub const OUT_OF_RANGE_POSITIVE: &str = "ERR value is out of range, must be positive";
/// A number outside what the command accepts (REPLCONF listening-port, an
/// HRANDFIELD WITHVALUES or ZRANDMEMBER WITHSCORES count too large to double).
pub const OUT_OF_RANGE: &str = "ERR value is out of range";
/// WAIT and CLIENT PAUSE timeouts that do not parse as an integer.
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
/// WAIT, CLIENT PAUSE and blocking commands given a negative timeout.
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
/// LMPOP, BLMPOP, ZMPOP, BZMPOP and SINTERCARD with numkeys below 1.
pub const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
/// The COUNT option of LMPOP, BLMPOP, ZMPOP and BZMPOP below 1.
pub const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";
/// SLOWLOG GET with a count below -1.
pub const COUNT_BELOW_MINUS_ONE: &str = "ERR count should be greater than or equal to -1";
/// The LIMIT option of SINTERCARD and ZINTERCARD below 0.
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
/// COPY and MOVE onto the key itself.
pub const SAME_SOURCE_AND_DESTINATION: &str = "ERR source and destination objects are the same";
/// INCRBYFLOAT and HINCRBYFLOAT whose result is not finite.
pub const INCR_NAN_OR_INFINITY: &str = "ERR increment would produce NaN or Infinity";
/// RESTORE of a payload with a wrong version or checksum, or too short to hold them.
pub const BAD_DUMP_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
/// BGREWRITEAOF, or a scheduled rewrite (`aof::start_rewrite`), while a rewrite
/// is running.
pub const AOF_REWRITE_IN_PROGRESS: &str =
    "ERR Background append only file rewriting already in progress";

/// An error reply. The text starts with its prefix (`ERR`, `WRONGTYPE`, ...).
/// The flags say the error is counted in errorstats already (a script
/// passing on the error of a command that failed inside it), or that the
/// command was refused before it ran (Redis refuses it in processCommand:
/// a rejected call, not a call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>, u8);

const COUNTED: u8 = 1;
const REJECTED: u8 = 2;

impl CmdError {
    /// An error whose errorstats entry was made where it happened.
    pub fn counted(text: String) -> CmdError {
        CmdError(Cow::Owned(text), COUNTED)
    }

    /// A refusal that Redis makes before the command runs (with the flags a
    /// script's shebang or a function gives EVAL and FCALL).
    pub fn rejected(text: impl Into<Cow<'static, str>>) -> CmdError {
        CmdError(text.into(), REJECTED)
    }

    /// Whether errorstats counted this error already.
    pub fn is_counted(&self) -> bool {
        self.1 & COUNTED != 0
    }

    /// Whether the command counts as rejected rather than called.
    pub fn is_rejected(&self) -> bool {
        self.1 & REJECTED != 0
    }
}

impl From<&'static str> for CmdError {
    fn from(s: &'static str) -> Self {
        CmdError(Cow::Borrowed(s), 0)
    }
}

impl From<String> for CmdError {
    fn from(s: String) -> Self {
        CmdError(Cow::Owned(s), 0)
    }
}

/// What every command handler returns: replies were written, or an error to send.
pub type CmdResult = Result<(), CmdError>;

pub fn wrong_args(command: &str) -> CmdError {
    format!("ERR wrong number of arguments for '{command}' command").into()
}

pub fn unknown_subcommand(sub: &[u8], command: &str) -> CmdError {
    format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)]),
        command.to_uppercase()
    )
    .into()
}

pub fn invalid_expire(command: &str) -> CmdError {
    format!("ERR invalid expire time in '{command}' command").into()
}
