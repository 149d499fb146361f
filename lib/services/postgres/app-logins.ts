/**
 * The app's two database logins, for password rotation without downtime (README "Rotating
 * credentials"). `<appUser>` owns the app database and its objects; `<appUser>_next` is a member of it
 * whose sessions act as it (`ALTER ROLE ... SET role`), so tables, sequences and grants are the same
 * whichever login a pod uses. `postgres.appLogin` names the login the apps use now; a rotation gives
 * the other one a new password, rolls the apps onto it (their pod template changes: user name and
 * Secret), then disables the old one. PgBouncer's auth_query reads each login's current verifier, so
 * it serves both during the roll.
 */
import { PostgresSettings } from './config';

export type AppLoginSlot = 'main' | 'next';

export interface AppLogin {
  readonly slot: AppLoginSlot;
  /** The Postgres login role. */
  readonly role: string;
  /** The Secret (key `password`) holding its password, in the app namespace. */
  readonly secret: string;
}

/** Both logins, `main` first. */
export function appLogins(config: Pick<PostgresSettings, 'postgres'>): readonly [AppLogin, AppLogin] {
  const { appUser } = config.postgres;
  return [
    { slot: 'main', role: appUser, secret: 'postgres-app' },
    { slot: 'next', role: `${appUser}_next`, secret: 'postgres-app-next' },
  ];
}

/** The login role names PgBouncer must pool for the apps (both, so a roll never refuses a pod). */
export const appLoginRoles = (config: Pick<PostgresSettings, 'postgres'>): string[] => appLogins(config).map((l) => l.role);

/** The login the apps use now (`postgres.appLogin`). */
export function activeAppLogin(config: Pick<PostgresSettings, 'postgres'>): AppLogin {
  return appLogins(config).find((l) => l.slot === config.postgres.appLogin)!;
}

/** The second login, created without LOGIN by the init SQL; idempotent. */
export function nextLoginSql(config: Pick<PostgresSettings, 'postgres'>): string {
  const [main, next] = appLogins(config);
  return `-- ${next.role}: the app's second login (password rotation, README "Rotating credentials"). It acts as
-- ${main.role} (member, and SET role at login), so objects it creates belong to ${main.role}. LOGIN is given by a rotation.
SELECT format('CREATE ROLE %I NOLOGIN', '${next.role}') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${next.role}') \\gexec
ALTER ROLE ${next.role} WITH NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT;
GRANT ${main.role} TO ${next.role};
ALTER ROLE ${next.role} SET role = '${main.role}';
`;
}

/**
 * The two SQL steps of a rotation onto `to` (run as the superuser with psql; the password arrives
 * as the psql variable `new_password`, never as a literal): `prepare` before the apps roll,
 * `retire` once every pod runs on `to`.
 */
export function rotationSql(config: Pick<PostgresSettings, 'postgres'>, to: AppLoginSlot): { prepare: string; retire: string } {
  const logins = appLogins(config);
  const target = logins.find((l) => l.slot === to)!;
  const old = logins.find((l) => l.slot !== to)!;
  return {
    prepare: `SET password_encryption = 'scram-sha-256';\nALTER ROLE ${target.role} WITH LOGIN PASSWORD :'new_password';\n`,
    // NOLOGIN refuses new sessions; PASSWORD NULL drops the old verifier, so PgBouncer's auth_query finds none either.
    retire: `ALTER ROLE ${old.role} WITH NOLOGIN PASSWORD NULL;\n`,
  };
}
