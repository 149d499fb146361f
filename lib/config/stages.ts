/** How an environment treats the sample values left in it (`stage`, lib/config/placeholders.ts). */
export const STAGES = ['production', 'development', 'sample'] as const;
export type Stage = (typeof STAGES)[number];
