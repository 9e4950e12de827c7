import { useState } from "preact/hooks";
import { authProblem, setToken, token } from "../store.ts";

/** Asks for the bearer token when the server refused a request for want of one (or on demand). */
export function TokenPrompt({ onClose }: { onClose?: () => void }) {
  const [value, setValue] = useState("");
  const reason = authProblem.value;
  return (
    <div class="dialog-backdrop" role="dialog" aria-modal="true" aria-labelledby="token-title">
      <form
        class="dialog"
        data-testid="token-prompt"
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value);
          onClose?.();
        }}
      >
        <h2 id="token-title">{reason ? "This server needs an API token" : "API token"}</h2>
        {reason && (
          <p class="error-text" role="alert">
            {token.value ? "The saved token was refused" : "No token is saved in this browser"}: {reason}
          </p>
        )}
        <p>
          Paste the token that <code>swamp up</code> or <code>swamp server</code> printed at start (<code>token: swamp_…</code>), or one made with{" "}
          <code>createApiToken</code>. It is kept in this browser only and sent as <code>Authorization: Bearer …</code>.
        </p>
        <label>
          Token
          <input type="password" autoFocus autoComplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder="swamp_…" />
        </label>
        <div class="dialog-actions">
          {token.value && (
            <button
              type="button"
              onClick={() => {
                setToken("");
                onClose?.();
              }}
            >
              Forget saved token
            </button>
          )}
          {onClose && !reason && (
            <button type="button" onClick={onClose}>
              Close
            </button>
          )}
          <button type="submit" class="primary" disabled={!value.trim()}>
            Save token
          </button>
        </div>
      </form>
    </div>
  );
}
