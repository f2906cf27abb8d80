/** A version's mean rating (1 to 5 stars, from the ModelRegistry), spelled out for screen readers. */
import type { Rating } from '../licence.js';

export function Stars({ rating }: { rating: Rating }) {
  const mean = rating.mean ?? 0;
  return (
    <span aria-label={`rated ${mean.toFixed(1)} of 5 by ${rating.count}`}>
      <span aria-hidden="true" class="stars">
        {'★'.repeat(Math.round(mean))}
        {'☆'.repeat(5 - Math.round(mean))}
      </span>{' '}
      {mean.toFixed(1)} ({rating.count})
    </span>
  );
}
