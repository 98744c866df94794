//! Interleaved medians: every case runs a short batch in turn, round after
//! round, so that a burst of load from elsewhere on the machine falls on all
//! cases alike and the ratios between them hold on a noisy machine.
//!
//! Batches are timed with the thread's CPU clock, which does not run while
//! another process has the core, and kept well under a scheduler time slice,
//! so that most batches run undisturbed and the median is theirs.
#![allow(dead_code)]

use std::time::Duration;

/// The calling thread's CPU time.
#[derive(Clone, Copy)]
struct CpuInstant(Duration);

impl CpuInstant {
    fn now() -> Self {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "CLOCK_THREAD_CPUTIME_ID");
        Self(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    fn elapsed(self) -> Duration {
        Self::now().0.saturating_sub(self.0)
    }
}

/// A named piece of work to time.
pub struct Case<'a> {
    /// A short id for criterion (`ecdsa/floor`).
    pub id: String,
    /// The row label.
    pub name: String,
    /// One execution.
    pub run: Box<dyn FnMut() + 'a>,
}

impl<'a> Case<'a> {
    /// A case with criterion id `id`, row label `name`, running `run`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, run: impl FnMut() + 'a) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// Whether the binary runs as a benchmark (`cargo bench` passes `--bench`)
/// rather than as a quick test (`cargo test --all-targets`, or criterion's
/// `--test`), a listing, or under a profiler (`--profile-time`, which runs the
/// selected criterion cases only).
pub fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--test" || a == "--list" || a == "--profile-time")
}

/// Whether to print the interleaved table: not under a profiler, which wants
/// only the criterion cases it selected.
pub fn table_wanted() -> bool {
    !std::env::args().any(|a| a == "--profile-time")
}

/// The median time of one execution of each case, in nanoseconds. Each
/// batch lasts about `batch`; `rounds` batches per case. With `rounds == 0`
/// every case runs once and the medians are that single time.
pub fn medians(cases: &mut [Case<'_>], rounds: usize, batch: Duration) -> Vec<f64> {
    if rounds == 0 {
        return cases
            .iter_mut()
            .map(|c| {
                let start = CpuInstant::now();
                (c.run)();
                start.elapsed().as_nanos() as f64
            })
            .collect();
    }
    let iterations: Vec<u64> = cases.iter_mut().map(|c| calibrate(&mut c.run, batch)).collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); cases.len()];
    // Each round runs the cases in a new order. A case pays for the caches
    // and predictors the case before it left behind (up to 8% of a P-256
    // verification here), so a fixed order, even one started at another case
    // each round, would charge one case always for the same neighbour.
    let mut order: Vec<usize> = (0..cases.len()).collect();
    let mut shuffle = Shuffle(0x9e37_79b9_7f4a_7c15);
    for _ in 0..rounds {
        shuffle.apply(&mut order);
        for &i in &order {
            let start = CpuInstant::now();
            for _ in 0..iterations[i] {
                (cases[i].run)();
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / iterations[i] as f64);
        }
    }
    samples.into_iter().map(median).collect()
}

/// A fixed-seed xorshift generator: the same orders on every run.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }

    /// Fisher–Yates.
    fn apply(&mut self, items: &mut [usize]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.next(i + 1));
        }
    }
}

fn calibrate(run: &mut dyn FnMut(), batch: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let start = CpuInstant::now();
        for _ in 0..n {
            run();
        }
        let took = start.elapsed();
        if took >= batch / 4 || n >= 1 << 24 {
            let per = took.as_nanos().max(1) as f64 / n as f64;
            return ((batch.as_nanos() as f64 / per) as u64).max(1);
        }
        n *= 4;
    }
}

/// How the table's figures were taken, for its heading.
pub fn method(rounds: usize) -> String {
    if rounds == 0 {
        "each case once: a check that it runs, not a measurement".into()
    } else {
        format!("medians of {rounds} interleaved rounds, thread CPU time")
    }
}

/// The median of some samples.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Nanoseconds as the table shows them: µs with a precision that fits.
pub fn micros(ns: f64) -> String {
    let us = ns / 1000.0;
    if us >= 100.0 {
        format!("{us:.1} µs")
    } else if us >= 1.0 {
        format!("{us:.2} µs")
    } else {
        format!("{us:.3} µs")
    }
}

/// The machine's state, for the record beside the figures.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    format!("{cpu}, {cores} cores, load average {load}")
}
