// Retrieval by family over a labelled set of embeddings: every image queries all the others
// (leave one out) and scores the share of its k nearest by cosine that are of its family.

/** One labelled embedding; vectors need not be unit length. */
export interface LabelledVector {
  label: string;
  vector: readonly number[];
}

/** Precision@k averaged over all queries, and per label. */
export interface RetrievalScore {
  precisionAtK: number;
  k: number;
  perLabel: Record<string, number>;
}

/** Leave-one-out precision@k of cosine nearest neighbours. */
export function precisionAtK(items: readonly LabelledVector[], k: number): RetrievalScore {
  const units = items.map((item) => unit(item.vector));
  const perLabelSums = new Map<string, { sum: number; count: number }>();
  let total = 0;

  for (const [i, query] of units.entries()) {
    const ranked = units
      .map((other, j) => ({ j, similarity: j === i ? -Infinity : dot(query, other) }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, k);
    const label = (items[i] as LabelledVector).label;
    const hits = ranked.filter((r) => (items[r.j] as LabelledVector).label === label).length;
    total += hits / k;
    const entry = perLabelSums.get(label) ?? { sum: 0, count: 0 };
    entry.sum += hits / k;
    entry.count++;
    perLabelSums.set(label, entry);
  }

  const perLabel: Record<string, number> = {};
  for (const [label, { sum, count }] of perLabelSums) perLabel[label] = sum / count;
  return { precisionAtK: items.length === 0 ? 0 : total / items.length, k, perLabel };
}

function unit(vector: readonly number[]): number[] {
  const norm = Math.sqrt(vector.reduce((a, b) => a + b * b, 0)) || 1;
  return vector.map((v) => v / norm);
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
