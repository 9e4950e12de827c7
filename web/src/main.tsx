import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { TokenPrompt } from "./components/token-prompt.tsx";
import { href, route, type ViewName } from "./router.ts";
import { authProblem, notice, token } from "./store.ts";
import "./styles.css";
import { ExperimentView } from "./views/experiment/experiment-view.tsx";
import { ExperimentsView } from "./views/experiments/experiments-view.tsx";
import { FrontierView } from "./views/frontier/frontier-view.tsx";
import { WorkersView } from "./views/workers/workers-view.tsx";

const NAV: Array<[ViewName, string, string]> = [
  ["experiments", "Experiments", "experiments"],
  ["frontier", "Frontier", "frontier"],
  ["workers", "Workers", "workers"],
];

function App() {
  const current = route.value;
  const [askToken, setAskToken] = useState(false);
  useEffect(() => {
    document.title = `swamp · ${current.view === "experiment" ? "experiment" : current.view}`;
  }, [current.view]);
  const message = notice.value;
  useEffect(() => {
    if (!message) return;
    const timer = setTimeout(() => (notice.value = null), 6_000);
    return () => clearTimeout(timer);
  }, [message]);
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={href("experiments")}>
          swamp
        </a>
        <nav aria-label="Views">
          {NAV.map(([view, label, path]) => (
            <a href={href(path)} aria-current={current.view === view || (view === "experiments" && current.view === "experiment") ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="spacer" />
        <a href="/explorer" class="muted-link">
          GraphQL explorer
        </a>
        <button class="token-button" onClick={() => setAskToken(true)} data-testid="token-button">
          {token.value ? "Token ✓" : "Set token"}
        </button>
      </header>
      {message && (
        <div class={`notice notice-${message.kind}`} role="status" data-testid="notice">
          {message.text}
          <button class="link-button" aria-label="Dismiss" onClick={() => (notice.value = null)}>
            ×
          </button>
        </div>
      )}
      <main id="main" key={`${token.value}`}>
        {current.view === "experiments" && <ExperimentsView />}
        {current.view === "experiment" && current.id && <ExperimentView id={current.id} />}
        {current.view === "frontier" && <FrontierView />}
        {current.view === "workers" && <WorkersView />}
      </main>
      {(authProblem.value || askToken) && <TokenPrompt onClose={authProblem.value ? undefined : () => setAskToken(false)} />}
    </>
  );
}

render(<App />, document.getElementById("app")!);
