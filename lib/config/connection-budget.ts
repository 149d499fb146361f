/**
 * The connection budget across PgBouncer pods. `pgbouncer.defaultPoolSize`, `reservePoolSize` and
 * `minPoolSize` are the budget of server connections for ALL PgBouncer pods together: each pod
 * gets its share (rounded down, at least one), so adding pods for availability never multiplies
 * the connections Postgres serves. `maxClientConn` stays per pod: a client slot is a file
 * descriptor in PgBouncer, not a Postgres process, and one surviving pod must take every client
 * while the other restarts.
 */
export interface PoolBudget {
  readonly defaultPoolSize: number;
  readonly reservePoolSize: number;
  readonly minPoolSize: number;
  readonly maxClientConn: number;
}

export function poolPerPod(config: { readonly pgbouncer: PoolBudget & { readonly replicas: number } }): PoolBudget {
  const p = config.pgbouncer;
  const pods = Math.max(1, p.replicas);
  const defaultPoolSize = Math.max(1, Math.floor(p.defaultPoolSize / pods));
  return {
    defaultPoolSize,
    reservePoolSize: Math.floor(p.reservePoolSize / pods),
    minPoolSize: Math.min(defaultPoolSize, Math.floor(p.minPoolSize / pods)),
    maxClientConn: p.maxClientConn,
  };
}

/** Server connections all PgBouncer pods may open together (default + reserve, every pod). */
export function pooledServerConnections(config: Parameters<typeof poolPerPod>[0]): number {
  const per = poolPerPod(config);
  return (per.defaultPoolSize + per.reservePoolSize) * Math.max(1, config.pgbouncer.replicas);
}
