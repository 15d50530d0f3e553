import {
  type Choice,
  contains,
  type ParamValues,
  type SearchSpace,
  snap,
} from '../studies/search-space.ts';

/** One neighbour's contribution to a blend: its values and how alike it is (the weight). */
export interface BlendSource {
  similarity: number;
  values: ParamValues;
}

/**
 * Blends neighbours' values into one set for `space`, weighted by similarity: numbers by
 * weighted mean (geometric on log scales), snapped to the parameter's grid and bounds;
 * categories by weighted vote, a tie going to the most similar neighbour's choice. A parameter
 * no neighbour has a legal value for takes `fallback`'s.
 */
export function blendParameters(
  space: SearchSpace,
  sources: readonly BlendSource[],
  fallback: ParamValues,
): ParamValues {
  const ordered = [...sources].sort((a, b) => b.similarity - a.similarity);
  const blended: ParamValues = {};

  for (const [name, d] of Object.entries(space)) {
    const usable = ordered.filter((s) => contains(d, s.values[name]) && s.similarity > 0);
    if (usable.length === 0) {
      blended[name] = fallback[name] ?? null;
      continue;
    }

    if (d.type === 'categorical') {
      const votes = new Map<Choice, number>();
      for (const s of usable) {
        const choice = s.values[name] as Choice;
        votes.set(choice, (votes.get(choice) ?? 0) + s.similarity);
      }
      let winner = usable[0]?.values[name] as Choice;
      for (const [choice, weight] of votes) {
        if (weight > (votes.get(winner) ?? 0)) winner = choice;
      }
      blended[name] = winner;
      continue;
    }

    const total = usable.reduce((sum, s) => sum + s.similarity, 0);
    const mean =
      usable.reduce((sum, s) => {
        const x = s.values[name] as number;
        return sum + s.similarity * (d.log ? Math.log(x) : x);
      }, 0) / total;
    blended[name] = snap(d, d.log ? Math.exp(mean) : mean);
  }
  return blended;
}
