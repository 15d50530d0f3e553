-- Seed data of the parameter registry: the tasks Kai tunes with their parameter spaces and
-- default values, common material types with their property vectors (computed as
-- core/registry/material-properties.ts does), and a `standard` parameter set (version 1, the
-- name DEFAULT_PARAMETER_SET defaults to) for every seeded material and task.
--
-- The property values are typical figures for each material as sold (a glazed tile, polished
-- marble and granite, oiled wood, woven fabric, brushed or anodised metal), not measurements;
-- the default parameters are hand-chosen starting points per material family, not tuned values.

insert into public.registry_tasks (name, description, space, defaults, score_direction) values
  ('material.classify', 'Votes over the k nearest catalog items to name a material.',
   '{"k": {"type": "int", "low": 1, "high": 50}, "temperature": {"type": "float", "low": 0.01, "high": 10, "log": true}, "minConfidence": {"type": "float", "low": 0, "high": 1}, "vote": {"type": "categorical", "choices": ["majority", "similarity_weighted"]}}'::jsonb,
   '{"k": 10, "temperature": 1, "minConfidence": 0.5, "vote": "similarity_weighted"}'::jsonb, 'maximize'),
  ('spec.extract', 'Reads a product specification with OCR: detection and recognition thresholds.',
   '{"detThreshold": {"type": "float", "low": 0.05, "high": 0.9}, "boxThreshold": {"type": "float", "low": 0.3, "high": 0.95}, "unclipRatio": {"type": "float", "low": 1, "high": 3}, "maxSideLen": {"type": "int", "low": 320, "high": 2560, "step": 32}, "recScoreMin": {"type": "float", "low": 0, "high": 0.9}}'::jsonb,
   '{"detThreshold": 0.3, "boxThreshold": 0.6, "unclipRatio": 1.5, "maxSideLen": 960, "recScoreMin": 0.5}'::jsonb, 'maximize'),
  ('texture.embed', 'Embeds surface texture from image patches.',
   '{"patchSize": {"type": "categorical", "choices": [64, 128, 256]}, "patchesPerImage": {"type": "int", "low": 1, "high": 64, "log": true}, "scales": {"type": "int", "low": 1, "high": 4}, "colorWeight": {"type": "float", "low": 0, "high": 1}}'::jsonb,
   '{"patchSize": 128, "patchesPerImage": 16, "scales": 2, "colorWeight": 0.3}'::jsonb, 'maximize');

insert into public.material_types (slug, name, category, properties, property_vector, seed) values
  ('ceramic-tile', 'Ceramic tile (glazed)', 'tile',
   '{"densityKgM3": 2000, "mohsHardness": 5.5, "porosity": 0.08, "gloss60Gu": 60, "roughnessRaUm": 0.3, "grainScaleMm": 1, "colorVariation": 0.2, "thermalConductivityWmK": 1.0}'::jsonb,
   '{0.130824,0.0,-0.434315,0.2,-0.261439,0.0,-0.6,-0.14875}', true),
  ('porcelain', 'Porcelain tile', 'tile',
   '{"densityKgM3": 2400, "mohsHardness": 7, "porosity": 0.004, "gloss60Gu": 30, "roughnessRaUm": 0.5, "grainScaleMm": 0.5, "colorVariation": 0.1, "thermalConductivityWmK": 1.5}'::jsonb,
   '{0.199646,0.333333,-0.873509,-0.4,-0.150515,-0.150515,-0.8,-0.073801}', true),
  ('terracotta', 'Terracotta tile', 'tile',
   '{"densityKgM3": 1800, "mohsHardness": 4, "porosity": 0.2, "gloss60Gu": 5, "roughnessRaUm": 8, "grainScaleMm": 1, "colorVariation": 0.25, "thermalConductivityWmK": 0.8}'::jsonb,
   '{0.091053,-0.333333,-0.105573,-0.9,0.451545,0.0,-0.5,-0.189997}', true),
  ('marble', 'Marble', 'stone',
   '{"densityKgM3": 2700, "mohsHardness": 3.5, "porosity": 0.005, "gloss60Gu": 70, "roughnessRaUm": 0.1, "grainScaleMm": 20, "colorVariation": 0.6, "thermalConductivityWmK": 2.8}'::jsonb,
   '{0.244107,-0.444444,-0.858579,0.4,-0.5,0.650515,0.2,0.041572}', true),
  ('granite', 'Granite', 'stone',
   '{"densityKgM3": 2750, "mohsHardness": 6.5, "porosity": 0.01, "gloss60Gu": 80, "roughnessRaUm": 0.1, "grainScaleMm": 5, "colorVariation": 0.7, "thermalConductivityWmK": 2.9}'::jsonb,
   '{0.251033,0.222222,-0.8,0.6,-0.5,0.349485,0.4,0.048059}', true),
  ('slate', 'Slate', 'stone',
   '{"densityKgM3": 2800, "mohsHardness": 3.5, "porosity": 0.01, "gloss60Gu": 5, "roughnessRaUm": 10, "grainScaleMm": 2, "colorVariation": 0.3, "thermalConductivityWmK": 2.0}'::jsonb,
   '{0.257835,-0.444444,-0.8,-0.9,0.5,0.150515,-0.4,-0.020624}', true),
  ('limestone', 'Limestone', 'stone',
   '{"densityKgM3": 2500, "mohsHardness": 3.5, "porosity": 0.15, "gloss60Gu": 10, "roughnessRaUm": 5, "grainScaleMm": 1, "colorVariation": 0.3, "thermalConductivityWmK": 1.3}'::jsonb,
   '{0.215056,-0.444444,-0.225403,-0.8,0.349485,0.0,-0.4,-0.100252}', true),
  ('oak', 'Oak', 'wood',
   '{"densityKgM3": 750, "mohsHardness": 3, "porosity": 0.6, "gloss60Gu": 20, "roughnessRaUm": 6, "grainScaleMm": 3, "colorVariation": 0.4, "thermalConductivityWmK": 0.17}'::jsonb,
   '{-0.239418,-0.555556,0.549193,-0.6,0.389076,0.238561,-0.2,-0.47629}', true),
  ('walnut', 'Walnut', 'wood',
   '{"densityKgM3": 640, "mohsHardness": 2.5, "porosity": 0.6, "gloss60Gu": 25, "roughnessRaUm": 5, "grainScaleMm": 2, "colorVariation": 0.4, "thermalConductivityWmK": 0.15}'::jsonb,
   '{-0.299288,-0.666667,0.549193,-0.5,0.349485,0.150515,-0.2,-0.499426}', true),
  ('maple', 'Maple', 'wood',
   '{"densityKgM3": 700, "mohsHardness": 3, "porosity": 0.55, "gloss60Gu": 20, "roughnessRaUm": 4, "grainScaleMm": 1.5, "colorVariation": 0.25, "thermalConductivityWmK": 0.16}'::jsonb,
   '{-0.265461,-0.555556,0.48324,-0.6,0.30103,0.088046,-0.5,-0.487496}', true),
  ('cotton', 'Cotton fabric', 'fabric',
   '{"densityKgM3": 1540, "mohsHardness": 1, "porosity": 0.7, "gloss60Gu": 2, "roughnessRaUm": 30, "grainScaleMm": 0.3, "colorVariation": 0.1, "thermalConductivityWmK": 0.04}'::jsonb,
   '{0.032164,-1,0.67332,-0.96,0.738561,-0.261439,-0.8,-0.743748}', true),
  ('linen', 'Linen fabric', 'fabric',
   '{"densityKgM3": 1500, "mohsHardness": 1, "porosity": 0.65, "gloss60Gu": 3, "roughnessRaUm": 40, "grainScaleMm": 0.6, "colorVariation": 0.2, "thermalConductivityWmK": 0.05}'::jsonb,
   '{0.02223,-1,0.612452,-0.94,0.80103,-0.110924,-0.6,-0.702501}', true),
  ('wool', 'Wool fabric', 'fabric',
   '{"densityKgM3": 1310, "mohsHardness": 1, "porosity": 0.8, "gloss60Gu": 1, "roughnessRaUm": 60, "grainScaleMm": 1, "colorVariation": 0.15, "thermalConductivityWmK": 0.04}'::jsonb,
   '{-0.028895,-1,0.788854,-0.98,0.889076,0.0,-0.7,-0.743748}', true),
  ('steel', 'Stainless steel (brushed)', 'metal',
   '{"densityKgM3": 7900, "mohsHardness": 5.5, "porosity": 0, "gloss60Gu": 50, "roughnessRaUm": 0.8, "grainScaleMm": 0.05, "colorVariation": 0.05, "thermalConductivityWmK": 16}'::jsonb,
   '{0.649372,0.0,-1,0.0,-0.048455,-0.650515,-0.9,0.363754}', true),
  ('aluminium', 'Aluminium (anodised)', 'metal',
   '{"densityKgM3": 2700, "mohsHardness": 2.75, "porosity": 0, "gloss60Gu": 60, "roughnessRaUm": 0.6, "grainScaleMm": 0.05, "colorVariation": 0.05, "thermalConductivityWmK": 205}'::jsonb,
   '{0.244107,-0.611111,-1,0.2,-0.110924,-0.650515,-0.9,0.835191}', true),
  ('brass', 'Brass', 'metal',
   '{"densityKgM3": 8500, "mohsHardness": 3.5, "porosity": 0, "gloss60Gu": 70, "roughnessRaUm": 0.3, "grainScaleMm": 0.05, "colorVariation": 0.1, "thermalConductivityWmK": 110}'::jsonb,
   '{0.677005,-0.444444,-1,0.4,-0.261439,-0.650515,-0.8,0.720119}', true);

-- Default values per material family and task: the task's defaults with the family's changes.
with registry_seed_defaults (category, task, "values") as (values
  ('tile', 'material.classify', '{"k": 8, "temperature": 1, "minConfidence": 0.5, "vote": "similarity_weighted"}'::jsonb),
  ('tile', 'spec.extract', '{"detThreshold": 0.3, "boxThreshold": 0.6, "unclipRatio": 1.5, "maxSideLen": 1280, "recScoreMin": 0.5}'::jsonb),
  ('tile', 'texture.embed', '{"patchSize": 128, "patchesPerImage": 16, "scales": 2, "colorWeight": 0.4}'::jsonb),
  ('stone', 'material.classify', '{"k": 12, "temperature": 0.7, "minConfidence": 0.5, "vote": "similarity_weighted"}'::jsonb),
  ('stone', 'spec.extract', '{"detThreshold": 0.3, "boxThreshold": 0.6, "unclipRatio": 1.5, "maxSideLen": 960, "recScoreMin": 0.5}'::jsonb),
  ('stone', 'texture.embed', '{"patchSize": 256, "patchesPerImage": 24, "scales": 3, "colorWeight": 0.5}'::jsonb),
  ('wood', 'material.classify', '{"k": 10, "temperature": 1, "minConfidence": 0.5, "vote": "similarity_weighted"}'::jsonb),
  ('wood', 'spec.extract', '{"detThreshold": 0.3, "boxThreshold": 0.6, "unclipRatio": 1.5, "maxSideLen": 960, "recScoreMin": 0.5}'::jsonb),
  ('wood', 'texture.embed', '{"patchSize": 256, "patchesPerImage": 16, "scales": 3, "colorWeight": 0.35}'::jsonb),
  ('fabric', 'material.classify', '{"k": 15, "temperature": 1, "minConfidence": 0.5, "vote": "majority"}'::jsonb),
  ('fabric', 'spec.extract', '{"detThreshold": 0.25, "boxThreshold": 0.6, "unclipRatio": 1.5, "maxSideLen": 960, "recScoreMin": 0.5}'::jsonb),
  ('fabric', 'texture.embed', '{"patchSize": 64, "patchesPerImage": 32, "scales": 2, "colorWeight": 0.2}'::jsonb),
  ('metal', 'material.classify', '{"k": 6, "temperature": 0.5, "minConfidence": 0.5, "vote": "similarity_weighted"}'::jsonb),
  ('metal', 'spec.extract', '{"detThreshold": 0.35, "boxThreshold": 0.65, "unclipRatio": 1.5, "maxSideLen": 960, "recScoreMin": 0.5}'::jsonb),
  ('metal', 'texture.embed', '{"patchSize": 128, "patchesPerImage": 16, "scales": 1, "colorWeight": 0.1}'::jsonb)
),
planned as materialized (
  select gen_random_uuid() as set_id, gen_random_uuid() as version_id, m.id as material_id,
         d.task, d."values"
  from public.material_types m join registry_seed_defaults d on d.category = m.category
  where m.seed
), sets as (
  insert into public.parameter_sets (id, material_id, task, name, next_version, active_version_id)
  select set_id, material_id, task, 'standard', 2, version_id from planned
), versions as (
  insert into public.parameter_set_versions (id, set_id, version, "values", source, note)
  select version_id, set_id, 1, "values", 'seed',
         'Shipped default for the material family; not tuned.'
  from planned
)
insert into public.parameter_set_changes (set_id, version_id, version, action, detail)
select set_id, version_id, 1, 'created', '{"source": "seed"}'::jsonb from planned;
