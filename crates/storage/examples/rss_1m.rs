//! Inserts 1,000,000 realistic sessions into a MemoryStore and prints the process's resident
//! memory before and after, and the cost per session.
//!
//! Run it optimised, as the server would be: `cargo run --release -p tiny-opentok-storage
//! --example rss_1m`. Linux only (reads `/proc/self/status`).

use std::error::Error;
use std::net::Ipv4Addr;

use tiny_opentok_domain::{ApiKey, ArchiveMode, MediaMode, Session, SessionId, SessionOptions};
use tiny_opentok_storage::{MemoryStore, SessionStore};

const SESSIONS: u64 = 1_000_000;
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A field of `/proc/self/status` in KiB, such as `VmRSS` (resident now) or `VmHWM` (peak).
fn status_kib(field: &str) -> Result<u64, Box<dyn Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .ok_or_else(|| format!("no {field} in /proc/self/status"))?;
    let kib = line.trim().trim_end_matches("kB").trim().parse()?;
    Ok(kib)
}

/// A well-mixed 64-bit value per index (SplitMix64), so ids look random and never repeat.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Session `n`: an id shaped like OpenTok's (80 characters), options and creation time varying.
fn session(key: &ApiKey, n: u64) -> Result<Session, Box<dyn Error>> {
    // Three mixed words give 30 base64 characters (60 bits each); `main` checks none collide.
    let random: String = (0..3)
        .flat_map(|part| {
            let bits = mix(n * 3 + part);
            (0..10).map(move |i| char::from(BASE64[((bits >> (6 * i)) & 63) as usize]))
        })
        .collect();
    let created_ms = 1_739_538_894_959 + n;
    let id = SessionId::encode(key, None, created_ms, &random)?;
    let (media, location) = match n % 4 {
        0 => (MediaMode::Relayed, None),
        1 => (MediaMode::Routed, Some(Ipv4Addr::from(n as u32))),
        _ => (MediaMode::Routed, None),
    };
    let options = SessionOptions::new(media, ArchiveMode::Manual, location, n % 8 == 1)?;
    Ok(Session {
        id,
        options,
        created_at: created_ms / 1000,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let key = ApiKey::parse("47665971")?;
    let sample = session(&key, 0)?;
    let store = MemoryStore::new();
    let before = status_kib("VmRSS")?;

    let mut id_bytes = 0;
    runtime.block_on(async {
        for n in 0..SESSIONS {
            let s = session(&key, n)?;
            id_bytes += s.id.as_str().len() as u64;
            store.insert(s).await?;
        }
        Ok::<_, Box<dyn Error>>(())
    })?;

    let after = status_kib("VmRSS")?;
    let peak = status_kib("VmHWM")?;
    let count = runtime.block_on(store.count())?;
    let found = runtime.block_on(store.get(&sample.id))?;
    // A colliding id would have failed its insert above; this catches lost ones.
    if count as u64 != SESSIONS || found.as_ref() != Some(&sample) {
        return Err(format!("store holds {count} sessions; sample found: {found:?}").into());
    }
    let per_session = (after - before) as f64 * 1024.0 / SESSIONS as f64;
    println!("sessions:          {count}");
    println!(
        "mean id length:    {:.1} chars",
        id_bytes as f64 / SESSIONS as f64
    );
    println!("VmRSS before:      {:.1} MiB", before as f64 / 1024.0);
    println!("VmRSS after:       {:.1} MiB", after as f64 / 1024.0);
    println!("VmHWM (peak):      {:.1} MiB", peak as f64 / 1024.0);
    println!(
        "store growth:      {:.1} MiB",
        (after - before) as f64 / 1024.0
    );
    println!("per session:       {per_session:.0} bytes");
    Ok(())
}
