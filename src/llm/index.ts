/**
 * LLM root-cause inference: configuration, providers, token budget, prompt, answer
 * validation and the reasoner that combines the model with the built-in reasoner.
 * Activity-side code (uses fetch and node:crypto); workflows import only
 * `inference-output.ts` (pure) for the schema.
 */
export * from './errors.js';
export * from './inference-output.js';
export * from './llm-config.js';
export * from './llm-reasoner.js';
export * from './prompt.js';
export * from './provider.js';
export * from './token-budget.js';
