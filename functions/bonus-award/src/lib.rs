//! `bonus-award`: the bonus engine's consumer. EventBridge routes `DepositCompleted` events
//! with `first_deposit` to the bonus queue; this function takes them in batches and awards
//! every configured campaign the event triggers — at most once per player and campaign
//! (a conditional write), however often the event arrives. A message that cannot be read
//! or applied is reported alone (`batchItemFailures`) and ends in the dead-letter queue.

use edge::State;
use lambda_http::aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use ledger::bonus::{parse_campaigns, Campaign, Trigger, TriggeringDeposit};
use ledger::events::{EventKind, WalletEvent};
use ledger::WalletError;

pub struct Awarder {
    pub state: State,
    pub campaigns: Vec<Campaign>,
}

impl Awarder {
    /// The wallet state and the campaigns (`BONUS_CAMPAIGNS`), once per cold start.
    pub async fn from_env() -> Result<Awarder, lambda_http::Error> {
        let state = State::from_env(edge::Needs::default()).await?;
        let json = std::env::var("BONUS_CAMPAIGNS")
            .map_err(|_| "environment variable BONUS_CAMPAIGNS is required")?;
        let campaigns =
            parse_campaigns(&json).map_err(|why| format!("BONUS_CAMPAIGNS is invalid: {why}"))?;
        Ok(Awarder { state, campaigns })
    }
}

/// Awards what one event triggers; the number of campaigns awarded.
pub async fn apply(awarder: &Awarder, event: &WalletEvent) -> Result<usize, WalletError> {
    let EventKind::DepositCompleted {
        deposit_id,
        amount,
        currency,
        first_deposit,
        ..
    } = &event.kind
    else {
        return Ok(0);
    };
    let trigger = TriggeringDeposit {
        event_id: event.event_id.clone(),
        deposit_id: deposit_id.clone(),
        amount: *amount,
        currency: currency.clone(),
    };
    let mut awarded = 0;
    for campaign in &awarder.campaigns {
        let triggered = match campaign.trigger {
            Trigger::FirstDeposit => *first_deposit,
        };
        if !triggered {
            continue;
        }
        let state = &awarder.state;
        let applied = store::bonus::award_bonus(
            &state.store,
            &event.player_id,
            campaign,
            &trigger,
            &event.correlation_id,
            || state.clock.now(),
        )
        .await
        .map_err(|failed| failed.error)?;
        match &applied.outcome {
            Some(grant) if grant.declined.is_some() => {
                // The reason (an exclusion) is responsible-gambling data: it stays in the
                // table, not in the logs.
                tracing::info!(campaign_id = %campaign.campaign_id, "bonus declined")
            }
            Some(_) if !applied.replayed => awarded += 1,
            _ => {}
        }
    }
    Ok(awarded)
}

pub async fn handle_batch(awarder: &Awarder, event: SqsEvent) -> SqsBatchResponse {
    edge::batch::each_message("bonus-award", event, |message, _| async move {
        let event = wire::queue::delivered_event(message.body.as_deref().unwrap_or_default())?;
        let awarded = apply(awarder, &event).await?;
        Ok(format!("{}: {awarded} awarded", event.event_id))
    })
    .await
}
