import type { Api } from "./api";

/** What a page needs from the app. */
export interface Context {
  api: Api;
  /** The signed-in operator's staff id (the token's `sub`), recorded with every change. */
  staff(): string;
  navigate(hash: string): void;
}

export function playerHref(playerId: string): string {
  return `#/players/${encodeURIComponent(playerId)}`;
}
