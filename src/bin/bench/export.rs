//! The export benchmark, started from `herald-bench`:
//!
//!   herald-bench export --contacts 1000000 [--database postgres]
//!     fills a list of N contacts, then exports all of them twice: as the export job does
//!     (keyset pages into 1 MiB chunks stored in the database) and as `herald export` does
//!     (the same pages into a file). Prints rows/s, the file's size and the peak memory of
//!     the process during the exports (the fill's own peak is reset first).

use std::time::Instant;

use herald::exports::{self, Kind};

use super::audience_bench::{ListArgs, drop_database, filled};
use super::peak_rss_mb;

#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    list: ListArgs,
}

/// Resets the peak resident memory (`VmHWM`) to the current one (Linux), so what follows
/// is measured alone.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (app, team) = filled(&args.list, dir.path()).await?;
    reset_peak_rss();
    println!("rss_mb_before={:.1}", peak_rss_mb());

    // The job's path: pages into chunks stored with the export's progress.
    let export = exports::create_queued(&app, &team, Kind::Contacts, "", "bench").await?;
    let started = Instant::now();
    exports::job::process(&app, &export.id, &mut |_| {}).await?;
    let secs = started.elapsed().as_secs_f64();
    let done = exports::get(&app, &team, &export.id).await?;
    anyhow::ensure!(
        done.status == exports::READY && done.rows_done == args.list.contacts as i64,
        "the export is ready with every contact ({} {})",
        done.status,
        done.rows_done
    );
    println!(
        "job: rows={} secs={secs:.2} rows_per_s={:.0} file_mb={:.1} chunks={} peak_rss_mb={:.1}",
        done.rows_done,
        done.rows_done as f64 / secs,
        done.bytes as f64 / (1024.0 * 1024.0),
        done.chunk_count,
        peak_rss_mb()
    );

    // `herald export`'s path: the same pages into a file.
    reset_peak_rss();
    let path = dir.path().join("contacts.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let started = Instant::now();
    let rows =
        exports::job::write_to(&app, &team, Kind::Contacts, "", &mut file, &mut |_| {}).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "file: rows={rows} secs={secs:.2} rows_per_s={:.0} file_mb={:.1} peak_rss_mb={:.1}",
        rows as f64 / secs,
        std::fs::metadata(&path)?.len() as f64 / (1024.0 * 1024.0),
        peak_rss_mb()
    );
    drop_database(&app, &args.list.pg_url).await
}
