/** A hash or address shown short, in full on hover and to assistive technology, with a copy button. */
import { useState } from 'preact/hooks';
import { shortHex } from '../format.js';

export function Hash({ value, copy = false }: { value: string; copy?: boolean }) {
  const [copied, setCopied] = useState(false);
  return (
    <span class="hash">
      <code title={value} aria-label={value}>
        {shortHex(value)}
      </code>
      {copy && (
        <button
          type="button"
          class="copy outline secondary"
          aria-label={`copy ${value}`}
          onClick={() =>
            void navigator.clipboard?.writeText(value).then(() => {
              setCopied(true);
              setTimeout(() => setCopied(false), 1200);
            })
          }
        >
          {copied ? 'copied' : 'copy'}
        </button>
      )}
    </span>
  );
}
