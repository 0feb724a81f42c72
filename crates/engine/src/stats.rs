//! Counters behind INFO stats, commandstats and errorstats.

/// Per-command counters (INFO commandstats, latencystats).
#[derive(Clone, Debug, Default)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    pub latency: LatencyHistogram,
}

/// A log-linear histogram of durations in microseconds: exact below 16 µs,
/// then 16 buckets per power of two (about 6% resolution), like an HDR
/// histogram with low precision. Used for INFO latencystats percentiles.
#[derive(Clone, Debug, Default)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
}

const SUB_BUCKETS: u64 = 16;
/// The longest duration a histogram tells apart (1 s, as Redis).
const MAX_TRACKED_US: u64 = 1_000_000;

impl LatencyHistogram {
    fn index(us: u64) -> usize {
        if us < SUB_BUCKETS {
            return us as usize;
        }
        let exp = 63 - us.leading_zeros() as u64; // >= 4
        let sub = (us >> (exp - 4)) & (SUB_BUCKETS - 1);
        ((exp - 3) * SUB_BUCKETS + sub) as usize
    }

    fn lower_bound(index: usize) -> u64 {
        let index = index as u64;
        if index < SUB_BUCKETS {
            return index;
        }
        let exp = index / SUB_BUCKETS + 3;
        let sub = index % SUB_BUCKETS;
        (SUB_BUCKETS + sub) << (exp - 4)
    }

    pub fn record(&mut self, us: u64) {
        // Like Redis's histograms, durations past one second count as one
        // second, and the buckets are allocated whole on first use, so
        // memory does not creep up as slower calls come along.
        let i = Self::index(us.clamp(1, MAX_TRACKED_US));
        if self.counts.is_empty() {
            self.counts = vec![0; Self::index(MAX_TRACKED_US) + 1];
        }
        self.counts[i] += 1;
        self.total += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The value at percentile `p` (0..=100), in microseconds.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let wanted = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= wanted {
                return Self::lower_bound(i) as f64;
            }
        }
        Self::lower_bound(self.counts.len().saturating_sub(1)) as f64
    }
}

#[derive(Debug, Default)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    pub expire_cycle_cpu_ms: u64,
    pub evicted_keys: u64,
    pub evicted_clients: u64,
    /// Values (or keys of a flushed database) Redis would have freed in its
    /// background thread (INFO `lazyfreed_objects`).
    pub lazyfreed_objects: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// By full command name ("get", "config|get").
    /// By `Command::stats_slot`: the name and counters of each command used.
    commands: Vec<Option<(String, CommandStats)>>,
    /// By error prefix ("ERR", "WRONGTYPE").
    pub errors: crate::FastMap<String, u64>,
    /// Recent samples of total_commands_processed for instantaneous_ops_per_sec.
    pub ops_samples: Vec<(i64, u64)>,
    pub net_in_samples: Vec<(i64, u64)>,
    pub net_out_samples: Vec<(i64, u64)>,
}

impl Stats {
    /// The counters of one command (`slot` is its `Command::stats_slot`),
    /// created on its first use: an index, no hashing, on every call.
    pub fn command(&mut self, slot: usize, name: &str) -> &mut CommandStats {
        if slot >= self.commands.len() {
            // Room for the whole table at once (a few hundred commands).
            self.commands
                .resize_with((slot + 1).next_power_of_two().max(512), || None);
        }
        let (_, stats) =
            self.commands[slot].get_or_insert_with(|| (name.to_string(), CommandStats::default()));
        stats
    }

    /// Every command used since the last reset, by name.
    pub fn commands_by_name(&self) -> Vec<(&str, &CommandStats)> {
        let mut all: Vec<(&str, &CommandStats)> = self
            .commands
            .iter()
            .flatten()
            .map(|(name, stats)| (name.as_str(), stats))
            .collect();
        all.sort_by_key(|(name, _)| *name);
        all
    }

    /// Counts an error reply under its prefix (the first word).
    pub fn count_error(&mut self, msg: &str) {
        self.total_error_replies += 1;
        let prefix = msg.split(' ').next().unwrap_or("ERR");
        // Like Redis, stop adding new kinds past 128 to bound the table.
        if let Some(n) = self.errors.get_mut(prefix) {
            *n += 1;
        } else if self.errors.len() < 128 {
            self.errors.insert(prefix.to_string(), 1);
        }
    }

    /// Resets what CONFIG RESETSTAT resets.
    pub fn reset(&mut self) {
        let keep_conns = 0;
        *self = Stats {
            total_connections_received: keep_conns,
            ..Default::default()
        };
    }

    /// Adds a sample for the instantaneous rates (called by the cron).
    pub fn sample_rates(&mut self, now_ms: i64) {
        fn push(v: &mut Vec<(i64, u64)>, s: (i64, u64)) {
            v.push(s);
            if v.len() > 16 {
                v.remove(0);
            }
        }
        let ops = self.total_commands_processed;
        let (i, o) = (self.net_input_bytes, self.net_output_bytes);
        push(&mut self.ops_samples, (now_ms, ops));
        push(&mut self.net_in_samples, (now_ms, i));
        push(&mut self.net_out_samples, (now_ms, o));
    }

    /// Per-second rate over the kept samples.
    pub fn rate(samples: &[(i64, u64)]) -> f64 {
        match (samples.first(), samples.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) as f64 * 1000.0 / (b.0 - a.0) as f64,
            _ => 0.0,
        }
    }
}
