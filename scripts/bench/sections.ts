/** Benchmarks of the data layer and backups register here: name → runner. */
import { benchFootprint } from './footprint';
import { benchBackup } from './backup';
import { benchPgbench } from './pgbench';
import { benchLab } from './lab';
import { benchPitr } from './pitr';
import { benchBadInput } from './bad-input';
import { benchHa } from './ha';
import { benchMutation } from '../mutation';
import { benchEdge } from './edge';

export const extraSections: Record<string, () => void | Promise<void>> = {
  pgbench: benchPgbench,
  footprint: benchFootprint,
  backup: benchBackup,
  lab: benchLab,
  pitr: benchPitr,
  'bad-input': benchBadInput,
  ha: benchHa,
  // Seeded defects against the real-program tests; minutes per case (scripts/mutation-cases.ts).
  mutation: () => benchMutation(),
  edge: benchEdge,
};
