//! Compression of a live context (ARCHITECTURE.md "compaction"), with no knowledge of
//! models, terminals or storage. The agent drives it:
//!
//! 1. [`measure::ContextMeasure`] sizes the live context event by event (kept current
//!    after each turn, so planning never recounts);
//! 2. [`triggers`] decides whether a pressure level is reached, [`hints`] whether to
//!    show a one-line hint;
//! 3. [`plan`] picks the prefix to replace and the verbatim tail to keep;
//! 4. [`prompt`] builds the summarization request for the compressor model;
//! 5. [`summary`] checks the model's structured answer and builds the compaction;
//! 6. [`fallback`] builds an extractive compaction when the model cannot.
//!
//! The replaced events stay in the log (invariant 2): a compaction only records the
//! range it stands for.

pub mod fallback;
pub mod hints;
pub mod measure;
pub mod plan;
pub mod prompt;
pub mod summary;
pub mod transcript;
pub mod triggers;

pub use fallback::{FallbackOutcome, extractive_fallback};
pub use hints::{Hint, HintState, next_hint};
pub use measure::ContextMeasure;
pub use plan::{CompressionPlan, NoPlan, plan_all, plan_to_target};
pub use prompt::{PromptLimits, SummaryRequest, summary_request};
pub use summary::{CompactionDraft, StructuredSummary, SummaryRejected, check_summary};
pub use triggers::{PressureHit, effective_levels, manual_target, pressure};
