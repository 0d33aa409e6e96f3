// The /ops API, same origin. Every call checks the token's expiry first; a 401 ends the
// session (the operator signs in again). Errors are application/problem+json and become an
// ApiError carrying their code and detail.

import { parseJson } from "./json";
import type { Session } from "./session";
import type {
  AuditReport, Bet, LedgerEntry, OpsWithdrawal, Page, Player, PlayerDetail, QueueState,
  RedriveResult, WithdrawalResult,
} from "./types";

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly title = "",
    readonly errors: FieldError[] = [],
  ) {
    super(`${status} ${code}: ${detail}`);
    this.name = "ApiError";
  }

  /** "409 WITHDRAWAL_NOT_PENDING: withdrawal wd-1 is approved" plus each field's message. */
  describe(): string {
    const fields = this.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    return `${this.status} ${this.code}: ${this.detail}${fields ? ` (${fields})` : ""}`;
  }
}

/** The problem a response carries, or a stand-in built from whatever it holds. */
export function problemFrom(status: number, contentType: string | null, text: string): ApiError {
  if (contentType && /json/i.test(contentType)) {
    try {
      const body = parseJson(text) as Record<string, unknown>;
      if (body && typeof body === "object") {
        const code = typeof body.code === "string" ? body.code : `HTTP_${status}`;
        const title = typeof body.title === "string" ? body.title : "";
        const detail = typeof body.detail === "string" ? body.detail
          : typeof body.message === "string" ? body.message : title || `the API answered ${status}`;
        const errors = Array.isArray(body.errors)
          ? body.errors.filter((e): e is FieldError => !!e && typeof e.field === "string" && typeof e.message === "string")
          : [];
        return new ApiError(status, code, detail, title, errors);
      }
    } catch {
      // Not JSON after all: fall through to the text.
    }
  }
  const snippet = text.trim().slice(0, 200);
  return new ApiError(status, `HTTP_${status}`, snippet || `the API answered ${status} with no body`);
}

type Query = Record<string, string | number | null | undefined>;

function withQuery(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

const segment = encodeURIComponent;

export class Api {
  constructor(
    private readonly session: Session,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = this.session.current();
    if (!token) throw new ApiError(401, "UNAUTHENTICATED", "your sign-in has expired: sign in again");
    const headers: Record<string, string> = {
      Accept: "application/json, application/problem+json",
      Authorization: `Bearer ${token.accessToken}`,
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetchFn(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, "NETWORK", `the API could not be reached (${(error as Error).message})`);
    }
    const text = await response.text();
    if (!response.ok) {
      const problem = problemFrom(response.status, response.headers.get("Content-Type"), text);
      if (response.status === 401) this.session.end("unauthorized");
      throw problem;
    }
    try {
      return parseJson(text) as T;
    } catch {
      throw new ApiError(response.status, "BAD_RESPONSE", "the API answered with something that is not JSON");
    }
  }

  withdrawals(status: string, cursor?: string | null, limit = 20): Promise<Page<OpsWithdrawal & { player_id: string }>> {
    return this.request("GET", withQuery("/ops/withdrawals", { status, cursor, limit }));
  }

  decide(withdrawalId: string, decision: "approve" | "reject", reason: string): Promise<WithdrawalResult> {
    return this.request("POST", `/ops/withdrawals/${segment(withdrawalId)}/decision`, { decision, reason });
  }

  player(playerId: string): Promise<PlayerDetail> {
    return this.request("GET", `/ops/players/${segment(playerId)}`);
  }

  playersByEmail(email: string): Promise<{ items: Player[] }> {
    return this.request("GET", withQuery("/ops/players", { email }));
  }

  setStatus(playerId: string, status: "active" | "disabled", reason: string): Promise<Player> {
    return this.request("PUT", `/ops/players/${segment(playerId)}/status`, { status, reason });
  }

  transactions(playerId: string, cursor?: string | null, limit = 20): Promise<Page<LedgerEntry>> {
    return this.request("GET", withQuery(`/ops/players/${segment(playerId)}/transactions`, { cursor, limit }));
  }

  bets(playerId: string, cursor?: string | null, limit = 20): Promise<Page<Bet>> {
    return this.request("GET", withQuery(`/ops/players/${segment(playerId)}/bets`, { cursor, limit }));
  }

  playerWithdrawals(playerId: string, cursor?: string | null, limit = 20): Promise<Page<OpsWithdrawal>> {
    return this.request("GET", withQuery(`/ops/players/${segment(playerId)}/withdrawals`, { cursor, limit }));
  }

  audit(): Promise<AuditReport> {
    return this.request("POST", "/ops/audit");
  }

  queues(): Promise<{ items: QueueState[] }> {
    return this.request("GET", "/ops/queues");
  }

  redrive(queue: string, reason: string): Promise<RedriveResult> {
    return this.request("POST", `/ops/queues/${segment(queue)}/redrive`, { reason });
  }
}
