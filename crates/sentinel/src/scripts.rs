//! The user scripts a Sentinel runs, without processes: which action asks
//! for which script (`script_for`: a WARNING event of a master with a
//! `notification-script` runs `<path> <type> <message>`; a failover seen
//! as leader or observer runs the `client-reconfig-script` as `<path>
//! <master> leader|observer start <from-ip> <from-port> <to-ip>
//! <to-port>`), and the queue Redis 7.0 keeps of them (`ScriptQueue`): at
//! most 256 entries (the oldest one not running goes when a new one
//! would overflow it), at most 16 running; exit 0 is done, exit 1 or a
//! signal is retried after `script-retry-delay`, doubled at each attempt,
//! for 10 attempts in all; anything else is `-script-error <path>
//! <signal> <exit>`; a run longer than `script-max-runtime` is
//! `-script-timeout <path> <pid>` and gets killed (then retried, as it
//! died by a signal). SENTINEL PENDING-SCRIPTS lists the queue.
//!
//! The shell does the rest: every tick it starts what `start_due` hands
//! it, reports each start (`started`) and exit (`exited`), kills what
//! `timed_out` lists, and logs and publishes the events these return.
//! Time comes in as an argument (ms, as Redis's `mstime`).

use crate::monitor::{Action, Monitor};
use crate::node::{event_level, EventLevel};
use std::collections::VecDeque;

/// Scripts kept queued at most (running ones included).
pub const MAX_QUEUE: usize = 256;
/// Scripts running at once at most.
pub const MAX_RUNNING: usize = 16;
/// Attempts at most for a script that keeps failing with exit 1 or a signal.
pub const MAX_ATTEMPTS: u32 = 10;

/// The argv (the path first) of the script `action` asks for, if any: the
/// master's `notification-script` for a WARNING event of that master, its
/// `client-reconfig-script` for a client reconfiguration.
pub fn script_for(monitor: &Monitor, action: &Action) -> Option<Vec<String>> {
    match action {
        Action::Event {
            name,
            detail,
            master: Some(master),
        } if event_level(name) == EventLevel::Warning => {
            let path = monitor
                .masters
                .get(*master)?
                .config
                .notification_script
                .clone()?;
            Some(vec![path, name.to_string(), detail.clone()])
        }
        Action::ClientReconfig {
            master,
            role,
            from,
            to,
        } => {
            let m = monitor.masters.get(*master)?;
            let path = m.config.client_reconfig_script.clone()?;
            Some(vec![
                path,
                m.config.name.clone(),
                role.name().to_string(),
                "start".to_string(),
                from.0.clone(),
                from.1.to_string(),
                to.0.clone(),
                to.1.to_string(),
            ])
        }
        _ => None,
    }
}

/// A queued script's handle, for `started`.
pub type JobId = u64;

/// How a script's process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

/// Why a script could not be started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnFailure {
    /// No process could be made (Redis's failed fork: `-script-error
    /// <path> 99 0`, and it is tried again on the next tick).
    Fork,
    /// The process could not run the path (Redis's child exits with 2
    /// then: `-script-error <path> 0 2`, not retried).
    Exec,
}

/// A script to start now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launch {
    pub id: JobId,
    /// The path, then the arguments.
    pub argv: Vec<String>,
}

/// One entry of SENTINEL PENDING-SCRIPTS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub argv: Vec<String>,
    pub running: bool,
    /// 0 when not running.
    pub pid: u32,
    /// Running: for how long (`run-time`); scheduled: how long until it may
    /// start (`run-delay`, 0 when it may start now). Milliseconds.
    pub ms: i64,
    /// Attempts made so far.
    pub retry_num: u32,
}

/// An event the queue reports: (name, text), as Sentinel logs and
/// publishes it (`+script-child`/`-script-child` are DEBUG events).
pub type ScriptEvent = (&'static str, String);

#[derive(Clone, Debug)]
struct Job {
    id: JobId,
    argv: Vec<String>,
    running: bool,
    retry_num: u32,
    /// Running: when it started. Scheduled: not before then (0: at once).
    start_time: i64,
    pid: u32,
    /// The time limit's kill was asked for this run (one `-script-timeout`).
    killed: bool,
}

/// The scripts scheduled and running, in order of scheduling.
#[derive(Debug, Default)]
pub struct ScriptQueue {
    jobs: VecDeque<Job>,
    running: usize,
    next_id: JobId,
}

impl ScriptQueue {
    /// Queues `argv` to run as soon as possible; a full queue drops its
    /// oldest entry that is not running.
    pub fn schedule(&mut self, argv: Vec<String>) {
        self.next_id += 1;
        self.jobs.push_back(Job {
            id: self.next_id,
            argv,
            running: false,
            retry_num: 0,
            start_time: 0,
            pid: 0,
            killed: false,
        });
        if self.jobs.len() > MAX_QUEUE {
            if let Some(i) = self.jobs.iter().position(|j| !j.running) {
                self.jobs.remove(i);
            }
        }
    }

    /// The scripts to start now, in queue order, as long as fewer than
    /// `MAX_RUNNING` run; each counts as running (and as one more attempt)
    /// from now. The shell reports each through `started`.
    pub fn start_due(&mut self, now: i64) -> Vec<Launch> {
        let mut out = Vec::new();
        for job in self.jobs.iter_mut() {
            if self.running >= MAX_RUNNING {
                break;
            }
            if job.running || (job.start_time != 0 && job.start_time > now) {
                continue;
            }
            job.running = true;
            job.killed = false;
            job.start_time = now;
            job.retry_num += 1;
            self.running += 1;
            out.push(Launch {
                id: job.id,
                argv: job.argv.clone(),
            });
        }
        out
    }

    /// The shell started job `id` as process `pid`, or could not.
    pub fn started(
        &mut self,
        id: JobId,
        result: Result<u32, SpawnFailure>,
        now: i64,
        retry_delay: i64,
    ) -> Vec<ScriptEvent> {
        let Some(job) = self.jobs.iter_mut().find(|j| j.id == id && j.running) else {
            return Vec::new();
        };
        match result {
            Ok(pid) => {
                job.pid = pid;
                vec![("+script-child", pid.to_string())]
            }
            Err(SpawnFailure::Fork) => {
                job.running = false;
                job.pid = 0;
                self.running -= 1;
                vec![("-script-error", format!("{} 99 0", job.argv[0]))]
            }
            Err(SpawnFailure::Exec) => {
                let index = self.jobs.iter().position(|j| j.id == id).unwrap_or(0);
                self.finish(index, Exit::Code(2), now, retry_delay)
            }
        }
    }

    /// Process `pid` ended: retried later (exit 1 or a signal, attempts
    /// left), or done, with `-script-error` unless it exited with 0.
    pub fn exited(&mut self, pid: u32, exit: Exit, now: i64, retry_delay: i64) -> Vec<ScriptEvent> {
        let (code, signal) = match exit {
            Exit::Code(c) => (c, 0),
            Exit::Signal(s) => (0, s),
        };
        let mut out = vec![("-script-child", format!("{pid} {code} {signal}"))];
        if let Some(index) = self
            .jobs
            .iter()
            .position(|j| j.running && j.pid == pid && pid != 0)
        {
            out.extend(self.finish(index, exit, now, retry_delay));
        }
        out
    }

    fn finish(&mut self, index: usize, exit: Exit, now: i64, retry_delay: i64) -> Vec<ScriptEvent> {
        self.running -= 1;
        let job = &mut self.jobs[index];
        let (code, signal) = match exit {
            Exit::Code(c) => (c, 0),
            Exit::Signal(s) => (0, s),
        };
        if (signal != 0 || code == 1) && job.retry_num < MAX_ATTEMPTS {
            job.running = false;
            job.pid = 0;
            job.start_time = now + retry_delay_of(retry_delay, job.retry_num);
            return Vec::new();
        }
        let mut out = Vec::new();
        if signal != 0 || code != 0 {
            out.push(("-script-error", format!("{} {signal} {code}", job.argv[0])));
        }
        self.jobs.remove(index);
        out
    }

    /// The processes running longer than `max_runtime`, to kill now, and
    /// their `-script-timeout` events (once per run).
    pub fn timed_out(&mut self, now: i64, max_runtime: i64) -> (Vec<u32>, Vec<ScriptEvent>) {
        let mut pids = Vec::new();
        let mut events = Vec::new();
        for job in self.jobs.iter_mut() {
            if job.running && job.pid != 0 && !job.killed && now - job.start_time > max_runtime {
                job.killed = true;
                pids.push(job.pid);
                events.push(("-script-timeout", format!("{} {}", job.argv[0], job.pid)));
            }
        }
        (pids, events)
    }

    /// SENTINEL PENDING-SCRIPTS: every entry, in queue order.
    pub fn pending(&self, now: i64) -> Vec<Pending> {
        self.jobs
            .iter()
            .map(|j| Pending {
                argv: j.argv.clone(),
                running: j.running,
                pid: j.pid,
                ms: if j.running {
                    now - j.start_time
                } else if j.start_time == 0 {
                    0
                } else {
                    (j.start_time - now).max(0)
                },
                retry_num: j.retry_num,
            })
            .collect()
    }

    /// How many run now (INFO's `sentinel_running_scripts`).
    pub fn running(&self) -> usize {
        self.running
    }

    /// How many are queued, running ones included
    /// (`sentinel_scripts_queue_length`).
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

/// The wait before the next attempt after `attempts` attempts: the base
/// delay, doubled for each attempt past the first.
fn retry_delay_of(base: i64, attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(40);
    base.saturating_mul(1i64 << doublings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{ReconfigRole, Target};
    use crate::testkit;

    const DELAY: i64 = 30_000;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn names(events: &[ScriptEvent]) -> Vec<&'static str> {
        events.iter().map(|(n, _)| *n).collect()
    }

    /// Schedules one script and starts it as `pid` at `now`.
    fn one_running(q: &mut ScriptQueue, pid: u32, now: i64) -> JobId {
        q.schedule(argv(&["/s.sh", "a"]));
        let launch = q.start_due(now);
        assert_eq!(launch.len(), 1);
        q.started(launch[0].id, Ok(pid), now, DELAY);
        launch[0].id
    }

    #[test]
    fn warning_events_of_a_master_run_its_notification_script() {
        let mut m = testkit::monitor(
            "monitor mymaster 127.0.0.1 6379 2\nnotification-script mymaster /n.sh\n\
             client-reconfig-script mymaster /r.sh",
            0,
        );
        let event = |name, master| Action::Event {
            name,
            detail: "master mymaster 127.0.0.1 6379".into(),
            master,
        };
        assert_eq!(
            script_for(&m, &event("+sdown", Some(0))),
            Some(argv(&["/n.sh", "+sdown", "master mymaster 127.0.0.1 6379"]))
        );
        // Not a WARNING event, or tied to no master: nothing.
        assert_eq!(script_for(&m, &event("+slave", Some(0))), None);
        assert_eq!(script_for(&m, &event("+tilt", None)), None);
        let reconfig = Action::ClientReconfig {
            master: 0,
            role: ReconfigRole::Leader,
            from: ("127.0.0.1".into(), 6379),
            to: ("127.0.0.1".into(), 6380),
        };
        assert_eq!(
            script_for(&m, &reconfig),
            Some(argv(&[
                "/r.sh",
                "mymaster",
                "leader",
                "start",
                "127.0.0.1",
                "6379",
                "127.0.0.1",
                "6380"
            ]))
        );
        let send = Action::Send {
            master: 0,
            target: Target::Master,
            command: argv(&["PING"]),
        };
        assert_eq!(script_for(&m, &send), None);
        m.masters[0].config.notification_script = None;
        assert_eq!(script_for(&m, &event("+sdown", Some(0))), None);
    }

    #[test]
    fn exit_zero_is_done_and_exit_one_is_retried_with_a_doubling_delay() {
        let mut q = ScriptQueue::default();
        one_running(&mut q, 100, 1000);
        assert_eq!((q.running(), q.len()), (1, 1));
        let events = q.exited(100, Exit::Code(0), 1500, DELAY);
        assert_eq!(names(&events), ["-script-child"]);
        assert_eq!(events[0].1, "100 0 0");
        assert!(q.is_empty());
        assert_eq!(q.running(), 0);

        one_running(&mut q, 101, 2000);
        assert_eq!(
            names(&q.exited(101, Exit::Code(1), 2100, DELAY)),
            ["-script-child"]
        );
        assert_eq!(
            q.pending(2100),
            [Pending {
                argv: argv(&["/s.sh", "a"]),
                running: false,
                pid: 0,
                ms: DELAY,
                retry_num: 1
            }]
        );
        // Not before the delay; then the second attempt, and 60 s after it.
        assert!(q.start_due(2100 + DELAY - 1).is_empty());
        let l = q.start_due(2100 + DELAY);
        q.started(l[0].id, Ok(102), 2100 + DELAY, DELAY);
        assert_eq!(q.pending(2200 + DELAY)[0].ms, 100, "run-time");
        q.exited(102, Exit::Signal(9), 3000 + DELAY, DELAY);
        assert_eq!(q.pending(3000 + DELAY)[0].ms, 2 * DELAY);
        assert_eq!(q.pending(3000 + DELAY)[0].retry_num, 2);
    }

    #[test]
    fn ten_attempts_at_most_then_an_error() {
        let mut q = ScriptQueue::default();
        q.schedule(argv(&["/s.sh"]));
        let mut now = 0;
        for attempt in 1..=MAX_ATTEMPTS {
            let l = q.start_due(now);
            assert_eq!(l.len(), 1, "attempt {attempt}");
            q.started(l[0].id, Ok(attempt), now, DELAY);
            let events = q.exited(attempt, Exit::Code(1), now, DELAY);
            if attempt < MAX_ATTEMPTS {
                assert_eq!(names(&events), ["-script-child"]);
                now += DELAY << (attempt - 1);
            } else {
                assert_eq!(names(&events), ["-script-child", "-script-error"]);
                assert_eq!(events[1].1, "/s.sh 0 1");
            }
        }
        assert!(q.is_empty());
    }

    #[test]
    fn other_exit_codes_and_exec_failures_are_errors_without_retry() {
        let mut q = ScriptQueue::default();
        one_running(&mut q, 7, 0);
        let events = q.exited(7, Exit::Code(3), 10, DELAY);
        assert_eq!(events[1], ("-script-error", "/s.sh 0 3".to_string()));
        assert!(q.is_empty());
        // A path that cannot be executed: exit 2.
        q.schedule(argv(&["/nope"]));
        let l = q.start_due(20);
        let events = q.started(l[0].id, Err(SpawnFailure::Exec), 20, DELAY);
        assert_eq!(events, [("-script-error", "/nope 0 2".to_string())]);
        assert!(q.is_empty() && q.running() == 0);
        // No process at all: reported, and tried again on the next tick.
        q.schedule(argv(&["/s.sh"]));
        let l = q.start_due(30);
        let events = q.started(l[0].id, Err(SpawnFailure::Fork), 30, DELAY);
        assert_eq!(events, [("-script-error", "/s.sh 99 0".to_string())]);
        assert_eq!(q.running(), 0);
        let l = q.start_due(130);
        assert_eq!(l.len(), 1);
        assert_eq!(q.pending(130)[0].retry_num, 2);
    }

    #[test]
    fn a_script_over_its_time_is_killed_once_and_retried() {
        let mut q = ScriptQueue::default();
        one_running(&mut q, 55, 1000);
        assert_eq!(q.timed_out(61_000, 60_000), (vec![], vec![]));
        let (pids, events) = q.timed_out(61_001, 60_000);
        assert_eq!(pids, [55]);
        assert_eq!(events, [("-script-timeout", "/s.sh 55".to_string())]);
        assert_eq!(q.timed_out(61_101, 60_000).0, Vec::<u32>::new());
        // The kill ends it by a signal: retried.
        let events = q.exited(55, Exit::Signal(9), 61_150, DELAY);
        assert_eq!(events, [("-script-child", "55 0 9".to_string())]);
        assert_eq!(q.pending(61_150)[0].ms, DELAY);
    }

    #[test]
    fn sixteen_run_at_once_and_the_queue_keeps_256() {
        let mut q = ScriptQueue::default();
        for i in 0..20 {
            q.schedule(argv(&["/s.sh", &i.to_string()]));
        }
        let l = q.start_due(0);
        assert_eq!(l.len(), MAX_RUNNING);
        for (n, launch) in l.iter().enumerate() {
            q.started(launch.id, Ok(n as u32 + 1), 0, DELAY);
        }
        assert!(q.start_due(0).is_empty(), "sixteen already run");
        q.exited(1, Exit::Code(0), 5, DELAY);
        let next = q.start_due(5);
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].argv[1], "16");
        q.started(next[0].id, Ok(17), 5, DELAY);
        // Full: a new entry pushes out the oldest one not running.
        for i in 20..(MAX_QUEUE + 4) {
            q.schedule(argv(&["/s.sh", &i.to_string()]));
        }
        assert_eq!(q.len(), MAX_QUEUE);
        let pending = q.pending(5);
        let kept: Vec<&str> = pending.iter().map(|p| p.argv[1].as_str()).collect();
        assert!(!kept.contains(&"17") && !kept.contains(&"18") && !kept.contains(&"19"));
        assert!(kept.contains(&"20") && kept.contains(&"16") && kept.contains(&"1"));
        assert_eq!(pending.iter().filter(|p| p.running).count(), MAX_RUNNING);
    }

    #[test]
    fn an_unknown_pid_changes_nothing() {
        let mut q = ScriptQueue::default();
        one_running(&mut q, 9, 0);
        assert_eq!(
            names(&q.exited(10, Exit::Code(0), 1, DELAY)),
            ["-script-child"]
        );
        assert_eq!((q.running(), q.len()), (1, 1));
    }
}
