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

/**
 * The outcome of a vote: the winning class (null when its share is below `minConfidence`),
 * the class that led either way, its share as the confidence, and every class.
 */
export interface MaterialVote {
  /** The winner, or null when no class won at least `minConfidence` of the vote. */
  materialClass: string | null;
  /** The class with the largest share, confident or not. */
  bestClass: string;
  confidence: number;
  /** True when `confidence` reaches `minConfidence`. */
  confident: boolean;
  votes: ClassVote[];
}

/** How neighbours vote; every field has a default. */
export interface VoteOptions {
  /**
   * `similarity_weighted`: each neighbour weighs exp((similarity - best) / temperature);
   * `majority`: one vote each, `temperature` unused. @default 'similarity_weighted'
   */
  vote?: 'majority' | 'similarity_weighted' | undefined;
  /** In cosine similarity units. @default VOTE_TEMPERATURE */
  temperature?: number | undefined;
  /** The winner's share must reach this for a confident answer. @default 0 */
  minConfidence?: number | undefined;
}

/**
 * Vote of `neighbours` for their material class, weighted by similarity or one each. Ties go
 * to the class with the nearest neighbour. Undefined when there is no neighbour to vote.
 */
export function voteMaterialClass(
  neighbours: readonly CatalogNeighbour[],
  options: VoteOptions = {},
): MaterialVote | undefined {
  if (neighbours.length === 0) return undefined;
  const best = Math.max(...neighbours.map((n) => n.similarity));
  const temperature = options.temperature ?? VOTE_TEMPERATURE;
  const majority = options.vote === 'majority';

  const tally = new Map<string, { weight: number; count: number; best: number }>();
  let total = 0;
  for (const neighbour of neighbours) {
    const weight = majority ? 1 : Math.exp((neighbour.similarity - best) / temperature);
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
  const confident = winner.share >= (options.minConfidence ?? 0);
  return {
    materialClass: confident ? winner.materialClass : null,
    bestClass: winner.materialClass,
    confidence: winner.share,
    confident,
    votes,
  };
}
