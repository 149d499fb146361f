/**
 * `backup.pitr` (continuous WAL archiving and base backups with pgBackRest, see
 * lib/services/postgres/pitr.ts) and `backup.encryption` (the client-side key of everything
 * written to B2). Kept apart from schema.ts so that the backup schema only names them.
 */
import { z } from './zod';
import { duration, parseDuration } from './duration';
import { BOUNDS, cron, k8sName, positiveInt } from './fields';

const secretKey = () => z.string().regex(/^[-._a-zA-Z0-9]+$/, 'is not a Secret key; fix: use letters, digits, "-", "_" and "."');

/** A duration between `min` and `max` seconds, the error naming both and the fix. */
const boundedDuration = (key: string, min: number, max: number, why: string) =>
  duration().superRefine((value, ctx) => {
    const s = parseDuration(value);
    if (s === undefined) return; // duration() reports it
    if (s < min || s > max) {
      ctx.addIssue({ code: 'custom', message: `is ${value}, outside ${min}s..${max}s (${why}); fix: set backup.pitr.${key} to a duration in that range, like ${key === 'archiveTimeout' ? '5m' : '24h'}` });
    }
  });

export const pitrSchema = z
  .strictObject({
    /** WAL archiving and base backups to the B2 bucket (under <prefix>/<env>/pgbackrest). */
    enabled: z.boolean(),
    /**
     * archive_timeout: a WAL segment that took writes is archived at the latest after this long,
     * so it bounds the data lost with the primary's disk (RPO). Fewer than 30 s fills the bucket
     * with 16 MB segments; more than 1 h is no longer point-in-time.
     */
    archiveTimeout: boundedDuration('archiveTimeout', 30, 3600, 'each switch ships a 16 MB segment, so below 30s the bucket fills; above 1h the RPO is no longer minutes'),
    /** Base backups (and the WAL they need) kept this many days. @default the first dump schedule's retentionDays */
    retentionDays: positiveInt('days', BOUNDS.retentionDays).optional(),
    baseBackup: z.strictObject({
      /** A new (differential) base backup when the newest is older than this: bounds the WAL a restore replays. */
      every: boundedDuration('baseBackup.every', 3600, 7 * 86400, 'a base backup per hour at most, and at least one a week so a restore replays at most a week of WAL'),
      /** A full base backup when the newest full one is older than this; differentials in between. */
      fullEvery: boundedDuration('baseBackup.fullEvery', 3600, 30 * 86400, 'at least one full backup inside the 30-day retention'),
    }).superRefine((b, ctx) => {
      const every = parseDuration(b.every);
      const full = parseDuration(b.fullEvery);
      if (every !== undefined && full !== undefined && full < every) {
        ctx.addIssue({ code: 'custom', path: ['fullEvery'], message: `is ${b.fullEvery}, shorter than backup.pitr.baseBackup.every (${b.every}); fix: make fullEvery at least every, like every: 24h, fullEvery: 7d` });
      }
    }),
    /** Hourly check of the repository (newest base backup, WAL archive); its failure alerts. */
    checkCron: cron(),
  });
export type PitrConfig = z.output<typeof pitrSchema>;

/**
 * The client-side encryption key of B2, in a Secret created out of band (`secrets.<role>.<secretName>`,
 * mode existing): pgBackRest's repository cipher and rclone's crypt remote. Lose it and the
 * backups are unreadable: keep a copy outside the cluster (README, "Backup encryption").
 */
export const backupEncryptionSchema = z.strictObject({
  secretName: k8sName(),
  /** pgBackRest's repo1-cipher-pass (aes-256-cbc). */
  pgbackrestKey: secretKey(),
  /** rclone crypt password and salt (password2), plain text: the scripts obscure them. */
  rclonePasswordKey: secretKey(),
  rcloneSaltKey: secretKey(),
});
export type BackupEncryption = z.output<typeof backupEncryptionSchema>;
