//! Seeded tabular data with injected drift, for trying retrain and for benchmarks.
//!
//! cargo run --example gen-data -- --rows 100000 --partitions 10 --format parquet \
//!     --drift num_01:mean:0.5@50000 --drift concept@80000 --out data/ --prefix part

use std::path::PathBuf;

use clap::Parser;
use retrain::config::Task;
use retrain::data::synth::{self, Drift, OutputFormat, Spec};

#[derive(Parser)]
#[command(about = "Generate seeded tabular data with known drift (see src/data/synth.rs)")]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    rows: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// classification (target `label`) or regression (target `y`)
    #[arg(long, default_value = "classification")]
    task: String,
    #[arg(long, default_value_t = 5)]
    numeric: usize,
    #[arg(long, default_value_t = 2)]
    categorical: usize,
    #[arg(long, default_value_t = 5)]
    categories: usize,
    #[arg(long, default_value_t = 0.0)]
    null_fraction: f64,
    #[arg(long, default_value_t = 0.05)]
    label_noise: f64,
    /// 0: label = z > 0; above 0: drawn with probability sigmoid(z / T).
    #[arg(long, default_value_t = 0.0)]
    label_temperature: f64,
    /// Seconds between rows in the `ts` column.
    #[arg(long, default_value_t = 3600)]
    step_seconds: i64,
    /// COLUMN:mean|scale|freq:AMOUNT@ROW or concept@ROW; repeatable.
    #[arg(long)]
    drift: Vec<String>,
    #[arg(long, default_value_t = 1)]
    partitions: usize,
    /// csv or parquet
    #[arg(long, default_value = "csv")]
    format: String,
    #[arg(long, default_value = "data")]
    out: PathBuf,
    #[arg(long, default_value = "part")]
    prefix: String,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let task = match args.task.as_str() {
        "classification" => Task::Classification,
        "regression" => Task::Regression,
        other => anyhow::bail!("unknown task `{other}`"),
    };
    let format = match args.format.as_str() {
        "csv" => OutputFormat::Csv,
        "parquet" => OutputFormat::Parquet,
        other => anyhow::bail!("unknown format `{other}`"),
    };
    let drifts = args
        .drift
        .iter()
        .map(|d| d.parse::<Drift>())
        .collect::<Result<Vec<_>, _>>()?;
    let spec = Spec {
        seed: args.seed,
        rows: args.rows,
        task,
        numeric: args.numeric,
        categorical: args.categorical,
        categories: args.categories.max(1),
        null_fraction: args.null_fraction,
        label_noise: args.label_noise,
        label_temperature: args.label_temperature,
        step_seconds: args.step_seconds,
        drifts,
        ..Spec::default()
    };
    let paths = synth::write(&spec, &args.out, &args.prefix, args.partitions, format)?;
    eprintln!(
        "wrote {} file(s), {} rows, under {}",
        paths.len(),
        args.rows,
        args.out.display()
    );
    Ok(())
}
