/**
 * A small line diff (longest common subsequence) for Edit/Write cards.
 */

export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

/** Split text into lines (a trailing newline does not add an empty line). */
export function splitLines(text: string): string[] {
  if (!text) {
    return [];
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

/**
 * Diff two texts line by line. Inputs above `limit` lines on both sides fall
 * back to "all removed, all added" to bound the quadratic table.
 */
export function diffLines(before: string, after: string, limit = 2000): DiffLine[] {
  const a = splitLines(before);
  const b = splitLines(after);
  if (a.length * b.length > limit * limit) {
    return [...a.map(text => ({ op: '-' as const, text })), ...b.map(text => ({ op: '+' as const, text }))];
  }
  // Trim the common prefix and suffix first: edits are usually small.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) {
    start++;
  }
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  const table: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] = midA[i] === midB[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const out: DiffLine[] = a.slice(0, start).map(text => ({ op: ' ' as const, text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && midA[i] === midB[j]) {
      out.push({ op: ' ', text: midA[i] });
      i++;
      j++;
    } else if (j < m && (i >= n || table[i][j + 1] >= table[i + 1][j])) {
      out.push({ op: '+', text: midB[j] });
      j++;
    } else {
      out.push({ op: '-', text: midA[i] });
      i++;
    }
  }
  for (const text of a.slice(endA)) {
    out.push({ op: ' ', text });
  }
  return out;
}

/** Keep only changed lines and `context` unchanged lines around them. */
export function compactDiff(lines: DiffLine[], context = 3): (DiffLine | { op: '…'; text: string })[] {
  const keep = new Array<boolean>(lines.length).fill(false);
  lines.forEach((line, index) => {
    if (line.op !== ' ') {
      for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k++) {
        keep[k] = true;
      }
    }
  });
  const out: (DiffLine | { op: '…'; text: string })[] = [];
  let skipped = 0;
  lines.forEach((line, index) => {
    if (keep[index]) {
      if (skipped) {
        out.push({ op: '…', text: `${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
        skipped = 0;
      }
      out.push(line);
    } else {
      skipped++;
    }
  });
  if (skipped) {
    out.push({ op: '…', text: `${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
  }
  return out;
}
