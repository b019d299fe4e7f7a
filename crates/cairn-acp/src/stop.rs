//! How a cairn turn ends, in ACP's words. ACP has five stop reasons; cairn's own
//! reason always travels with them in `_meta.cairn.stopReason`, so a client that
//! knows cairn can say exactly what happened.
//!
//! | cairn (`done`)             | ACP                 |
//! |----------------------------|---------------------|
//! | `end_turn`, `stop_sequence`, a command | `end_turn` |
//! | `max_tokens`               | `max_tokens`        |
//! | `refusal`, `refused`       | `refusal`           |
//! | `interrupted` (cancel)     | `cancelled`         |
//! | `spending_limit`, `request_limit` | `max_turn_requests` (the turn's budget ran out) |
//! | `context_too_long`         | `max_tokens` (the window is full)         |
//!
//! A provider failure (auth, network, server…) is not a stop reason: the prompt
//! fails with a JSON-RPC error carrying the engine's message.

use agent_client_protocol::v1::schema::StopReason;
use cairn_agent::Outcome;

use crate::frontend::TurnReport;

/// The ACP stop reason of a turn that ended with `outcome`, or `Err(message)` when
/// the turn failed.
pub(crate) fn stop_reason(outcome: &Outcome, report: &TurnReport) -> Result<StopReason, String> {
    let cairn = report.stop_reason.as_deref().unwrap_or("");
    match outcome {
        Outcome::Interrupted => Ok(StopReason::Cancelled),
        Outcome::Failed { kind } => Err(report
            .error
            .as_ref()
            .map(|(_, message)| message.clone())
            .unwrap_or_else(|| format!("the turn failed ({kind})"))),
        Outcome::Answered | Outcome::Command | Outcome::Exit | Outcome::Stopped { .. } => {
            Ok(match cairn {
                "max_tokens" | "context_too_long" => StopReason::MaxTokens,
                "refusal" | "refused" => StopReason::Refusal,
                "interrupted" => StopReason::Cancelled,
                "spending_limit" | "request_limit" => StopReason::MaxTurnRequests,
                _ => StopReason::EndTurn,
            })
        }
    }
}

/// The message a stopped turn shows, when the client has not seen one yet (a
/// spending limit, a context too long for the window).
pub(crate) fn stop_message(outcome: &Outcome, report: &TurnReport) -> Option<String> {
    match outcome {
        Outcome::Stopped { reason } => Some(
            report
                .error
                .as_ref()
                .map(|(_, message)| message.clone())
                .unwrap_or_else(|| match reason.as_str() {
                    "spending_limit" => "stopped: the spending limit was reached".to_owned(),
                    other => format!("stopped: {other}"),
                }),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(done: &str) -> TurnReport {
        TurnReport {
            stop_reason: Some(done.into()),
            ..TurnReport::default()
        }
    }

    #[test]
    fn reasons_map_honestly() {
        let answered = Outcome::Answered;
        assert_eq!(
            stop_reason(&answered, &report("end_turn")),
            Ok(StopReason::EndTurn)
        );
        assert_eq!(
            stop_reason(&answered, &report("max_tokens")),
            Ok(StopReason::MaxTokens)
        );
        assert_eq!(
            stop_reason(&answered, &report("refusal")),
            Ok(StopReason::Refusal)
        );
        assert_eq!(
            stop_reason(&Outcome::Interrupted, &report("interrupted")),
            Ok(StopReason::Cancelled)
        );
        let limit = Outcome::Stopped {
            reason: cairn_agent::StopCause::SpendingLimit,
        };
        assert_eq!(
            stop_reason(&limit, &report("spending_limit")),
            Ok(StopReason::MaxTurnRequests)
        );
        let failed = Outcome::Failed {
            kind: "auth".into(),
        };
        let mut failing = report("error");
        failing.error = Some(("auth".into(), "the API key was refused".into()));
        assert_eq!(
            stop_reason(&failed, &failing),
            Err("the API key was refused".into())
        );
    }
}
