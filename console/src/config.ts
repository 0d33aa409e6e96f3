// The console's runtime configuration, /config.json beside index.html: written at deploy time
// (the identity provider) or served by the local console server ({"auth": "dev"}).

export interface OidcConfig {
  auth: "oidc";
  authority: string;
  client_id: string;
  scope: string;
  redirect_uri?: string;
}
export interface DevConfig {
  auth: "dev";
}
export type Config = OidcConfig | DevConfig;

export class ConfigError extends Error {}

export function parseConfig(value: unknown): Config {
  if (value === null || typeof value !== "object") throw new ConfigError("config.json must hold a JSON object");
  const config = value as Record<string, unknown>;
  if (config.auth === "dev") return { auth: "dev" };
  if (config.auth !== "oidc") throw new ConfigError('config.json: "auth" must be "oidc" or "dev"');
  for (const field of ["authority", "client_id"] as const) {
    if (typeof config[field] !== "string" || config[field] === "") {
      throw new ConfigError(`config.json: "${field}" is required with "auth": "oidc"`);
    }
  }
  const scope = typeof config.scope === "string" && config.scope ? config.scope : "openid stakeline/ops";
  const parsed: OidcConfig = {
    auth: "oidc",
    authority: config.authority as string,
    client_id: config.client_id as string,
    scope,
  };
  if (typeof config.redirect_uri === "string" && config.redirect_uri) parsed.redirect_uri = config.redirect_uri;
  return parsed;
}

export async function loadConfig(fetchFn: typeof fetch = fetch): Promise<Config> {
  const response = await fetchFn("/config.json", { cache: "no-store", headers: { Accept: "application/json" } });
  if (!response.ok) throw new ConfigError(`/config.json answered ${response.status}`);
  let value: unknown;
  try {
    value = await response.json();
  } catch {
    throw new ConfigError("/config.json is not JSON");
  }
  return parseConfig(value);
}
