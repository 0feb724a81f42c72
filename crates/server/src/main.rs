//! The `redust-server` binary: the counting allocator (whose totals are
//! INFO's `used_memory`) and the process, `redust_server::run_process`.

#[global_allocator]
static GLOBAL: redust_server::alloc::CountingJemalloc = redust_server::alloc::CountingJemalloc;

fn main() {
    let code = redust_server::run_process(std::env::args().collect());
    std::process::exit(code);
}
