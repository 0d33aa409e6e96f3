// The token's payload, decoded for display only (who is signed in). The API verifies tokens;
// the console never trusts these claims for anything else.

export interface Claims {
  sub?: string;
  exp?: number;
  scope?: string;
}

export function decodeClaims(token: string): Claims {
  const parts = token.split(".");
  if (parts.length !== 3) return {};
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return claims !== null && typeof claims === "object" ? (claims as Claims) : {};
  } catch {
    return {};
  }
}
