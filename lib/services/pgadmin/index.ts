/**
 * pgAdmin as an optional built-in service (`pgadmin: { enabled: true }`): in the data namespace
 * beside Postgres, behind the admin access, its saved server a read-only role it asks Postgres for.
 */
import { IMAGES } from '../../config/versions';
import { builtInService, ServiceContext } from '../service';
import { PGADMIN_DEFAULTS, PGADMIN_SECRETS, PgAdminServiceConfig, pgadminIssues, pgadminSchema } from './config';
import { PgAdmin } from './pgadmin';

/** The read-only role pgAdmin's saved server logs in as (its password: Secret postgres-pgadmin). */
export const PGADMIN_ROLE = 'pgadmin';

export const pgadminService = builtInService({
  key: 'pgadmin',
  section: { schema: pgadminSchema, defaults: PGADMIN_DEFAULTS, secrets: PGADMIN_SECRETS, crossChecks: pgadminIssues },
  wave: 5,
  enabled: (config: PgAdminServiceConfig) => config.pgadmin.enabled,
  resourceKeys: { pgadmin: 'pgadmin.resources' },
  build: (chart, { config, postgres, edge, peers }: ServiceContext<PgAdminServiceConfig>) => {
    const p = config.pgadmin;
    const db = config.postgres;
    const server = p.readOnly
      ? postgres!.addReadOnlyLogin(PGADMIN_ROLE)
      // The apps' role, its password typed at each connect (never stored by pgAdmin).
      : { host: postgres!.cluster.primaryHost, port: postgres!.cluster.port, database: db.database, user: db.appUser, connectTo: [postgres!.primary] };
    return new PgAdmin(chart, 'PgAdmin', {
      namespace: config.namespaces.data,
      image: config.images.pgadmin ?? IMAGES.pgadmin,
      host: p.host,
      email: p.email,
      login: { name: 'pgadmin', key: 'password' },
      server,
      resources: p.resources,
      storageSize: p.storage.size,
      storageClass: p.storage.storageClass ?? config.storageClass,
      edge: edge.attachment('data', 'admin'),
      edgeNamespace: peers.edge,
      traefikPodLabels: edge.traefikPodLabels,
    });
  },
});
