//! PII tokenizer throughput on one core: a 1 MB MCP tool result (text content and structured rows of log
//! lines, ids, timestamps, versions, UUIDs, numbers) with about 1 % of its bytes PII.
//!
//! `cargo bench -p mcp-gateway-shared --bench pii` (pin it with `taskset -c 0` for a one-core figure).
//! Plain `std::time` rather than criterion: one number per mode is all `BENCHMARKS.md` needs.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use shared::pii::{MemoryVaultStore, Pii, PiiConfig, VaultKey};

const TARGET_BYTES: usize = 1 << 20;
const ITERATIONS: usize = 50;

/// A small deterministic generator, so every run measures the same document.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "request",
    "completed",
    "in",
    "the",
    "user",
    "session",
    "started",
    "cache",
    "miss",
    "for",
    "key",
    "retrying",
    "backend",
    "returned",
    "status",
    "ok",
    "warning:",
    "deprecated",
    "field",
    "order",
    "shipped",
    "invoice",
    "total",
    "Überweisung",
    "geprüft",
    "résumé",
    "naïve",
    "datos",
    "enviados",
    "—",
    "✓",
    "{\"a\":1}",
    "null",
    "true",
    "id=",
];

/// Lookalikes of PII that must cost validation but not be replaced.
const NOISE: &[&str] = &[
    "2024-01-15T10:30:00Z",
    "1700000000123",
    "v2.10.4",
    "10.0.19041.1",
    "123e4567-e89b-12d3-a456-426614174000",
    "4111111111111112",
    "order #100234567",
    "12:30:45",
    "$1,234.56",
    "e3b0c44298fc1c149afbf4c8996fb924",
    "icon@2x.png",
    "std::vector",
    "2023-10-12",
    "PO 12-3456-7890",
];

const PII: &[&str] = &[
    "jane.doe@example.com",
    "+1 415 555 2671",
    "(415) 555-2671",
    "+44 20 7946 0958",
    "123-45-6789",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "203.0.113.7",
    "2001:db8:85a3::8a2e:370:7334",
    "AKIAIOSFODNN7EXAMPLE",
    "john.smith@corp.example.org",
    "5555555555554444",
    "192.168.10.20",
];

fn line(rng: &mut Lcg, pii_bytes: &mut usize, total: usize) -> String {
    let mut out = String::new();
    for _ in 0..12 + rng.next(10) {
        out.push_str(WORDS[rng.next(WORDS.len())]);
        out.push(' ');
        if rng.next(8) == 0 {
            out.push_str(NOISE[rng.next(NOISE.len())]);
            out.push(' ');
        }
    }
    // Keep PII at about 1 % of the bytes written so far.
    if *pii_bytes * 100 < total + out.len() {
        let value = PII[rng.next(PII.len())];
        *pii_bytes += value.len();
        out.push_str(value);
        out.push(' ');
    }
    out.push('\n');
    out
}

fn document() -> (Value, usize, usize) {
    let mut rng = Lcg(42);
    let (mut pii_bytes, mut total) = (0, 0);
    let mut content = Vec::new();
    let mut rows = Vec::new();
    while total < TARGET_BYTES {
        if rng.next(4) == 0 {
            let note = line(&mut rng, &mut pii_bytes, total);
            total += note.len() + 40;
            rows.push(json!({ "id": rng.next(1_000_000), "status": "shipped", "note": note }));
        } else {
            let mut text = String::new();
            for _ in 0..40 {
                let l = line(&mut rng, &mut pii_bytes, total + text.len());
                text.push_str(&l);
            }
            total += text.len() + 30;
            content.push(json!({ "type": "text", "text": text }));
        }
    }
    let value = json!({ "content": content, "structuredContent": { "rows": rows }, "isError": false });
    let bytes = serde_json::to_string(&value).map(|s| s.len()).unwrap_or(0);
    (value, bytes, pii_bytes)
}

/// On-CPU time of this thread so far (Linux schedstat, nanoseconds; stale by up to one scheduler tick, so
/// it is only read around a whole batch of runs). `None` where it is not available.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// Runs `run` on `ITERATIONS` inputs made by `prepare` beforehand (not timed). Reports MB/s by CPU time
/// over the batch — the throughput of one core, whatever else the machine runs — and by wall time.
fn measure<T>(name: &str, bytes: usize, mut prepare: impl FnMut() -> T, mut run: impl FnMut(T)) {
    for _ in 0..3 {
        run(prepare());
    }
    let inputs: Vec<T> = (0..ITERATIONS).map(|_| prepare()).collect();
    let cpu_start = cpu_time();
    let mut wall: Vec<Duration> = inputs
        .into_iter()
        .map(|input| {
            let start = Instant::now();
            run(input);
            start.elapsed()
        })
        .collect();
    let cpu = cpu_start.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a) / ITERATIONS as u32);
    wall.sort();
    let mbps = |d: Duration| bytes as f64 / (1 << 20) as f64 / d.as_secs_f64().max(1e-9);
    let cpu = cpu.map_or_else(|| "n/a".to_owned(), |d| format!("{:.1} MB/s", mbps(d)));
    println!(
        "{name:<42} cpu: {cpu:>12} | wall: median {:>6.1} MB/s, best {:>6.1} MB/s",
        mbps(wall[ITERATIONS / 2]),
        mbps(wall[0]),
    );
}

fn main() {
    let (doc, bytes, pii_bytes) = document();
    println!(
        "document: {bytes} bytes of JSON, {pii_bytes} bytes of PII ({:.2} %)",
        pii_bytes as f64 * 100.0 / bytes as f64
    );
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let config = PiiConfig::from_lookup(|_| None).expect("default config");
    let key = VaultKey::derive("benchmark-secret-0123456789abcdefghijklmnopqrstuvwxyz").expect("key");
    let built = Instant::now();
    let pii = Pii::new(config, Arc::new(MemoryVaultStore::new()), key).expect("pii");
    println!("detectors compiled in {:.1} ms (once per cold start)", built.elapsed().as_secs_f64() * 1e3);

    let mut scope = 0u64;
    let mut fresh_scope = || {
        scope += 1;
        (doc.clone(), format!("s{scope}"))
    };
    measure("tokenize, new scope (mint + seal + write)", bytes, &mut fresh_scope, |(mut value, scope)| {
        runtime.block_on(pii.tokenize(&scope, "demo", None, &mut value)).expect("tokenize");
    });
    measure(
        "tokenize, known values (load, no write)",
        bytes,
        || doc.clone(),
        |mut value| {
            runtime.block_on(pii.tokenize("warm", "demo", None, &mut value)).expect("tokenize");
        },
    );
    measure(
        "redact (scan + rewrite, no vault)",
        bytes,
        || doc.clone(),
        |mut value| {
            pii.redact("demo", None, &mut value).expect("redact");
        },
    );
    let mut tokenized = doc.clone();
    let stats = runtime.block_on(pii.tokenize("warm", "demo", None, &mut tokenized)).expect("tokenize");
    println!("replaced {} values per document", stats.replaced);
    measure(
        "detokenize (all tokens restored)",
        bytes,
        || tokenized.clone(),
        |mut value| {
            runtime.block_on(pii.detokenize("warm", &mut value)).expect("detokenize");
        },
    );
}
