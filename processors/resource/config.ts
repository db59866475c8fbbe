import { s, type ConfigOf } from '../../src/core/schema.js';
import { attrActionSchema, compileActions } from '../../src/processorhelper/attr-actions.js';

export const resourceProcessorConfig = s.refine(
  s.object({
    attributes: s.array(attrActionSchema).default([]).describe('Actions applied in order to the resource attributes of every request'),
  }),
  (v, path, issues) => {
    if (v.attributes.length === 0) issues.push({ path: [...path, 'attributes'], message: 'at least one action is required' });
    compileActions(v.attributes, [...path, 'attributes'], issues);
  },
);

export type ResourceProcessorConfig = ConfigOf<typeof resourceProcessorConfig>;
