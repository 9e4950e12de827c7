import { useMemo, useRef, useState } from "preact/hooks";
import { GraphQLFailure, request } from "../../api/graphql-client.ts";
import { navigate } from "../../router.ts";
import { say } from "../../store.ts";
import documents from "./experiments.graphql";
import { jsonValueLines, lineOfPath } from "./json-locations.ts";

const TEMPLATE = {
  name: "fmnist-lenet-swamp",
  seed: 0,
  data: { name: "fashion-mnist" },
  model: { name: "lenet-300-100" },
  method: { name: "swamp", particles: 4 },
  pruning: { rate: 0.2, cycles: 10 },
  training: { epochs: 10, lr: 0.1 },
};

const LINE_HEIGHT = 20;

interface Problem {
  path: string;
  message: string;
  line: number;
}

/**
 * A JSON editor for a config (exactly a config file's JSON) that creates the experiment; the
 * server's problems are shown at the line of the field they name.
 */
export function CreateExperiment({ initial, onClose }: { initial?: Record<string, unknown>; onClose: () => void }) {
  const [text, setText] = useState(() => JSON.stringify(initial ?? TEMPLATE, null, 2));
  const [problems, setProblems] = useState<Problem[]>([]);
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const editor = useRef<HTMLTextAreaElement>(null);
  const lineCount = useMemo(() => text.split("\n").length, [text]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setGeneral(null);
    setProblems([]);
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (error) {
      setGeneral(`not valid JSON: ${(error as Error).message}`);
      return;
    }
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      setGeneral("a config is a JSON object");
      return;
    }
    setBusy(true);
    try {
      const created = await request<{ createExperiment: { id: string; name: string } }>(documents, "CreateExperiment", { config });
      say(`created ${created.createExperiment.name}`);
      onClose();
      navigate(`#/experiments/${created.createExperiment.id}`);
    } catch (error) {
      if (error instanceof GraphQLFailure && error.problems.length > 0) {
        const lines = jsonValueLines(text);
        setProblems(error.problems.map((p) => ({ ...p, line: lineOfPath(lines, p.path) })));
        setGeneral(`the server refused the config: ${error.problems.length} problem${error.problems.length === 1 ? "" : "s"}`);
      } else setGeneral((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const goToLine = (line: number) => {
    const area = editor.current;
    if (!area) return;
    const starts = text.split("\n").slice(0, line).reduce((sum, l) => sum + l.length + 1, 0);
    area.focus();
    area.setSelectionRange(starts, starts + (text.split("\n")[line]?.length ?? 0));
  };
  const problemLines = new Set(problems.map((p) => p.line));

  return (
    <div class="dialog-backdrop" role="dialog" aria-modal="true" aria-labelledby="create-title">
      <form class="dialog dialog-wide" onSubmit={submit} onKeyDown={(e) => e.key === "Escape" && onClose()}>
        <h2 id="create-title">New experiment</h2>
        <p class="muted">
          Exactly a config file's JSON (see <code>configs/</code>); every field but <code>name</code>, <code>data.name</code>, <code>model.name</code> and <code>method.name</code> has
          a default.
        </p>
        <div class="json-editor" style={{ height: `${Math.min(22, Math.max(12, lineCount + 1)) * LINE_HEIGHT}px` }}>
          <div class="json-editor-inner" style={{ height: `${(lineCount + 1) * LINE_HEIGHT}px` }}>
            <ol class="gutter" aria-hidden="true">
              {Array.from({ length: lineCount }, (_, i) => (
                <li class={problemLines.has(i) ? "gutter-problem" : ""}>{i + 1}</li>
              ))}
            </ol>
            <textarea
              ref={editor}
              aria-label="Experiment config (JSON)"
              spellcheck={false}
              value={text}
              onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
              aria-invalid={problems.length > 0}
              aria-describedby="config-problems"
            />
            {problems.map((p) => (
              <div class="field-problem" style={{ top: `${p.line * LINE_HEIGHT}px` }} data-field-path={p.path} role="note">
                {p.path}: {p.message}
              </div>
            ))}
          </div>
        </div>
        <div id="config-problems" aria-live="polite">
          {general && <p class="error-text">{general}</p>}
          {problems.length > 0 && (
            <ul class="problem-list">
              {problems.map((p) => (
                <li>
                  <button type="button" class="link-button" onClick={() => goToLine(p.line)}>
                    line {p.line + 1}
                  </button>{" "}
                  <code>{p.path}</code>: {p.message}
                </li>
              ))}
            </ul>
          )}
        </div>
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Creating…" : "Create experiment"}
          </button>
        </div>
      </form>
    </div>
  );
}
