/**
 * The app's two database logins (lib/services/postgres/app-logins.ts): derived from config, chosen
 * by `postgres.appLogin`, and the errors a rotation step meets when it is done half-way.
 */
import { activeAppLogin, appLoginRoles, rotationSql } from '../lib/services/postgres/app-logins';
import { configFor, synth } from './helpers/platform';

describe('GIVEN an environment whose app role is named "shop"', () => {
  const config = configFor('prod', { postgres: { appUser: 'shop' } });

  test('THEN both login roles derive from it, main first, for anything that lists the roles PgBouncer serves', () => {
    expect(appLoginRoles(config)).toEqual(['shop', 'shop_next']);
    expect(activeAppLogin(config)).toEqual({ slot: 'main', role: 'shop', secret: 'postgres-app' });
  });

  test('THEN a rotation onto next gives the new password to shop_next as a psql variable and retires shop', () => {
    const sql = rotationSql(config, 'next');
    expect(sql.prepare).toContain("ALTER ROLE shop_next WITH LOGIN PASSWORD :'new_password';");
    expect(sql.retire).toBe('ALTER ROLE shop WITH NOLOGIN PASSWORD NULL;\n');
    expect(rotationSql(config, 'main').retire).toBe('ALTER ROLE shop_next WITH NOLOGIN PASSWORD NULL;\n');
  });
});

describe('GIVEN postgres.appLogin: next', () => {
  test('WHEN the Secret of the second login is not declared THEN the synth names it, every reader, and the line to add', () => {
    expect(() => synth(configFor('prod', { postgres: { appLogin: 'next' } }))).toThrow(
      /secrets\.app\.postgres-app-next = \(not set\): is read by Deployment app\/crm, .*never declared; fix: add to secrets\.app .*'postgres-app-next': \{ keys: \['password'\], mode: 'existing' \}/,
    );
  });

  test('WHEN it is declared THEN every app URL names the second login and the password comes from its Secret', () => {
    const s = synth(configFor('prod', { postgres: { appLogin: 'next' }, secrets: { app: { 'postgres-app-next': { keys: ['password'], mode: 'existing' } } } }));
    const env = s.objects.filter((o) => o.object.kind === 'Deployment' && o.object.metadata.namespace === 'app')
      .flatMap((o) => o.object.spec.template.spec.containers.flatMap((c: any) => c.env ?? []));
    const urls = env.filter((e: any) => /_URL$/.test(e.name) && /^postgresql:/.test(e.value ?? '')).map((e: any) => e.value);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url).toMatch(/^postgresql:\/\/app_next:\$\(DB_PASSWORD\)@/);
    expect(new Set(env.filter((e: any) => e.name === 'DB_PASSWORD').map((e: any) => e.valueFrom.secretKeyRef.name))).toEqual(new Set(['postgres-app-next']));
  });

  test('WHEN the value is not a login slot THEN the error names the key, the value and the fix', () => {
    expect(() => configFor('prod', { postgres: { appLogin: 'blue' } })).toThrow('postgres.appLogin = "blue": must be "main" or "next"; fix: use the login whose password the apps should use');
  });
});
