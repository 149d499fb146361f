/** A unified line diff (LCS), enough for the YAML of one Kubernetes object. */

type Op = { readonly tag: ' ' | '-' | '+'; readonly line: string; readonly a: number; readonly b: number };

const linesOf = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

export function unifiedDiff(before: string, after: string, context = 3): string {
  const a = linesOf(before);
  const b = linesOf(after);
  const n = a.length;
  const m = b.length;
  // lcs[i * (m + 1) + j] = length of the LCS of a[i..] and b[j..]
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? lcs[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ tag: ' ', line: a[i++], a: i, b: ++j });
    // Removals before additions, as diff -u prints them.
    else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1])) ops.push({ tag: '-', line: a[i++], a: i, b: j });
    else ops.push({ tag: '+', line: b[j++], a: i, b: j });
  }

  const hunks: string[] = [];
  let k = 0;
  while (k < ops.length) {
    if (ops[k].tag === ' ') {
      k++;
      continue;
    }
    let start = Math.max(0, k - context);
    let end = k;
    // Extend while the next change is within 2 × context unchanged lines.
    while (end < ops.length) {
      let next = end;
      while (next < ops.length && ops[next].tag !== ' ') next++;
      let gap = next;
      while (gap < ops.length && ops[gap].tag === ' ') gap++;
      if (gap < ops.length && gap - next <= 2 * context) end = gap;
      else {
        end = Math.min(ops.length, next + context);
        break;
      }
    }
    const slice = ops.slice(start, end);
    const aStart = slice.find((o) => o.tag !== '+')?.a ?? (ops[start - 1]?.a ?? 0);
    const bStart = slice.find((o) => o.tag !== '-')?.b ?? (ops[start - 1]?.b ?? 0);
    const aLen = slice.filter((o) => o.tag !== '+').length;
    const bLen = slice.filter((o) => o.tag !== '-').length;
    hunks.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`, ...slice.map((o) => `${o.tag}${o.line}`));
    start = end;
    k = end;
  }
  return hunks.join('\n');
}
