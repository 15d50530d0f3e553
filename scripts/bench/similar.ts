// `npm run bench:similar -- [--json] [--n 100000] [--queries 500] [--ef-search 40]`: nearest
// material lookups through Kai's own query (core/registry/nearest-materials.ts) with pgvector's
// HNSW index, against the exact scan (the same function on a database without pgvector, an
// exact SQL scan of the property vectors), on one in-memory PGlite with pgvector.
//
// Data: n synthetic material types whose 8-number property vectors cluster around the seeded
// materials' (Gaussian noise, sigma 0.15, clamped to [-1, 1]), from a seeded generator, so
// every run measures the same set. Rows are bulk-inserted first, the HNSW index (m 16,
// ef_construction 64, cosine) is built after. Queries are fresh vectors from the same
// distribution. recallAt10: the share of the true 10 nearest (computed exactly in JavaScript)
// that the HNSW lookup returns, averaged over the queries. p99Ms: the 99th percentile of the
// HNSW lookup's wall time, as a caller of nearestMaterials sees it.
//
// `--also-ef 10,20` measures other ef_search values first, for comparison. The figures are wall
// times on whatever else the machine runs; the log ends with its load average.
//
// Progress goes to stderr; with --json the last stdout line is the one result object.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { cosineSimilarity } from '../../core/registry/material-properties.ts';
import { listMaterialTypes } from '../../core/registry/material-types.ts';
import { nearestMaterials } from '../../core/registry/nearest-materials.ts';
import { createPrng } from '../../core/studies/prng.ts';
import { percentile, progress, ratio, round } from './bench-output.ts';
import { openKaiBenchDatabase } from './kai-bench-database.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '500' },
    'ef-search': { type: 'string', default: '40' },
    'also-ef': { type: 'string' },
  },
});

const N = Number(values.n);
const QUERIES = Number(values.queries);
const EF_SEARCH = Number(values['ef-search']);
const K = 10;
const CHUNK = 5000;

const bench = await openKaiBenchDatabase(undefined, { label: 'similar', poolMax: 1 });
const { db } = bench;
try {
  const seeds = (await listMaterialTypes(db, { limit: 1000 })).map((m) => m.propertyVector);
  const rng = createPrng(20261203);
  const draw = () => {
    const centre = seeds[rng.int(seeds.length)] as number[];
    return centre.map((x) => Math.max(-1, Math.min(1, x + 0.15 * rng.normal())));
  };

  // Bulk insert without the index, then build it.
  const insertStartMs = performance.now();
  await db.exec('drop index if exists public.material_types_property_hnsw_idx');
  const vectors: number[][] = [];
  for (let start = 0; start < N; start += CHUNK) {
    const rows = [];
    for (let i = start; i < Math.min(N, start + CHUNK); i++) {
      const v = draw();
      vectors.push(v);
      rows.push({ slug: `bench-${i}`, v });
    }
    await db.query(
      `insert into public.material_types (slug, name, category, properties, property_vector)
       select r.slug, r.slug, 'bench', '{}'::jsonb,
              (select array_agg(e::float8 order by o) from jsonb_array_elements_text(r.v)
               with ordinality as a(e, o))
       from jsonb_to_recordset($1::jsonb) as r(slug text, v jsonb)`,
      [rows],
    );
  }
  const insertSeconds = (performance.now() - insertStartMs) / 1000;
  progress(`${N} vectors inserted in ${insertSeconds.toFixed(1)}s`);

  const indexStartMs = performance.now();
  await db.exec(
    `create index material_types_property_hnsw_idx on public.material_types
     using hnsw (property_embedding extensions.vector_cosine_ops)
     with (m = 16, ef_construction = 64)`,
  );
  await db.exec('analyze public.material_types');
  const indexSeconds = (performance.now() - indexStartMs) / 1000;
  progress(`HNSW index built in ${indexSeconds.toFixed(1)}s`);

  // The exact answers first, so that no large allocation (and its GC) falls between timings.
  const all = [...seeds, ...vectors];
  const queries = Array.from({ length: QUERIES }, draw);
  const kthSimilarity = queries.map((query) => {
    const top = new Float64Array(K).fill(Number.NEGATIVE_INFINITY);
    for (const v of all) {
      const s = cosineSimilarity(query, v);
      if (s <= (top[K - 1] as number)) continue;
      let i = K - 1;
      while (i > 0 && (top[i - 1] as number) < s) {
        top[i] = top[i - 1] as number;
        i--;
      }
      top[i] = s;
    }
    return top[K - 1] as number;
  });

  const measure = async (efSearch: number) => {
    await db.exec(`set hnsw.ef_search = ${efSearch}`);
    // A few lookups first, so that plan caching and WebAssembly warm-up are not measured.
    for (const query of queries.slice(0, 10)) {
      await nearestMaterials(db, { vector: true }, { vector: query, limit: K, minSimilarity: -1 });
    }
    const ms: number[] = [];
    const cpuMs: number[] = [];
    let hits = 0;
    for (const [q, query] of queries.entries()) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const { neighbours } = await nearestMaterials(
        db,
        { vector: true },
        { vector: query, limit: K, minSimilarity: -1 },
      );
      ms.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      cpuMs.push((cpu.user + cpu.system) / 1000);
      const kth = kthSimilarity[q] as number;
      hits += Math.min(K, neighbours.filter((n) => n.similarity >= kth - 1e-6).length);
    }
    const recall = hits / K / QUERIES;
    progress(
      `HNSW, ef_search ${efSearch}: p50 ${round(percentile(ms, 0.5))} ms, p99 ` +
        `${round(percentile(ms, 0.99))} ms, recall@10 ${recall.toFixed(3)} over ${QUERIES} queries`,
    );
    // PGlite runs in this process, so its CPU time per lookup is what the lookup costs when
    // the machine is not shared; wall time adds the waits for a core.
    progress(
      `  wall p90 ${round(percentile(ms, 0.9))} ms, p95 ${round(percentile(ms, 0.95))} ms; ` +
        `CPU time p50 ${round(percentile(cpuMs, 0.5))} ms, p99 ${round(percentile(cpuMs, 0.99))} ms`,
    );
    return { p99Ms: percentile(ms, 0.99), recall };
  };

  const extra = (values['also-ef'] ?? '').split(',').filter(Boolean).map(Number);
  for (const ef of extra) await measure(ef);
  const { p99Ms, recall: recallAt10 } = await measure(EF_SEARCH);

  // The exact scan is slow; time it on a sample of the queries.
  const exactMs: number[] = [];
  for (const query of queries.slice(0, Math.min(QUERIES, 50))) {
    const t0 = performance.now();
    await nearestMaterials(db, { vector: false }, { vector: query, limit: K, minSimilarity: -1 });
    exactMs.push(performance.now() - t0);
  }
  const exactP99Ms = percentile(exactMs, 0.99);
  progress(
    `exact SQL scan: p50 ${round(percentile(exactMs, 0.5))} ms, p99 ${round(exactP99Ms)} ms over ` +
      `${exactMs.length} queries; HNSW p99 is ${ratio(exactP99Ms, p99Ms)} faster`,
  );
  progress(
    `load average during the run: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );

  const result = {
    bench: 'similar',
    n: N,
    p99Ms: round(p99Ms),
    recallAt10: Math.round(recallAt10 * 1000) / 1000,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`p99 ${result.p99Ms} ms, recall@10 ${result.recallAt10}\n`);
} finally {
  await bench.close();
}
