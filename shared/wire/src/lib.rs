//! Decoders of outside input, and nothing else: integration signatures, player tokens and
//! their issuers' key sets, page cursors, queue messages and stream records. Pure (no I/O,
//! no AWS client, no Lambda runtime), so each is fuzzed on its own (`fuzz/`, `./dev fuzz`).
//! Request bodies are read by `ledger::api::parse_json`, fuzzed the same way.

pub mod cursor;
pub mod jwks;
pub mod queue;
pub mod signature;
pub mod stream;
pub mod token;
