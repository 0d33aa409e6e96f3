// The /ops API's shapes (see openapi.yaml). Amounts are integer minor units: a number, or a
// string of digits when beyond 2^53 (json.ts).

export type Minor = number | string;

export interface Player {
  player_id: string;
  email: string;
  currency: string;
  country: string;
  date_of_birth: string;
  display_name: string | null;
  status: "active" | "excluded" | "disabled" | string;
  created_at: string;
}

export interface Wallet {
  player_id: string;
  currency: string;
  cash: Minor;
  bonus: Minor;
  wagering_remaining: Minor;
  pending_withdrawal: Minor;
  updated_at: string;
}

export interface OpsWithdrawal {
  player_id?: string;
  withdrawal_id: string;
  amount: Minor;
  currency: string;
  destination: { kind: string; reference: string };
  status: string;
  review_reasons: string[];
  bonus_forfeited?: unknown;
  created_at: string;
  decided_at?: string | null;
  decided_by?: string | null;
  decision_reason?: string | null;
  provider_reference?: string | null;
  failure_reason?: string | null;
}

export interface WithdrawalResult extends OpsWithdrawal {
  wallet: Wallet;
}

export interface RiskFlag {
  reason: string;
  withdrawal_id: string;
  requested_at: string;
}

export interface OperatorAction {
  action_id: string;
  kind: "withdrawal_decision" | "status_change" | string;
  operator: string;
  at: string;
  reason: string;
  withdrawal_id?: string;
  decision?: string;
  previous_status?: string;
  status?: string;
}

export interface PlayerDetail {
  account: Player;
  wallet: Wallet;
  open_withdrawals: OpsWithdrawal[];
  risk_flags: RiskFlag[];
  actions: OperatorAction[];
}

export interface LedgerEntry {
  entry_id: string;
  kind: string;
  amount: Minor;
  cash_amount: Minor;
  bonus_amount: Minor;
  cash_after: Minor;
  bonus_after: Minor;
  pending_withdrawal_amount?: Minor;
  pending_withdrawal_after?: Minor;
  reference: string;
  created_at: string;
}

export interface Bet {
  bet_id: string;
  player_id: string;
  round_id: string;
  game_id: string;
  amount: Minor;
  currency: string;
  status: string;
  cash_stake: Minor;
  bonus_stake: Minor;
  placed_at: string;
  settlement: null | {
    settlement_id: string;
    kind: string;
    amount?: Minor;
    cash_credit: Minor;
    bonus_credit: Minor;
    settled_at: string;
  };
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface AuditReport {
  clean: boolean;
  accounts: number;
  entries: number;
  deposits: number;
  bets: number;
  settlements: number;
  findings: { invariant: number; detail: string }[];
  audited_at: string;
}

export interface QueueState {
  queue: string;
  depth: number;
  in_flight: number;
  redrivable: boolean;
  delivers_to: string | null;
  note: string;
}

export interface RedriveResult {
  queue: string;
  moved: number;
  left: number;
  action: { action_id: string; operator: string; at: string; reason: string };
}
