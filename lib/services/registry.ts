/**
 * Every built-in data service, one folder per service in this directory (its construct, config
 * section, defaults, Secrets, footprint keys, build). The platform builds them in this order (the
 * database first: the others may ask it for a database; the edge chart right after it), the schema
 * and the defaults take their sections, the sync order their waves, the footprint their resource
 * keys. A new service: one folder here (plus its image in lib/config/versions.ts) and one line below.
 */
import { z } from '../config/zod';
import { glitchtipService } from './glitchtip';
import { minioService } from './minio';
import { pgadminService } from './pgadmin';
import { postgresService } from './postgres';
import { redisService } from './redis';

/** The platform's database: built first, asked for databases by the services after it. */
export const DATABASE_SERVICE = postgresService;

export const SERVICES = [postgresService, redisService, minioService, glitchtipService, pgadminService] as const;

type Service = (typeof SERVICES)[number];
type WithSection = Extract<Service, { section: { schema: z.ZodType } }>;

/** The config sections the services own, by key, for the top-level schema (lib/config/schema.ts). */
export type ServiceSections = { [S in WithSection as S['key']]: S['section']['schema'] };
export const SERVICE_SECTIONS = Object.fromEntries(
  SERVICES.flatMap((s) => (s.section ? [[s.key, s.section.schema]] : [])),
) as ServiceSections;

/** The defaults of those sections, by key (lib/config/defaults.ts). */
export const SERVICE_DEFAULTS = Object.fromEntries(
  SERVICES.flatMap((s) => (s.section ? [[s.key, s.section.defaults]] : [])),
) as { [S in WithSection as S['key']]: z.input<S['section']['schema']> };

/** The chart ids of the services of a sync wave. */
export const serviceCharts = (wave: 0 | 5): string[] => SERVICES.filter((s) => (s.wave ?? 0) === wave).map((s) => s.key);

/** The config key that sets the requests of a service's workload, if a service owns it. */
export function serviceResourceKey(chart: string, workload: string): string | undefined {
  const keys: Readonly<Record<string, string>> | undefined = SERVICES.find((s) => s.key === chart)?.resourceKeys;
  return keys?.[workload];
}
