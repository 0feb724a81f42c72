//! Loads a configuration the way `redis-server [file] [--opt value ...]`
//! does and prints `CONFIG GET *` as sorted `name<TAB>value` lines (or the
//! fatal error report on stderr, exiting with status 1). Handy for
//! comparing against a real redis-server.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, rest) = redust_config::split_command_line(&args);
    match redust_config::load(path, rest) {
        Ok(cfg) => {
            let mut pairs = cfg.get(&[b"*"]);
            pairs.sort();
            for (k, v) in pairs {
                println!("{k}\t{v}");
            }
        }
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    }
}
