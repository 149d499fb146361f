/** Benchmarks of the data layer and backups register here: name → runner. */
import { benchBackup } from './backup';
import { benchPgbench } from './pgbench';

export const extraSections: Record<string, () => void | Promise<void>> = {
  pgbench: benchPgbench,
  backup: benchBackup,
};
