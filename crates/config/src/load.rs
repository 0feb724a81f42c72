//! Loading the configuration at startup: config file, stdin and
//! command-line options.
//!
//! This module owns what `redis-server [file] [options]` does before it
//! starts serving: turning the command line into Redis's combined config
//! string (`--port 6380` becomes a `port "6380"` line appended after the
//! file and stdin contents; `-` as first or last argument reads stdin),
//! reading files the way Redis's `fgets` loop does, processing each line
//! (comments, `sdssplitargs` quoting, configs and aliases, `include` with
//! glob patterns, `rename-command`, `user`, `loadmodule`, module options,
//! deprecated directives), the post-load checks, and [`ConfigError`], whose
//! `Display` is Redis's fatal error report byte for byte.
//!
//! Nothing here touches process state: `dir` is tracked as a virtual
//! working directory (relative `include` and `logfile` paths resolve
//! against it, as they would after Redis's `chdir`); the server applies it.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::{Config, SentinelDirective};
use crate::glob::glob_match;
use crate::messages as msg;
use crate::ops::{set_def, SetEnv, CONFIG_MAX_HZ, CONFIG_MIN_HZ};
use crate::table::{lookup, MULTI_ARG};
use crate::values::{cstr, repr, strerror, trim};

/// Includes nested deeper than this are refused (Redis would recurse until
/// it crashes).
const MAX_INCLUDE_DEPTH: usize = 32;

/// A predicate telling whether a (lower-case) command name exists.
pub type CommandExists<'a> = &'a dyn Fn(&[u8]) -> bool;

/// Checks a `user` directive's arguments (name, then rules) as the ACL
/// subsystem reads them; `Err` is the complete error text.
pub type UserCheck<'a> = &'a dyn Fn(&[Vec<u8>]) -> Result<(), String>;

/// Directives accepted and ignored for backward compatibility (with exactly
/// one argument).
const DEPRECATED: &[&str] = &[
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];

/// A fatal configuration error. `Display` prints exactly what redis-server
/// 7.0.15 prints before exiting with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A bad line. `line` counts lines of the text being parsed: the main
    /// file followed by stdin and then the command-line options (one line
    /// per `--option`, after an extra newline), or the included file.
    Line {
        /// 1-based line number.
        line: usize,
        /// The offending line, trimmed.
        text: String,
        /// What is wrong with it.
        message: String,
    },
    /// A check made after all lines were read (no line is shown).
    Fatal {
        /// What is wrong.
        message: String,
    },
    /// A configuration file could not be opened. Redis reports this through
    /// its logger rather than with the fatal banner.
    Open {
        /// The path as written.
        path: String,
        /// The `strerror` text.
        reason: String,
    },
}

impl ConfigError {
    /// The bare error text (the last line of the report).
    pub fn message(&self) -> String {
        match self {
            ConfigError::Line { message, .. } | ConfigError::Fatal { message } => message.clone(),
            ConfigError::Open { path, reason } => msg::cant_open_config_file(path, reason),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Line {
                line,
                text,
                message,
            } => write!(
                f,
                "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{message}\n",
                msg::REDIS_VERSION
            ),
            ConfigError::Fatal { message } => write!(
                f,
                "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\n{message}\n",
                msg::REDIS_VERSION
            ),
            ConfigError::Open { path, reason } => {
                f.write_str(&msg::cant_open_config_file(path, reason))
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Knobs for [`load_with`].
#[derive(Default)]
pub struct LoadOptions<'a> {
    /// Source read for a `-` argument (default: the process's stdin).
    pub stdin: Option<&'a mut dyn Read>,
    /// Whether a command exists, for validating `rename-command` (called
    /// with lower-case names). Without it `rename-command` lines are
    /// recorded unchecked.
    pub command_exists: Option<CommandExists<'a>>,
    /// Validates `user` directives (Redis's `ACLAppendUserForLoading`).
    /// Without it they are recorded unchecked.
    pub check_user: Option<UserCheck<'a>>,
    /// The working directory to start from (default: the process's current
    /// directory). Relative paths (config file, `include`, `dir`, `logfile`)
    /// resolve against it.
    pub base_dir: Option<PathBuf>,
    /// Sentinel mode: port 26379 and protected mode off by default,
    /// `sentinel ...` lines collected rather than refused, no `save`.
    pub sentinel_mode: bool,
}

/// Loads the configuration like `redis-server [path] [cli_args...]`.
///
/// `cli_args` are the arguments after the optional config-file path (see
/// [`split_command_line`]). With neither a path nor arguments, the defaults
/// are returned without reading anything, as redis-server does.
pub fn load(path: Option<&Path>, cli_args: &[String]) -> Result<Config, ConfigError> {
    load_with(path, cli_args, LoadOptions::default())
}

/// [`load`] with explicit options.
pub fn load_with(
    path: Option<&Path>,
    cli_args: &[String],
    opts: LoadOptions<'_>,
) -> Result<Config, ConfigError> {
    let base = opts
        .base_dir
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_default());
    let mut cfg = Config::with_dir(base.clone());
    cfg.config_file = path.map(|p| base.join(p));
    if opts.sentinel_mode {
        cfg.sentinel_mode = true;
        cfg.port = SENTINEL_DEFAULT_PORT;
        cfg.protected_mode = false;
    }
    if path.is_none() && cli_args.is_empty() {
        return Ok(cfg);
    }
    let (options, from_stdin) = command_line_options(cli_args, path.is_none());
    let mut text = Vec::new();
    if let Some(p) = path {
        text = read_config_file(&base.join(p), &p.to_string_lossy())?;
    }
    if from_stdin {
        let mut data = Vec::new();
        // Like Redis's fgets loop, a read error ends the input.
        let _ = match opts.stdin {
            Some(r) => r.read_to_end(&mut data),
            None => std::io::stdin().lock().read_to_end(&mut data),
        };
        text.extend(fgets_concat(&data));
    }
    text.push(b'\n');
    text.extend_from_slice(&options);
    let mut loader = Loader::new(cfg, opts.command_exists);
    loader.check_user = opts.check_user;
    loader.load_string(&text)?;
    if loader.cfg.sentinel_mode {
        // A Sentinel keeps no dataset to snapshot.
        loader.cfg.save.clear();
    }
    Ok(loader.cfg)
}

/// Sentinel's port when none is configured.
pub const SENTINEL_DEFAULT_PORT: u16 = 26379;

/// Parses `text` as one configuration file's content (no command line, no
/// stdin), starting from the defaults. Relative paths resolve against the
/// current directory.
pub fn load_from_bytes(text: &[u8]) -> Result<Config, ConfigError> {
    load_from_bytes_with(text, LoadOptions::default())
}

/// [`load_from_bytes`] with explicit options (`stdin` is ignored).
pub fn load_from_bytes_with(text: &[u8], opts: LoadOptions<'_>) -> Result<Config, ConfigError> {
    let base = opts
        .base_dir
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_default());
    let mut loader = Loader::new(Config::with_dir(base), opts.command_exists);
    loader.check_user = opts.check_user;
    loader.load_string(&fgets_concat(text))?;
    Ok(loader.cfg)
}

/// Splits redis-server's arguments (without the program name) into the
/// optional config file and the remaining option arguments: the first
/// argument is the config file unless it starts with `-`.
pub fn split_command_line(args: &[String]) -> (Option<&Path>, &[String]) {
    match args.split_first() {
        Some((first, rest)) if !first.starts_with('-') => (Some(Path::new(first)), rest),
        _ => (None, args),
    }
}

/// Builds Redis's options string from the command line, exactly as
/// redis-server's `main()` does, and reports whether stdin must be read.
/// `first_is_argv1` says whether `args[0]` is the first program argument
/// (no config file was given), which matters for a leading `-`.
pub fn command_line_options(args: &[String], first_is_argv1: bool) -> (Vec<u8>, bool) {
    let mut options: Vec<u8> = Vec::new();
    let mut from_stdin = false;
    let mut handled_last_config_arg = true;
    let n = args.len();
    for (j, arg) in args.iter().enumerate() {
        let a = arg.as_bytes();
        let is_last = j + 1 == n;
        if a == b"-" && ((first_is_argv1 && j == 0) || is_last) {
            from_stdin = true;
        } else if handled_last_config_arg && a.starts_with(b"--") {
            if !options.is_empty() {
                options.push(b'\n');
            }
            options.extend_from_slice(&a[2..]);
            options.push(b' ');
            let argc = redust_resp::split_args(a).map_or(0, |v| v.len());
            if argc == 1 {
                // Only an option name, like `--port`: values follow.
                handled_last_config_arg = false;
                let next_is_option = !is_last && args[j + 1].as_bytes().starts_with(b"--");
                let is_save = a.eq_ignore_ascii_case(b"--save");
                let is_sentinel = a.eq_ignore_ascii_case(b"--sentinel");
                if (next_is_option || is_last) && is_save {
                    // `--save` with no value means `save ""`.
                    options.extend_from_slice(b"\"\"");
                    if next_is_option {
                        handled_last_config_arg = true;
                    }
                } else if next_is_option && is_sentinel {
                    handled_last_config_arg = true;
                }
            } else {
                // Name and value in one argument, like "--port 6380".
                handled_last_config_arg = true;
            }
        } else {
            options.extend_from_slice(repr(a).as_bytes());
            options.push(b' ');
            handled_last_config_arg = true;
        }
    }
    (options, from_stdin)
}

/// Concatenates file content the way Redis's `fgets` + `sdscat` loop does:
/// each chunk (up to 1024 bytes, or through a newline) is cut at its first
/// NUL byte.
fn fgets_concat(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let limit = (i + 1024).min(data.len());
        let end = data[i..limit]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(limit, |p| i + p + 1);
        out.extend_from_slice(cstr(&data[i..end]));
        i = end;
    }
    out
}

/// Reads a config file; `shown` is the name used in the error.
fn read_config_file(path: &Path, shown: &str) -> Result<Vec<u8>, ConfigError> {
    let mut file = std::fs::File::open(path).map_err(|e| ConfigError::Open {
        path: shown.to_string(),
        reason: strerror(&e),
    })?;
    let mut data = Vec::new();
    // fgets stops at the first error (e.g. EISDIR for a directory).
    let _ = file.read_to_end(&mut data);
    Ok(fgets_concat(&data))
}

/// Paths matching a `glob(3)`-style pattern, sorted. Relative patterns are
/// resolved against `base` but returned as written.
fn glob_files(base: &Path, pattern: &str) -> Vec<String> {
    let absolute = pattern.starts_with('/');
    let mut candidates: Vec<String> = vec![if absolute { "/".into() } else { String::new() }];
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    for (idx, comp) in components.iter().enumerate() {
        let last = idx + 1 == components.len();
        let wild = comp.contains(['*', '?', '[']);
        let mut next = Vec::new();
        for cand in &candidates {
            let join = |name: &str| {
                if cand.is_empty() || cand.ends_with('/') {
                    format!("{cand}{name}")
                } else {
                    format!("{cand}/{name}")
                }
            };
            if !wild {
                next.push(join(comp));
                continue;
            }
            let dir = if cand.is_empty() {
                base.to_path_buf()
            } else {
                base.join(cand)
            };
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && !comp.starts_with('.') {
                    continue;
                }
                if !glob_match(comp.as_bytes(), name.as_bytes(), false) {
                    continue;
                }
                if !last && !entry.path().is_dir() {
                    continue;
                }
                next.push(join(&name));
            }
        }
        candidates = next;
    }
    let mut found: Vec<String> = candidates
        .into_iter()
        .filter(|c| !c.is_empty() && std::fs::symlink_metadata(base.join(c)).is_ok())
        .collect();
    found.sort();
    found
}

enum IncludeError {
    Config(ConfigError),
    TooDeep,
}

struct Loader<'a> {
    cfg: Config,
    env: SetEnv,
    depth: usize,
    command_exists: Option<CommandExists<'a>>,
    check_user: Option<UserCheck<'a>>,
    removed_commands: HashSet<Vec<u8>>,
    added_commands: HashSet<Vec<u8>>,
}

impl<'a> Loader<'a> {
    fn new(cfg: Config, command_exists: Option<CommandExists<'a>>) -> Self {
        Loader {
            cfg,
            env: SetEnv::default(),
            depth: 0,
            command_exists,
            check_user: None,
            removed_commands: HashSet::new(),
            added_commands: HashSet::new(),
        }
    }

    /// Redis's `loadServerConfigFromString`.
    fn load_string(&mut self, text: &[u8]) -> Result<(), ConfigError> {
        self.env.reading_config_file = true;
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = trim(raw, b" \t\r\n");
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let at_line = |message: &str| ConfigError::Line {
                line: i + 1,
                text: String::from_utf8_lossy(line).into_owned(),
                message: message.to_string(),
            };
            let Some(argv) = redust_resp::split_args(line) else {
                return Err(at_line(msg::UNBALANCED_QUOTES));
            };
            if argv.is_empty() {
                continue;
            }
            if self.cfg.sentinel_mode && argv.len() > 1 && argv[0].eq_ignore_ascii_case(b"sentinel")
            {
                self.cfg.sentinel_lines.push(SentinelDirective {
                    line_number: i + 1,
                    text: String::from_utf8_lossy(line).into_owned(),
                    args: argv[1..]
                        .iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect(),
                });
                continue;
            }
            self.line(&argv).map_err(|e| match e {
                LineError::Message(m) => at_line(&m),
                LineError::Include(IncludeError::Config(e)) => e,
                LineError::Include(IncludeError::TooDeep) => at_line(msg::TOO_MANY_NESTED_INCLUDES),
            })?;
        }

        if !self.cfg.logfile.is_empty() {
            let path = self.cfg.dir.join(&self.cfg.logfile);
            if let Err(e) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
            {
                return Err(ConfigError::Fatal {
                    message: msg::cant_open_log_file(&strerror(&e)),
                });
            }
        }
        if self.cfg.cluster_enabled && self.cfg.replicaof.is_some() {
            return Err(ConfigError::Fatal {
                message: msg::REPLICAOF_IN_CLUSTER_MODE.to_string(),
            });
        }
        self.cfg.hz = self.cfg.hz.clamp(CONFIG_MIN_HZ, CONFIG_MAX_HZ);
        self.env.reading_config_file = false;
        Ok(())
    }

    /// Processes one non-empty, split line.
    fn line(&mut self, argv: &[Vec<u8>]) -> Result<(), LineError> {
        let name = argv[0].to_ascii_lowercase();
        let argc = argv.len();
        if let Some((def, _)) = lookup(&name) {
            if !def.has(MULTI_ARG) && argc != 2 {
                return Err(LineError::Message(msg::WRONG_NUMBER_OF_ARGUMENTS.into()));
            }
            // A multi-argument config given one non-empty argument has it
            // split again (so `--save "900 1 300 10"` works); unbalanced
            // quotes there yield no arguments, as in Redis.
            let resplit;
            let args: Vec<&[u8]> = if def.has(MULTI_ARG) && argc == 2 && !argv[1].is_empty() {
                resplit = redust_resp::split_args(&argv[1]).unwrap_or_default();
                resplit.iter().map(Vec::as_slice).collect()
            } else {
                argv[1..].iter().map(Vec::as_slice).collect()
            };
            set_def(def, &mut self.cfg, &args, &mut self.env).map_err(LineError::Message)?;
            return Ok(());
        }
        if argc == 2 && DEPRECATED.iter().any(|d| d.as_bytes() == name.as_slice()) {
            return Ok(());
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match name.as_slice() {
            b"include" if argc == 2 => self.include(&argv[1]).map_err(LineError::Include),
            b"rename-command" if argc == 3 => self
                .rename_command(&argv[1], &argv[2])
                .map_err(|m| LineError::Message(m.into())),
            b"user" if argc >= 2 => {
                if let Some(check) = self.check_user {
                    let words: Vec<Vec<u8>> = argv[1..].iter().map(|a| a.to_vec()).collect();
                    check(&words).map_err(LineError::Message)?;
                }
                self.cfg
                    .users
                    .push(argv[1..].iter().map(|a| text(a)).collect());
                Ok(())
            }
            b"loadmodule" if argc >= 2 => {
                self.cfg
                    .loadmodules
                    .push(argv[1..].iter().map(|a| text(a)).collect());
                Ok(())
            }
            _ if cstr(&name).contains(&b'.') => {
                if argc != 2 {
                    return Err(LineError::Message(msg::MODULE_CONFIG_WITHOUT_VALUE.into()));
                }
                let key = text(cstr(&name));
                let value = text(&argv[1]);
                match self.cfg.module_configs.iter_mut().find(|(k, _)| *k == key) {
                    Some(entry) => entry.1 = value,
                    None => self.cfg.module_configs.push((key, value)),
                }
                Ok(())
            }
            b"sentinel" => {
                // A lone `sentinel` is handled by main() (sentinel mode is
                // not supported here); anything else is an error outside it.
                if argc != 1 {
                    return Err(LineError::Message(
                        msg::SENTINEL_NOT_IN_SENTINEL_MODE.into(),
                    ));
                }
                Ok(())
            }
            _ => Err(LineError::Message(msg::BAD_DIRECTIVE.into())),
        }
    }

    /// `include <path-or-glob>`: the file(s) are parsed as one config string
    /// on their own (errors report lines of the included text).
    fn include(&mut self, pattern: &[u8]) -> Result<(), IncludeError> {
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(IncludeError::TooDeep);
        }
        let name = String::from_utf8_lossy(cstr(pattern)).into_owned();
        let base = self.cfg.dir.clone();
        let mut text = Vec::new();
        if name.contains(['*', '?', '[']) {
            for path in glob_files(&base, &name) {
                let data =
                    read_config_file(&base.join(&path), &path).map_err(IncludeError::Config)?;
                text.extend(data);
            }
        } else {
            text = read_config_file(&base.join(&name), &name).map_err(IncludeError::Config)?;
        }
        self.depth += 1;
        let result = self.load_string(&text);
        self.depth -= 1;
        result.map_err(IncludeError::Config)
    }

    fn rename_command(&mut self, from: &[u8], to: &[u8]) -> Result<(), &'static str> {
        if let Some(exists) = self.command_exists {
            let known = |l: &Self, name: &Vec<u8>| {
                l.added_commands.contains(name)
                    || (exists(name) && !l.removed_commands.contains(name))
            };
            let from_l = cstr(from).to_ascii_lowercase();
            if !known(self, &from_l) {
                return Err(msg::RENAME_NO_SUCH_COMMAND);
            }
            if !self.added_commands.remove(&from_l) {
                self.removed_commands.insert(from_l);
            }
            if !to.is_empty() {
                let to_l = to.to_ascii_lowercase();
                if known(self, &to_l) {
                    return Err(msg::RENAME_TARGET_EXISTS);
                }
                self.added_commands.insert(to_l);
            }
        }
        self.cfg.rename_commands.push((
            String::from_utf8_lossy(from).into_owned(),
            String::from_utf8_lossy(to).into_owned(),
        ));
        Ok(())
    }
}

enum LineError {
    Message(String),
    Include(IncludeError),
}
