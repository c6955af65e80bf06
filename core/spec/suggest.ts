// "Did you mean …?" for spec errors: keys, accelerators, clouds, strategies, stores, modes.
//
// Distance is the optimal-string-alignment edit distance (insert, delete, substitute, or swap two
// neighbouring characters, each costing 1), compared case-insensitively so that `Run` suggests `run`
// and `a1000` suggests `A100`. A candidate is close enough when the distance is at most a third of
// the longer word (and at least 1): `A1000`→`A100` and `gpc`→`gcp` qualify; `k8s`→`aws` does not.

/** Optimal-string-alignment distance between `a` and `b` (case-sensitive; callers fold case). */
export function editDistance(a: string, b: string): number {
  // rows[i][j] = distance between a[0..i) and b[0..j)
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push(new Array<number>(b.length + 1).fill(0));
    rows[i][0] = i;
  }
  for (let j = 0; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2][j - 2] + 1);
      }
      rows[i][j] = best;
    }
  }
  return rows[a.length][b.length];
}

function commonPrefixLength(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * The candidate nearest to `word`, or undefined when none is close enough. Ties go to the candidate
 * sharing the longest prefix with `word` (`H10` → `H100`, not `A10`), then to the one closest in
 * length (`A1O0` → `A100`, a mistyped character rather than an extra one), then to the earlier one.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const folded = word.toLowerCase();
  let best: { candidate: string; distance: number; prefix: number; lengthGap: number } | undefined;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    const distance = editDistance(folded, other);
    const limit = Math.max(1, Math.floor(Math.max(folded.length, other.length) / 3));
    if (distance > limit) continue;
    const prefix = commonPrefixLength(folded, other);
    const lengthGap = Math.abs(folded.length - other.length);
    if (
      best === undefined ||
      distance < best.distance ||
      (distance === best.distance && prefix > best.prefix) ||
      (distance === best.distance && prefix === best.prefix && lengthGap < best.lengthGap)
    ) {
      best = { candidate, distance, prefix, lengthGap };
    }
  }
  return best?.candidate;
}

/**
 * The tail of an "unknown X" message: `; did you mean A100?` when a candidate is close, else
 * `; expected one of: a, b, c` so that the user always learns what is accepted.
 */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const near = suggest(word, candidates);
  return near !== undefined ? `; did you mean ${near}?` : `; expected one of: ${candidates.join(', ')}`;
}
