/** The flags `swamp server` and `swamp up` share: each stands for an environment variable and overrides it. */
export const SERVER_FLAG_OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  home: { type: "string" },
  "public-reads": { type: "boolean", default: false },
} as const;

export interface ServerFlagValues {
  port?: string;
  host?: string;
  home?: string;
  "public-reads"?: boolean;
}

/** A copy of `env` with the given flags in place of PORT, HOST, SWAMP_HOME and SWAMP_PUBLIC_READS. */
export function environmentWithServerFlags(env: NodeJS.ProcessEnv, values: ServerFlagValues): NodeJS.ProcessEnv {
  const result = { ...env };
  if (values.port !== undefined) result.PORT = values.port;
  if (values.host !== undefined) result.HOST = values.host;
  if (values.home !== undefined) result.SWAMP_HOME = values.home;
  if (values["public-reads"]) result.SWAMP_PUBLIC_READS = "true";
  return result;
}
