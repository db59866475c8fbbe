import { s, type ConfigOf } from '../../src/core/schema.js';
import { attrActionSchema, compileActions } from '../../src/processorhelper/attr-actions.js';
import { matchPropertiesSchema, optional, validateMatch } from './match.js';

export const attributesProcessorConfig = s.refine(
  s.object({
    actions: s.array(attrActionSchema).default([]).describe("Actions applied in order to each item's attributes"),
    include: optional(matchPropertiesSchema).describe('Process only items matching these properties'),
    exclude: optional(matchPropertiesSchema).describe('Do not process items matching these properties'),
  }),
  (v, path, issues) => {
    if (v.actions.length === 0) issues.push({ path: [...path, 'actions'], message: 'at least one action is required' });
    compileActions(v.actions, [...path, 'actions'], issues);
    if (v.include) validateMatch(v.include, [...path, 'include'], issues);
    if (v.exclude) validateMatch(v.exclude, [...path, 'exclude'], issues);
  },
);

export type AttributesProcessorConfig = ConfigOf<typeof attributesProcessorConfig>;
