//! The `redust-sentinel` binary: `redust-server` under a name that starts
//! it in Sentinel mode (`redust-sentinel sentinel.conf`), as
//! `redis-sentinel` is for Redis.

#[global_allocator]
static GLOBAL: redust_server::alloc::CountingJemalloc = redust_server::alloc::CountingJemalloc;

fn main() {
    let code = redust_server::run_process(std::env::args().collect());
    std::process::exit(code);
}
