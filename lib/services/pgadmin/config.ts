/**
 * The `pgadmin` section: pgAdmin 4, the database admin UI teams coming from compose run beside
 * Postgres, as an optional built-in service (off by default). Its login is generated, its saved
 * server uses a read-only Postgres role unless `readOnly: false`.
 */
import { z } from '../../config/zod';
import { dnsName, k8sName, quantity, resources } from '../../config/fields';
import { CrossCheckIssue } from '../../config/errors';
import { hostIssues, PlatformBasics } from '../service';

export const pgadminSchema = z.strictObject({
  /** Run pgAdmin (an admin UI, behind edge.adminAccess). */
  enabled: z.boolean(),
  /** Admin host of the UI (behind the admin access, like the MinIO console). */
  host: dnsName(),
  /** pgAdmin's own login (its e-mail address field); the password is generated (Secret `pgadmin`, key `password`). */
  email: z.string().regex(/^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$/, 'is not an e-mail address; fix: write it like admin@example.com (pgAdmin logs in by e-mail)'),
  /**
   * The saved server logs in as the read-only role `pgadmin` (reads every table of the apps'
   * database, writes nothing; its password stored for pgAdmin's user). false: it names the apps'
   * role and asks for its password at each connect.
   */
  readOnly: z.boolean(),
  resources: resources(),
  /** Its state (pgAdmin's settings database, saved queries): a small volume. */
  storage: z.strictObject({ size: quantity(), storageClass: k8sName().optional() }),
});
export type PgAdminConfig = z.output<typeof pgadminSchema>;

export const PGADMIN_DEFAULTS: z.input<typeof pgadminSchema> = {
  enabled: false,
  host: 'pgadmin.{domain}',
  email: 'admin@{domain}',
  readOnly: true,
  // Gunicorn with one worker (the image's default) idles near 150 MiB; queries of large tables need headroom.
  resources: { requests: { cpu: '20m', memory: '192Mi' }, limits: { memory: '512Mi' } },
  storage: { size: '1Gi' },
};

/** Generated while pgAdmin is on: its login's password and the read-only role's (both in the data namespace). */
export const PGADMIN_SECRETS = {
  data: {
    pgadmin: { keys: ['password'], mode: 'generated' },
    'postgres-pgadmin': { keys: ['password'], mode: 'generated' },
  },
} as const;

/** What the pgAdmin service reads besides its own section. */
export interface PgAdminServiceConfig extends PlatformBasics {
  readonly pgadmin: PgAdminConfig;
  readonly namespaces: { readonly data: string };
  readonly images: { readonly pgadmin?: string };
  readonly postgres: { readonly database: string; readonly appUser: string };
}

/** Its host must be served by this environment's certificates. */
export const pgadminIssues = (config: PgAdminServiceConfig): CrossCheckIssue[] => (config.pgadmin.enabled ? hostIssues(config, 'pgadmin', config.pgadmin.host) : []);
