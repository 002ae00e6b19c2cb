use clap::Parser;
use tracing_subscriber::EnvFilter;

/// glibc's allocator, with buffers of 2 MiB and more on huge-page mappings of their own
/// (see the module).
#[global_allocator]
static ALLOCATOR: herald::large_buffers::LargeBuffers = herald::large_buffers::LargeBuffers;

fn main() -> anyhow::Result<()> {
    // Before any thread is started (see the function).
    herald::cli::tune_the_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if std::env::var("HERALD_LOG_JSON").is_ok_and(|v| v == "true" || v == "1") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    herald::cli::run(herald::cli::Cli::parse()).await
}
