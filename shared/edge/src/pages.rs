//! Pages read the same way by the player and by operators: the ledger, newest first,
//! cursor-paged (`limit`, `cursor`).

use crate::http::{json, parse_limit, query_param, unknown_query_params};
use lambda_http::{Body, Request, Response};
use ledger::api::{EntriesPage, EntryView};
use ledger::{PlayerId, WalletError};
use store::Store;
use wire::cursor::{decode_cursor, encode_cursor};

/// The request's `limit` and the entry sequence its `cursor` points below; no other query
/// parameter is accepted.
pub fn page_query(request: &Request) -> Result<(usize, Option<u64>), WalletError> {
    unknown_query_params(request, &["limit", "cursor"])?;
    let limit = parse_limit(query_param(request, "limit").as_deref())
        .map_err(|e| WalletError::Validation(vec![e]))?;
    let before = query_param(request, "cursor")
        .map(|c| decode_cursor(&c))
        .transpose()
        .map_err(|e| WalletError::Validation(vec![e]))?;
    Ok((limit, before))
}

/// A page of `player`'s ledger with running balances; 404 when there is no such player.
pub async fn ledger_page(
    store: &Store,
    player: &PlayerId,
    request: &Request,
) -> Result<Response<Body>, WalletError> {
    let (limit, before) = page_query(request)?;
    let (account, page) = tokio::join!(
        store.account(player),
        store.entries_page(player, limit, before)
    );
    if account?.is_none() {
        return Err(WalletError::PlayerNotFound(player.to_string()));
    }
    let (entries, more) = page?;
    let next_cursor = match (more, entries.last()) {
        (true, Some(last)) => Some(encode_cursor(last.seq)),
        _ => None,
    };
    Ok(json(
        200,
        &EntriesPage {
            items: entries.iter().map(EntryView::of).collect(),
            next_cursor,
        },
    ))
}
