//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! Queued commands run back to back inside EXEC under the state lock, so no
//! other client's command interleaves. WATCH is optimistic locking: any change
//! to a watched key (a write, an expiry, a flush, a SWAPDB) puts the watcher in
//! `dirty_cas`, and its next EXEC answers with a null array.

use crate::acl;
use crate::errors::{self, CmdResult};
use crate::exec::{self, Ctx};
use crate::notify::unwatch_all;
use crate::state::{Client, State, Watcher};
use bytes::Bytes;

pub fn multi(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(errors::NESTED_MULTI.into());
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    ctx.reply.ok();
    Ok(())
}

pub fn discard(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(errors::DISCARD_WITHOUT_MULTI.into());
    }
    ctx.client.multi_error = false;
    unwatch_all(ctx.state, ctx.client);
    ctx.reply.ok();
    Ok(())
}

/// True if a key watched while it was alive has expired since.
fn watched_key_expired(state: &State, client: &Client) -> bool {
    client.watched.iter().any(|(db, key)| {
        let expired_at_watch = state
            .watch
            .watched_keys
            .get(db)
            .and_then(|keys| keys.get(key))
            .and_then(|ws| ws.iter().find(|w| w.client == client.id))
            .is_some_and(|w| w.expired);
        !expired_at_watch && state.dbs[*db].is_expired(key, state.now_ms)
    })
}

pub fn exec(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let Some(queue) = ctx.client.multi.take() else {
        return Err(errors::EXEC_WITHOUT_MULTI.into());
    };
    if std::mem::take(&mut ctx.client.multi_error) {
        unwatch_all(ctx.state, ctx.client);
        return Err(errors::EXECABORT.into());
    }
    if ctx.state.watch.dirty_cas.contains(&ctx.client.id)
        || watched_key_expired(ctx.state, ctx.client)
    {
        unwatch_all(ctx.state, ctx.client);
        ctx.reply.null_array();
        return Ok(());
    }
    // Run without watches, so our own writes don't mark us dirty mid-way.
    unwatch_all(ctx.state, ctx.client);
    let table = ctx.state.commands.clone();
    ctx.client.exec_queue_len = Some(queue.len());
    ctx.reply.array(queue.len());
    for args in &queue {
        match exec::resolve(&table, args) {
            Ok(command) => {
                // Rules may have changed since the command was queued.
                let user = ctx.client.user.clone();
                match acl::check(ctx.state, user.as_deref(), command, args) {
                    Ok(()) => exec::call(ctx, command, args),
                    Err(denied) => {
                        acl::log_refusal(
                            ctx.state,
                            ctx.client,
                            denied,
                            redust_acl::LogContext::Multi,
                            command,
                            args,
                        );
                        let text = acl::refusal_at_exec(denied);
                        ctx.state.stats.count_error(&text);
                        ctx.reply.error(&text);
                    }
                }
            }
            Err(e) => {
                ctx.state.stats.count_error(&e.0);
                ctx.reply.error(&e.0);
            }
        }
    }
    ctx.client.exec_queue_len = None;
    // The changes replay as one transaction: `exec::execute` wraps what a
    // top-level command propagated when there is more than one change.
    Ok(())
}

pub fn watch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(errors::WATCH_IN_MULTI.into());
    }
    let db = ctx.client.db;
    let now = ctx.state.now_ms;
    for key in &args[1..] {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k)| *d == db && k[..] == key[..])
        {
            continue;
        }
        let expired = ctx.state.dbs[db].is_expired(key, now);
        ctx.client.watched.push((db, key.to_vec()));
        ctx.state
            .watch
            .watched_keys
            .entry(db)
            .or_default()
            .entry(key.to_vec())
            .or_default()
            .push(Watcher {
                client: ctx.client.id,
                expired,
            });
    }
    ctx.reply.ok();
    Ok(())
}

pub fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.state, ctx.client);
    ctx.reply.ok();
    Ok(())
}
