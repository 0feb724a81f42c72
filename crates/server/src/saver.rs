//! The background saver thread: drives BGSAVE snapshots and the `save`
//! rules.
//!
//! Each step takes the state lock briefly to turn a batch of pending slots
//! into RDB bytes (`persist::bgsave_step`), then writes them to the temp file
//! without the lock, so clients keep being served while the snapshot runs.
//! At the end the file is fsynced and renamed over `dbfilename`, and the
//! directory fsynced, so a crash leaves the old file or the new one.

use crate::now_ms;
use crate::server::Server;
use crate::{notice, warning};
use redust_engine::persist::{self, BgSaveStep};
use redust_engine::replication::SyncMsg;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Slots turned into bytes per step: small enough to keep each lock hold short.
const SLOTS_PER_STEP: usize = 64;
/// After a failed background save, wait this long before a `save` rule retries.
const RETRY_DELAY_MS: i64 = 5000;

pub fn spawn(server: Arc<Server>) {
    let _ = std::thread::Builder::new()
        .name("redust-saver".into())
        .spawn(move || run(server));
}

fn run(server: Arc<Server>) {
    let mut file: Option<(PathBuf, File)> = None;
    let mut last_aof_fsync = std::time::Instant::now();
    loop {
        if server
            .signals
            .stopped
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        if last_aof_fsync.elapsed() >= Duration::from_secs(1) {
            last_aof_fsync = std::time::Instant::now();
            fsync_aof_everysec(&server);
        }
        let step = {
            let mut state = server.state.lock();
            state.now_ms = now_ms();
            if !state.rdb.bgsave_running() {
                file = None;
                redust_engine::aof::rewrite_if_due(&mut state);
                if !state.rdb.bgsave_running() {
                    maybe_start_by_rule(&mut state);
                }
                None
            } else if state
                .rdb
                .bgsave
                .as_ref()
                .is_some_and(|b| b.purpose == persist::SnapshotPurpose::ReplicaSockets)
            {
                let targets = redust_engine::replication::diskless_targets(&state);
                let step = persist::bgsave_step(&mut state, SLOTS_PER_STEP);
                drop(state);
                if let Some(step) = step {
                    stream_to_replicas(&server, step, &targets);
                }
                continue;
            } else {
                let temp = state
                    .rdb
                    .bgsave
                    .as_ref()
                    .map(|b| (b.temp_path.clone(), b.final_path.clone()));
                persist::bgsave_step(&mut state, SLOTS_PER_STEP).map(|s| (s, temp))
            }
        };
        let Some((step, Some((temp, final_path)))) = step else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        if file.as_ref().is_none_or(|(p, _)| *p != temp) {
            match File::create(&temp) {
                Ok(f) => file = Some((temp.clone(), f)),
                Err(e) => {
                    finish(&server, Err(e));
                    continue;
                }
            }
        }
        let Some((_, f)) = file.as_mut() else {
            continue;
        };
        match step {
            BgSaveStep::Continue(bytes) => {
                if let Err(e) = f.write_all(&bytes) {
                    file = None;
                    finish(&server, Err(e));
                } else if bytes.is_empty() {
                    std::thread::yield_now();
                }
            }
            BgSaveStep::Finished(bytes) => {
                let result = f
                    .write_all(&bytes)
                    .and_then(|_| f.sync_all())
                    .and_then(|_| std::fs::rename(&temp, &final_path))
                    .and_then(|_| {
                        let dir = final_path
                            .parent()
                            .filter(|p| !p.as_os_str().is_empty())
                            .unwrap_or(std::path::Path::new("."));
                        File::open(dir)?.sync_all()
                    });
                file = None;
                finish(&server, result);
            }
            BgSaveStep::Failed(e) => {
                file = None;
                finish(&server, Err(e));
            }
        }
    }
}

/// One step of a diskless full sync: the bytes go to every replica's task
/// (waiting for the slowest, so nothing piles up here), then the end mark.
fn stream_to_replicas(
    server: &Server,
    step: BgSaveStep,
    targets: &[tokio::sync::mpsc::Sender<SyncMsg>],
) {
    let send_all = |bytes: Vec<u8>| -> bool {
        if bytes.is_empty() {
            return true;
        }
        let bytes = bytes::Bytes::from(bytes);
        let mut delivered = false;
        for t in targets {
            delivered |= t.blocking_send(SyncMsg::Data(bytes.clone())).is_ok();
        }
        delivered
    };
    match step {
        BgSaveStep::Continue(bytes) => {
            let empty = bytes.is_empty();
            if !send_all(bytes) {
                finish(server, Err(std::io::Error::other("all replicas are gone")));
            } else if empty {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        BgSaveStep::Finished(bytes) => {
            send_all(bytes);
            for t in targets {
                let _ = t.blocking_send(SyncMsg::End);
            }
            finish(server, Ok(()));
        }
        BgSaveStep::Failed(e) => finish(server, Err(e)),
    }
}

/// `appendfsync everysec`: make the last second of appends durable, without
/// holding the state lock during the fsync.
fn fsync_aof_everysec(server: &Server) {
    let handle = {
        let state = server.state.lock();
        if state.config.appendfsync != redust_config::AppendFsync::Everysec {
            return;
        }
        state.aof.file.as_ref().and_then(|a| a.incr_handle().ok())
    };
    if let Some(f) = handle {
        use std::sync::atomic::Ordering;
        // Redis logs only when the status goes from OK to failing.
        let failing = &server.signals.fsync_failing;
        match f.sync_data() {
            Err(e) if !matches!(e.raw_os_error(), Some(libc::EBADF) | Some(libc::EINVAL)) => {
                if !failing.swap(true, Ordering::Relaxed) {
                    warning!(
                        "Fail to fsync the AOF file: {}",
                        redust_config::values::strerror(&e)
                    );
                }
            }
            _ => failing.store(false, Ordering::Relaxed),
        }
    }
}

fn finish(server: &Server, result: std::io::Result<()>) {
    let mut state = server.state.lock();
    state.now_ms = now_ms();
    persist::bgsave_done(&mut state, result);
}

/// Starts a background save when a `save <seconds> <changes>` rule is met.
fn maybe_start_by_rule(state: &mut redust_engine::State) {
    if state.dirty == 0 || state.config.save.is_empty() {
        return;
    }
    if !state.rdb.last_save_ok && state.now_ms - state.rdb.last_bgsave_failed_ms < RETRY_DELAY_MS {
        return;
    }
    let elapsed_secs = state.now_ms / 1000 - state.rdb.last_save_secs;
    let due = state
        .config
        .save
        .iter()
        .find(|(secs, changes)| state.dirty >= *changes as u64 && elapsed_secs >= *secs);
    if let Some(&(secs, changes)) = due {
        notice!("{changes} changes in {secs} seconds. Saving...");
        if let Err(e) = persist::bgsave_start(state) {
            warning!(
                "Can't save in background: fork: {}",
                redust_config::values::strerror(&e)
            );
        }
    }
}
