/** One candidate's place in a ranking. */
export interface RankedMatch {
  /** Its position in the job's list of candidates. */
  index: number;
  /** Cosine similarity of the two embeddings. */
  similarity: number;
  /** Softmax over the candidates of similarity times the logit scale, as CLIP scores. */
  probability: number;
}

/**
 * Ranks `candidates` against `query` (all unit length), best first; ties keep the candidates'
 * order. Answers the first `topK`, with probabilities computed over all of them.
 */
export function rankMatches(
  query: Float32Array,
  candidates: readonly Float32Array[],
  logitScale: number,
  topK = candidates.length,
): RankedMatch[] {
  const similarities = candidates.map((candidate) => {
    let dot = 0;
    for (let i = 0; i < query.length; i++) dot += (query[i] as number) * (candidate[i] ?? 0);
    return dot;
  });

  // Softmax with the largest logit taken out, so that exp never overflows.
  const logits = similarities.map((s) => s * logitScale);
  const top = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - top));
  const total = weights.reduce((a, b) => a + b, 0);

  return similarities
    .map((similarity, index) => ({
      index,
      similarity,
      probability: (weights[index] as number) / total,
    }))
    .sort((a, b) => b.similarity - a.similarity || a.index - b.index)
    .slice(0, topK);
}
