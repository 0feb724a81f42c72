//! Fatal error reports, each checked against redis-server 7.0.15 run on the
//! same config text (`redis-server t.conf [args]`).

mod common;

use redust_config::{load_from_bytes, load_with, Config, ConfigError, LoadOptions};

fn banner(line: usize, text: &str, message: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{message}\n"
    )
}

fn file_error(text: &str) -> String {
    let dir = common::temp_dir("err");
    let opts = LoadOptions {
        base_dir: Some(dir.to_path_buf()),
        ..Default::default()
    };
    redust_config::load_from_bytes_with(text.as_bytes(), opts)
        .unwrap_err()
        .to_string()
}

#[test]
fn line_errors_match_redis() {
    let cases: &[(&str, usize, &str, &str)] = &[
        ("port 16401\nport \"abc\"\n", 2, "port \"abc\"", "argument couldn't be parsed into an integer"),
        ("foo bar\n", 1, "foo bar", "Bad directive or wrong number of arguments"),
        ("port\n", 1, "port", "wrong number of arguments"),
        ("port 1 2\n", 1, "port 1 2", "wrong number of arguments"),
        ("  port 70000  \r\n", 1, "port 70000", "argument must be between 0 and 65535 inclusive"),
        ("daemonize maybe\n", 1, "daemonize maybe", "argument must be 'yes' or 'no'"),
        ("loglevel loud\n", 1, "loglevel loud", "argument(s) must be one of the following: debug, verbose, notice, warning"),
        ("include\n", 1, "include", "Bad directive or wrong number of arguments"),
        ("include /nonexistent*.conf\nport x\n", 2, "port x", "argument couldn't be parsed into an integer"),
        ("port \"abc\n", 1, "port \"abc", "Unbalanced quotes in configuration line"),
        ("port \"abc\"x\n", 1, "port \"abc\"x", "Unbalanced quotes in configuration line"),
        ("rename-command get\n", 1, "rename-command get", "Bad directive or wrong number of arguments"),
        ("user\n", 1, "user", "Bad directive or wrong number of arguments"),
        ("loadmodule\n", 1, "loadmodule", "Bad directive or wrong number of arguments"),
        ("foo.bar\n", 1, "foo.bar", "Module config specified without value"),
        ("sentinel\nport x\n", 2, "port x", "argument couldn't be parsed into an integer"),
        ("sentinel monitor a b\n", 1, "sentinel monitor a b", "sentinel directive while not in sentinel mode"),
        ("list-max-ziplist-entries 5\nlist-max-ziplist-entries\n", 2, "list-max-ziplist-entries", "Bad directive or wrong number of arguments"),
        ("save 0 1\n", 1, "save 0 1", "Invalid save parameters"),
        ("save 1\n", 1, "save 1", "Invalid save parameters"),
        ("maxmemory -1\n", 1, "maxmemory -1", "argument must be a memory value"),
        ("bind a b c d e f g h i j k l m n o p q\n", 1, "bind a b c d e f g h i j k l m n o p q", "Too many bind addresses specified."),
        ("notify-keyspace-events Q\n", 1, "notify-keyspace-events Q", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        ("oom-score-adj-values 5000 0 0\nport x\n", 1, "oom-score-adj-values 5000 0 0", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
        ("dir /nonexistent\n", 1, "dir /nonexistent", "No such file or directory"),
        ("dir /etc/passwd\n", 1, "dir /etc/passwd", "Not a directory"),
        ("replicaof a b\n", 1, "replicaof a b", "Invalid master port"),
        ("replicaof a\n", 1, "replicaof a", "wrong number of arguments"),
        ("client-output-buffer-limit normal 1 2\n", 1, "client-output-buffer-limit normal 1 2", "Wrong number of arguments in buffer limit configuration."),
        ("client-output-buffer-limit master 1 2 3\n", 1, "client-output-buffer-limit master 1 2 3", "Invalid client class specified in buffer limit configuration."),
        ("client-output-buffer-limit normal x 2 3\n", 1, "client-output-buffer-limit normal x 2 3", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
        ("latency-tracking-info-percentiles 101\n", 1, "latency-tracking-info-percentiles 101", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"),
        ("latency-tracking-info-percentiles abc\n", 1, "latency-tracking-info-percentiles abc", "Invalid latency-tracking-info-percentiles parameters"),
        ("shutdown-on-sigint save nosave\n", 1, "shutdown-on-sigint save nosave", "shutdown options SAVE and NOSAVE can't be used simultaneously"),
        ("shutdown-on-sigint\n", 1, "shutdown-on-sigint", "argument(s) must be one of the following: default, save, nosave, now, force"),
        ("appendfilename a/b\n", 1, "appendfilename a/b", "appendfilename can't be a path, just a filename"),
        ("appendfilename \"\"\n", 1, "appendfilename \"\"", "appendfilename can't be empty"),
        ("dbfilename a/b\n", 1, "dbfilename a/b", "dbfilename can't be a path, just a filename"),
        ("cluster-announce-hostname a_b\n", 1, "cluster-announce-hostname a_b", "Hostnames may only contain alphanumeric characters, hyphens or dots"),
        ("proc-title-template \"{bad}\"\n", 1, "proc-title-template \"{bad}\"", "template format is invalid or contains unknown variables"),
        ("activedefrag yes\nport x\n", 1, "activedefrag yes", "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"),
        ("socket-mark-id 5\nport x\n", 2, "port x", "argument couldn't be parsed into an integer"),
        ("unixsocketperm 999\n", 1, "unixsocketperm 999", "argument couldn't be parsed as an octal number"),
        ("unixsocketperm 1777\n", 1, "unixsocketperm 1777", "argument must be between 0 and 777 inclusive"),
        ("enable-debug-command maybe\n", 1, "enable-debug-command maybe", "argument(s) must be one of the following: no, yes, local"),
    ];
    for (text, line, shown, message) in cases {
        assert_eq!(
            file_error(text),
            banner(*line, shown, message),
            "config {text:?}"
        );
    }
}

#[test]
fn post_load_errors_have_no_line() {
    assert_eq!(
        file_error("logfile /nonexistent/x.log\n"),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: No such file or directory\n"
    );
    assert_eq!(
        file_error("cluster-enabled yes\nreplicaof a 1\n"),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nreplicaof directive not allowed in cluster mode\n"
    );
}

#[test]
fn missing_include_is_an_open_error() {
    assert_eq!(
        file_error("include /nonexistent.conf\n"),
        "Fatal error, can't open config file '/nonexistent.conf': No such file or directory"
    );
}

#[test]
fn rename_command_checks_the_command_table() {
    let exists = |name: &[u8]| matches!(name, b"get" | b"set" | b"flushall");
    let run = |text: &str| {
        let opts = LoadOptions {
            command_exists: Some(&exists),
            ..Default::default()
        };
        redust_config::load_from_bytes_with(text.as_bytes(), opts)
    };
    assert_eq!(
        run("rename-command FOO bar\n").unwrap_err().to_string(),
        banner(
            1,
            "rename-command FOO bar",
            "No such command in rename-command"
        )
    );
    assert_eq!(
        run("rename-command get set\n").unwrap_err().to_string(),
        banner(
            1,
            "rename-command get set",
            "Target command name already exists"
        )
    );
    let cfg = run("rename-command GET g2\nrename-command g2 get\nrename-command flushall \"\"\n")
        .unwrap();
    assert_eq!(cfg.rename_commands.len(), 3);
    assert_eq!(
        cfg.rename_commands[2],
        ("flushall".to_string(), String::new())
    );
    assert!(run("rename-command flushall x\nrename-command flushall y\n").is_err());
}

fn cli_error(args: &[&str], file: Option<&str>) -> String {
    let dir = common::temp_dir("cli");
    let path = file.map(|text| {
        std::fs::write(dir.join("ok.conf"), text).unwrap();
        std::path::PathBuf::from("ok.conf")
    });
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut stdin: &[u8] = b"";
    let opts = LoadOptions {
        base_dir: Some(dir.to_path_buf()),
        stdin: Some(&mut stdin),
        ..Default::default()
    };
    load_with(path.as_deref(), &args, opts)
        .unwrap_err()
        .to_string()
}

#[test]
fn command_line_errors_report_lines_of_the_combined_config() {
    let int = "argument couldn't be parsed into an integer";
    assert_eq!(
        cli_error(&["--port", "abc"], None),
        banner(2, "port \"abc\"", int)
    );
    assert_eq!(
        cli_error(&["--port", "abc"], Some("port 16401\n\n")),
        banner(4, "port \"abc\"", int)
    );
    assert_eq!(
        cli_error(&["--bind", "a", "b", "--port", "x"], None),
        banner(3, "port \"x\"", int)
    );
    assert_eq!(
        cli_error(&["--port", "6380 x"], None),
        banner(2, "port \"6380 x\"", int)
    );
    assert_eq!(
        cli_error(&["--port 6380", "x"], None),
        banner(2, "port 6380 \"x\"", "wrong number of arguments")
    );
    assert_eq!(
        cli_error(&["--port", "1", "--maxmemory", "1 mb"], None),
        banner(3, "maxmemory \"1 mb\"", "argument must be a memory value")
    );
    assert_eq!(
        cli_error(&["--save", "--port", "x"], None),
        banner(3, "port \"x\"", int)
    );
    assert_eq!(
        cli_error(&["--loglevel"], None),
        banner(2, "loglevel", "wrong number of arguments")
    );
    assert_eq!(
        cli_error(&["--foo", "1", "2", "3"], None),
        banner(
            2,
            "foo \"1\" \"2\" \"3\"",
            "Bad directive or wrong number of arguments"
        )
    );
    assert_eq!(
        cli_error(&["-", "--port", "x"], Some("port 16401\n\n")),
        banner(4, "\"-\"", "Bad directive or wrong number of arguments")
    );
    assert_eq!(
        cli_error(&["-", "--port", "x"], None),
        banner(2, "port \"x\"", int)
    );
    assert_eq!(
        cli_error(&["--port", "x", "-"], None),
        banner(2, "port \"x\"", int)
    );
    assert_eq!(
        cli_error(&["--port", "16401", "x", "--", "y"], None),
        banner(2, "port \"16401\" \"x\"", "wrong number of arguments")
    );
    assert_eq!(
        cli_error(&["--port", "16401", "--", "loglevel", "x"], None),
        banner(
            3,
            "\"loglevel\" \"x\"",
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        )
    );
    assert_eq!(
        cli_error(&["--requirepass", "a\"b", "--port", "x"], None),
        banner(3, "port \"x\"", int)
    );
}

#[test]
fn stdin_is_read_after_the_file_and_before_options() {
    let dir = common::temp_dir("stdin");
    let mut stdin: &[u8] = b"port y\n";
    let args = vec!["--port".to_string(), "16401".to_string(), "-".to_string()];
    let opts = LoadOptions {
        base_dir: Some(dir.to_path_buf()),
        stdin: Some(&mut stdin),
        ..Default::default()
    };
    assert_eq!(
        load_with(None, &args, opts).unwrap_err().to_string(),
        banner(1, "port y", "argument couldn't be parsed into an integer")
    );
}

#[test]
fn save_directives_follow_redis_quirks() {
    // Verified on redis-server 7.0.15: the first `save` replaces the
    // defaults, later ones append...
    let cfg = load_from_bytes(b"save 900 1\nsave 300 10\n").unwrap();
    assert_eq!(cfg.save, vec![(900, 1), (300, 10)]);
    // ...but after an `include`, every `save` line replaces the list again.
    let dir = common::temp_dir("save");
    std::fs::write(dir.join("inc.conf"), "save 60 5\n").unwrap();
    let opts = LoadOptions {
        base_dir: Some(dir.clone()),
        ..Default::default()
    };
    let cfg =
        redust_config::load_from_bytes_with(b"include inc.conf\nsave 900 1\nsave 300 10\n", opts)
            .unwrap();
    assert_eq!(cfg.save, vec![(300, 10)]);
    // The command line appends to the file's list; `--save` alone clears it.
    std::fs::write(dir.join("q2.conf"), "save 900 1\nsave 300 10\n").unwrap();
    let args: Vec<String> = ["--save", "5", "5"].iter().map(|s| s.to_string()).collect();
    let opts = LoadOptions {
        base_dir: Some(dir.clone()),
        ..Default::default()
    };
    let cfg = load_with(Some(std::path::Path::new("q2.conf")), &args, opts).unwrap();
    assert_eq!(cfg.save, vec![(900, 1), (300, 10), (5, 5)]);
    assert_eq!(cfg.config_file(), Some(dir.join("q2.conf").as_path()));
    let opts = LoadOptions {
        base_dir: Some(dir.to_path_buf()),
        ..Default::default()
    };
    let cfg = load_with(None, &["--save".to_string()], opts).unwrap();
    assert!(cfg.save.is_empty());
    // `save ""` empties the list wherever it appears; a bare `save` or one
    // that splits to nothing does not.
    let load = |t: &str| load_from_bytes(t.as_bytes()).unwrap().save;
    assert_eq!(
        load("save 900 1\nsave \"\"\nsave 300 10\n"),
        vec![(300, 10)]
    );
    assert!(load("save 900 1\nsave \"\"\n").is_empty());
    assert_eq!(
        load("save 900 1\nsave\nsave 300 10\n"),
        vec![(900, 1), (300, 10)]
    );
    assert_eq!(
        load("save 900 1\nsave \" \"\nsave 300 10\n"),
        vec![(900, 1), (300, 10)]
    );
    assert_eq!(load("save \"\"\nsave 1 1\n"), vec![(1, 1)]);
}

#[test]
fn files_load_into_typed_fields() {
    let dir = common::temp_dir("typed");
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/a.conf"), "maxmemory 10mb\n").unwrap();
    std::fs::write(dir.join("sub/b.conf"), "maxmemory-policy allkeys-lru\n").unwrap();
    let text = "# comment\n\
        PORT 7000\n\
        bind 127.0.0.1 ::1\n\
        slaveof 10.0.0.1 6380\n\
        slave-read-only no\n\
        hash-max-ziplist-entries 100\n\
        requirepass \"se cret\"\n\
        notify-keyspace-events EKx\n\
        client-output-buffer-limit replica 1gb 512mb 30 pubsub 1k 2kb 3\n\
        save \"\"\n\
        hz 1000\n\
        dir sub\n\
        include *.conf\n\
        enable-debug-command local\n\
        loadmodule /x/y.so a b\n\
        user alice on >pw\n\
        mymod.opt 5\n\
        MyMod.opt 6\n\
        lua-replicate-commands yes\n";
    let opts = LoadOptions {
        base_dir: Some(dir.clone()),
        ..Default::default()
    };
    let cfg = redust_config::load_from_bytes_with(text.as_bytes(), opts).unwrap();
    assert_eq!(cfg.port, 7000);
    assert_eq!(cfg.bind, vec!["127.0.0.1", "::1"]);
    assert_eq!(cfg.replicaof, Some(("10.0.0.1".to_string(), 6380)));
    assert!(!cfg.replica_read_only);
    assert_eq!(cfg.hash_max_listpack_entries, 100);
    assert_eq!(cfg.requirepass.as_deref(), Some(&b"se cret"[..]));
    assert_eq!(cfg.get_value("notify-keyspace-events").unwrap(), "xKE");
    assert_eq!(cfg.client_output_buffer_limit.replica.hard, 1 << 30);
    assert_eq!(cfg.client_output_buffer_limit.pubsub.hard, 1000);
    assert_eq!(cfg.client_output_buffer_limit.pubsub.soft, 2048);
    assert!(cfg.save.is_empty());
    assert_eq!(cfg.hz, 500);
    assert_eq!(cfg.dir, dir.join("sub"));
    assert_eq!(cfg.maxmemory, 10 << 20);
    assert_eq!(
        cfg.maxmemory_policy,
        redust_config::MaxmemoryPolicy::AllkeysLru
    );
    assert_eq!(
        cfg.enable_debug_command,
        redust_config::ProtectedAction::Local
    );
    assert_eq!(cfg.loadmodules, vec![vec!["/x/y.so", "a", "b"]]);
    assert_eq!(cfg.users, vec![vec!["alice", "on", ">pw"]]);
    assert_eq!(
        cfg.module_configs,
        vec![("mymod.opt".to_string(), "6".to_string())]
    );
}

#[test]
fn no_arguments_means_defaults() {
    let cfg = redust_config::load(None, &[]).unwrap();
    assert_eq!(cfg, Config::default());
    assert!(cfg.config_file().is_none());
}

#[test]
fn error_type_is_usable() {
    let e = load_from_bytes(b"port x\n").unwrap_err();
    assert!(matches!(e, ConfigError::Line { line: 1, .. }));
    assert_eq!(e.message(), "argument couldn't be parsed into an integer");
}

#[test]
fn single_argument_of_multi_arg_configs_is_split_again() {
    // Each verified on redis-server 7.0.15.
    let load = |t: &str| load_from_bytes(t.as_bytes()).unwrap();
    assert_eq!(load("save \"100 2  50 3\"\n").save, vec![(100, 2), (50, 3)]);
    assert!(load("save \"\\\"1\"\n").save.is_empty());
    assert!(load("save \"'1 2\"\n").save.is_empty());
    assert!(load("save \" \"\n").save.is_empty());
    assert_eq!(
        load("bind \"127.0.0.1 ::1\"\n").bind,
        vec!["127.0.0.1", "::1"]
    );
    assert_eq!(
        load("oom-score-adj-values \"1 2 3\"\n").oom_score_adj_values,
        [1, 2, 3]
    );
    assert_eq!(
        load("shutdown-on-sigint \"save now\"\n")
            .get_value("shutdown-on-sigint")
            .unwrap(),
        "save now"
    );
    assert_eq!(
        load("replicaof \"127.0.0.1 5\"\n").replicaof,
        Some(("127.0.0.1".into(), 5))
    );
    assert_eq!(
        load_from_bytes(b"oom-score-adj-values \"\\\"1\"\n")
            .unwrap_err()
            .to_string(),
        banner(
            1,
            "oom-score-adj-values \"\\\"1\"",
            "wrong number of arguments"
        )
    );
}
