//! Run-resume (issues 4 and 14): from starting `cairn run --resume NAME -p PROMPT` to
//! the first byte of its request reaching the provider, for the 100 MB-history session
//! against the 1 MB one, and the peak RSS of the whole process: with an OpenAI model
//! (counted with the o200k BPE when a count is needed) and with a model that needs
//! no BPE.
//!
//! The provider is [`FakeProvider`], an OpenAI-compatible endpoint on 127.0.0.1
//! (see [`MODEL`] for why not the sessions' own Anthropic model) that notes when a
//! request's first byte arrives; the figure is that instant minus the instant just before
//! spawning. `cairn run` appends to the session and takes its lease, so every run
//! starts from a fresh copy of the dataset's home (copied before the clock starts).
//! Big and small runs alternate, as in `resume.rs`.

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use super::{Bench, MS_PER_SECOND, copy_dir, process_measurement};
use crate::datasets::{Dataset, Manifest};
use crate::fake_provider::{FakeProvider, REPORTED_INPUT_TOKENS, ReceivedRequest};
use crate::process::{ProcessRun, ProcessSpec, run_once};
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;

pub(crate) const FIRST_BYTE_LIMIT_MS: f64 = 25.0;
pub(crate) const RATIO_LIMIT: f64 = 1.2;
/// Whole `cairn run` process with one short answer, o200k model (issue 14).
const RSS_LIMIT_MB: f64 = 40.0;
/// The same with a model that needs no BPE.
const NO_BPE_RSS_LIMIT_MB: f64 = 25.0;

/// How long a request that cairn got the answer to may take to be noted by the
/// provider's thread (it is noted after answering).
const ANSWERED_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// In every request the prompt carries it, so the harness knows the request it
/// timed is the turn's own (and that the whole history went with it).
const MARKER: &str = "bench-marker-7f3a";

/// A model whose window (1M tokens) holds the 1 MB live context below its pressure
/// level, so the turn's request is sent as it is (with the sessions' own
/// `anthropic:claude-sonnet-4-5`, 200k tokens, cairn compresses first). Its counter is
/// o200k, so the exact count a resume makes is inside the measured time.
const MODEL: &str = "openai:gpt-4.1";

/// A model counted with the bytes heuristic (no BPE tables), on the same
/// OpenAI-compatible wire, whose window (1M tokens) also holds the live context.
const NO_BPE_MODEL: &str = "openrouter:google/gemini-2.5-flash";

struct Side<'a> {
    dataset: Dataset,
    manifest: &'a Manifest,
    model: &'static str,
    first_byte_ms: Vec<f64>,
    runs: Vec<ProcessRun>,
    requests: Vec<ReceivedRequest>,
    spec: Option<ProcessSpec>,
}

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let big = bench.datasets.ensure(Dataset::Resume100mb)?;
    let small = bench.datasets.ensure(Dataset::Resume1mb)?;
    let provider = FakeProvider::start(MARKER)?;
    let mut sides = [
        Side::new(Dataset::Resume100mb, &big, MODEL),
        Side::new(Dataset::Resume1mb, &small, MODEL),
        Side::new(Dataset::Resume100mb, &big, NO_BPE_MODEL),
    ];
    for round in 0..bench.warmup + bench.runs {
        let measured = round >= bench.warmup;
        for side in &mut sides {
            let (run, request, spec) =
                one_run(bench, &provider, side.dataset, side.manifest, side.model)?;
            if measured {
                let ms = request.first_byte.saturating_duration_since(run.started);
                side.first_byte_ms.push(ms.as_secs_f64() * MS_PER_SECOND);
                side.runs.push(run);
                side.requests.push(request);
            }
            side.spec = Some(spec);
        }
    }
    let mut out = Vec::new();
    let mut medians = Vec::new();
    for side in &sides {
        let label = side.label();
        let value = Summary::of(&side.first_byte_ms).context("no runs were measured (--runs 0)")?;
        medians.push(value.median);
        let sent = |f: fn(&ReceivedRequest) -> f64| {
            Summary::of(&side.requests.iter().map(f).collect::<Vec<_>>()).map(|s| s.median)
        };
        out.push(Measurement {
            id: format!("run_resume.first_byte.{}", side.id()),
            title: format!("run --resume: start → first byte at provider, {label}"),
            command: side.spec.as_ref().map(ProcessSpec::display),
            unit: Unit::Milliseconds,
            targets: vec![Target::below(
                format!("< {FIRST_BYTE_LIMIT_MS} ms"),
                value.median,
                FIRST_BYTE_LIMIT_MS,
            )],
            value,
            peak_rss_mb: None,
            cpu_ms: None,
            headline: true,
            details: json!({
                "history_mb": side.manifest.stats.jsonl_bytes as f64 / 1e6,
                "events": side.manifest.stats.events,
                "live_events": side.manifest.stats.live_events,
                "request_body_mb": sent(|r| r.body_bytes as f64 / 1e6),
                "request_messages": sent(|r| r.messages as f64),
                "request_transfer_ms": sent(|r| {
                    r.complete.saturating_duration_since(r.first_byte).as_secs_f64() * MS_PER_SECOND
                }),
                "home_copied_per_run": true,
            }),
        });
    }
    // Both sides with the OpenAI model.
    let ratio = medians[0] / medians[1];
    out.push(Measurement {
        id: "run_resume.ratio".into(),
        title: "run --resume: first byte, 100 MB median / 1 MB median".into(),
        command: None,
        unit: Unit::Ratio,
        value: Summary::single(ratio),
        peak_rss_mb: None,
        cpu_ms: None,
        targets: vec![Target::at_most(
            format!("≤ {RATIO_LIMIT}×"),
            ratio,
            RATIO_LIMIT,
        )],
        headline: true,
        details: json!({}),
    });
    // The whole process, answer included: one turn, one request.
    for side in &sides {
        let Some(spec) = &side.spec else { continue };
        let limit = if side.model == NO_BPE_MODEL {
            NO_BPE_RSS_LIMIT_MB
        } else {
            RSS_LIMIT_MB
        };
        out.push(process_measurement(
            &format!("run_resume.process.{}", side.id()),
            &format!("run --resume: whole process, {}", side.label()),
            spec,
            &side.runs,
            |_, rss| {
                vec![Target::at_most(
                    format!("≤ {limit} MB peak RSS (median)"),
                    rss.median,
                    limit,
                )]
            },
            false,
            json!({ "reported_input_tokens": REPORTED_INPUT_TOKENS }),
        )?);
    }
    Ok(out)
}

impl<'a> Side<'a> {
    fn new(dataset: Dataset, manifest: &'a Manifest, model: &'static str) -> Self {
        Side {
            dataset,
            manifest,
            model,
            first_byte_ms: Vec::new(),
            runs: Vec::new(),
            requests: Vec::new(),
            spec: None,
        }
    }

    fn label(&self) -> String {
        format!(
            "{:.0} MB history, {}",
            (self.manifest.stats.jsonl_bytes as f64 / 1e6).max(1.0),
            self.model
        )
    }

    /// `resume-100mb`, with the model's when it is not the main one.
    fn id(&self) -> String {
        match self.model {
            MODEL => self.dataset.dir_name().to_owned(),
            _ => format!("{}.no-bpe", self.dataset.dir_name()),
        }
    }
}

/// One `cairn run --resume` in a fresh copy of the dataset's home, and the request
/// it sent.
fn one_run(
    bench: &Bench,
    provider: &FakeProvider,
    dataset: Dataset,
    manifest: &Manifest,
    model: &str,
) -> Result<(ProcessRun, ReceivedRequest, ProcessSpec)> {
    let name = manifest
        .session_name
        .clone()
        .context("the dataset has no session name")?;
    let scratch = bench.datasets.scratch()?;
    let home = scratch.path().join("home");
    copy_dir(&bench.datasets.home(dataset), &home)?;
    let prompt = format!("{MARKER}: what did we agree yesterday? Continue.");
    let spec = bench
        .cairn(
            &home,
            &["run", "--resume", &name, "-m", model, "-p", &prompt],
        )?
        .with_env(cairn_core::env_vars::OPENAI_API_KEY, "bench-key")
        .with_env(
            cairn_core::env_vars::OPENAI_BASE_URL,
            &format!("{}/v1", provider.base_url()),
        )
        .with_env(cairn_core::env_vars::OPENROUTER_API_KEY, "bench-key")
        .with_env(
            cairn_core::env_vars::OPENROUTER_BASE_URL,
            &format!("{}/v1", provider.base_url()),
        )
        .with_env(cairn_core::env_vars::NO_COLOR, "1");
    // Left over from an earlier run that failed half-way: not this run's.
    provider.take();
    let run = run_once(&spec)?;
    let requests = provider.take_answered(ANSWERED_WAIT);
    let Some(request) = requests.into_iter().next() else {
        bail!("`{}` exited without sending a request", spec.display());
    };
    if let Some(error) = &request.error {
        bail!("the request of `{}` was malformed: {error}", spec.display());
    }
    if !request.has_marker {
        bail!(
            "the first request of `{}` ({}, {} messages, {} bytes) does not carry the prompt",
            spec.display(),
            request.request_line,
            request.messages,
            request.body_bytes
        );
    }
    Ok((run, request, spec))
}
