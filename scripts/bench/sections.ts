/** Benchmarks of the data layer and backups register here: name → runner. */
import { benchFootprint } from './footprint';
import { benchBackup } from './backup';
import { benchPgbench } from './pgbench';
import { benchLab } from './lab';
import { benchPitr } from './pitr';
import { benchBadInput } from './bad-input';
import { benchEdge } from './edge';

export const extraSections: Record<string, () => void | Promise<void>> = {
  pgbench: benchPgbench,
  footprint: benchFootprint,
  backup: benchBackup,
  lab: benchLab,
  pitr: benchPitr,
  'bad-input': benchBadInput,
  edge: benchEdge,
};
