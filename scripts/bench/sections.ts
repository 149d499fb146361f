/** Benchmarks of the data layer and backups register here: name → runner. */
export const extraSections: Record<string, () => void> = {};
