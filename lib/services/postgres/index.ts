/**
 * Postgres (Patroni cluster and PgBouncer) as a built-in service: the platform's database, built
 * first; every other service asks it for a database (`addDatabase`).
 */
import { IMAGES, ImageName } from '../../config/versions';
import { builtInService, ServiceContext } from '../service';
import { PostgresSettings } from './config';
import { Postgres } from './postgres';

/** What the Postgres service reads: its settings, the data namespace and the image overrides. */
export interface PostgresServiceConfig extends PostgresSettings {
  readonly namespaces: { readonly data: string };
  readonly images: Partial<Record<ImageName, string>>;
}

export const postgresService = builtInService({
  section: undefined,
  key: 'postgres',
  resourceKeys: { postgres: 'postgres.replicas, postgres.resources', pgbouncer: 'pgbouncer.resources' },
  build: (chart, { config, peers }: ServiceContext<PostgresServiceConfig>) => {
    const images = { ...IMAGES, ...config.images };
    return new Postgres(chart, 'postgres', {
      config,
      namespace: config.namespaces.data,
      monitoringNamespace: peers.monitoring,
      image: images.postgres,
      exporterImage: images.postgresExporter,
      pgbouncerImage: images.pgbouncer,
      pgbouncerExporterImage: images.pgbouncerExporter,
    });
  },
});
