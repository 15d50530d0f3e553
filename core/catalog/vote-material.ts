import type { CatalogNeighbour } from './nearest-items.ts';

/**
 * How sharply closer neighbours outvote farther ones: each votes with
 * exp((similarity - best) / temperature). kai-texture-net's cosine similarities crowd near 1,
 * so a plain similarity weight would make every neighbour count alike.
 */
export const VOTE_TEMPERATURE = 0.02;

/** One class's share of the vote. */
export interface ClassVote {
  materialClass: string;
  /** Its share of the total weight, in [0, 1]. */
  share: number;
  neighbours: number;
  /** The highest similarity among its neighbours. */
  bestSimilarity: number;
}

/** The outcome of a vote: the winning class, its share as the confidence, and every class. */
export interface MaterialVote {
  materialClass: string;
  confidence: number;
  votes: ClassVote[];
}

/**
 * Similarity-weighted vote of `neighbours` for their material class. Ties go to the class with
 * the nearest neighbour. Undefined when there is no neighbour to vote.
 */
export function voteMaterialClass(
  neighbours: readonly CatalogNeighbour[],
): MaterialVote | undefined {
  if (neighbours.length === 0) return undefined;
  const best = Math.max(...neighbours.map((n) => n.similarity));

  const tally = new Map<string, { weight: number; count: number; best: number }>();
  let total = 0;
  for (const neighbour of neighbours) {
    const weight = Math.exp((neighbour.similarity - best) / VOTE_TEMPERATURE);
    const entry = tally.get(neighbour.materialClass) ?? { weight: 0, count: 0, best: -1 };
    entry.weight += weight;
    entry.count++;
    entry.best = Math.max(entry.best, neighbour.similarity);
    tally.set(neighbour.materialClass, entry);
    total += weight;
  }

  const votes = [...tally.entries()]
    .map(([materialClass, entry]) => ({
      materialClass,
      share: entry.weight / total,
      neighbours: entry.count,
      bestSimilarity: entry.best,
    }))
    .sort((a, b) => b.share - a.share || b.bestSimilarity - a.bestSimilarity);
  const winner = votes[0] as ClassVote;
  return { materialClass: winner.materialClass, confidence: winner.share, votes };
}
