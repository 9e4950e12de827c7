import { effect, signal } from "@preact/signals";

const TOKEN_KEY = "swamp.token";

function storedToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

/** The bearer token pasted once; kept in localStorage. */
export const token = signal(storedToken());
/** Why the server refused the last request for want of a (valid) token; null when it did not. */
export const authProblem = signal<string | null>(null);
/** A short message about the last action (created, cancelled, a failure). */
export const notice = signal<{ text: string; kind: "info" | "error" } | null>(null);

effect(() => {
  try {
    if (token.value) localStorage.setItem(TOKEN_KEY, token.value);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lasts for this page only
  }
});

export function setToken(value: string): void {
  token.value = value.trim().replace(/^Bearer\s+/i, "");
  authProblem.value = null;
}

export function say(text: string, kind: "info" | "error" = "info"): void {
  notice.value = { text, kind };
}
