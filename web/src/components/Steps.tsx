/** What an action did, step by step: each transaction's hash as it is mined, and a typed error. */
import type { Step } from '../sponsor/actions.js';
import type { Described } from '../sponsor/errors.js';
import { Hash } from './Hash.js';

export function Steps({ steps, error }: { steps: Step[]; error: Described | null }) {
  if (steps.length === 0 && !error) return null;
  return (
    <div class="steps" aria-live="polite">
      {steps.length > 0 && (
        <ol>
          {steps.map((s, i) => (
            <li key={i} class={`step-${s.state}`}>
              <span class="step-label">
                {s.state === 'running' ? <span aria-busy="true">{s.label}</span> : s.label}
                {s.state === 'skipped' && <span class="muted"> (skipped)</span>}
                {s.state === 'failed' && <span class="error"> (failed)</span>}
              </span>
              {s.tx && (
                <span class="step-tx">
                  transaction <Hash value={s.tx} copy />
                </span>
              )}
              {s.detail && <span class="muted step-detail">{s.detail}</span>}
            </li>
          ))}
        </ol>
      )}
      {error && (
        <p role="alert" class="error" data-code={error.code}>
          <strong>{error.code}</strong>: {error.message}
        </p>
      )}
    </div>
  );
}
