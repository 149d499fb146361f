/**
 * The shape of lib/ (issue #28): no import cycle, PlatformConfig read only where the config enters
 * (the loader, the registries; charts/ is outside lib/), and constructors a reader can hold.
 * The last two rules each list the files that still break them, exactly: a new offender fails, and so does
 * a listed file that no longer offends (take it off the list). The lists only shrink.
 */
import { constructorLengths, importCycles, importsName, sourceFiles } from './helpers/source-structure';

const LIB = sourceFiles('lib');

/** Where PlatformConfig may be imported: its definition, the loader, the registries. */
const CONFIG_ENTRY_POINTS = ['lib/config/schema.ts', 'lib/config/load.ts', 'lib/addons/registry.ts', 'lib/services/registry.ts'];

/** Files below lib/ that still take the whole config (debt of issue #28, each to get its own narrow props). */
const STILL_TAKE_PLATFORM_CONFIG = [
  'lib/addons/addon.ts', 'lib/addons/alloy.ts', 'lib/addons/argo-cd.ts', 'lib/addons/cert-manager.ts', 'lib/addons/inline.ts',
  'lib/addons/kube-prometheus-stack.ts', 'lib/addons/loki.ts', 'lib/addons/traefik.ts',
  'lib/config/placeholders.ts',
  'lib/constructs/edge/app-routes.ts', 'lib/constructs/edge/middlewares.ts', 'lib/constructs/generated-secrets.ts',
  'lib/footprint.ts', 'lib/gitops/secret-producers.ts', 'lib/gitops/secret-references.ts',
  // #30's dist/<env>/SUMMARY.md: reads across sections and hands the config to footprint() (listed above).
  'lib/summary.ts',
];

/** The longest a constructor may be, in lines. */
const MAX_CONSTRUCTOR_LINES = 80;
/** Constructors still longer (debt of issue #28: split into parts). */
const STILL_LONG_CONSTRUCTORS = [
  'lib/constructs/app/app-workload.ts AppWorkload', 'lib/constructs/generated-secrets.ts GeneratedSecrets',
  'lib/services/glitchtip/glitchtip.ts GlitchTip', 'lib/services/minio/minio.ts Minio', 'lib/services/postgres/pgbouncer.ts PgBouncer',
  'lib/services/redis/redis.ts Redis',
];

describe('the structure of lib/', () => {
  test('GIVEN every file under lib/ WHEN its imports (type imports too) are followed THEN they form no cycle', () => {
    expect(importCycles(LIB).map((c) => c.join(' → '))).toEqual([]);
  });

  test('GIVEN every file under lib/ WHEN it names PlatformConfig THEN it is the loader, a registry or a listed file', () => {
    const importers = LIB.filter((f) => !CONFIG_ENTRY_POINTS.includes(f) && importsName(f, 'PlatformConfig'));
    expect(importers).toEqual([...STILL_TAKE_PLATFORM_CONFIG].sort());
  });

  test(`GIVEN every class under lib/ WHEN its constructor is measured THEN it has at most ${MAX_CONSTRUCTOR_LINES} lines or is listed`, () => {
    const long = LIB.flatMap((f) => constructorLengths(f).filter((c) => c.lines > MAX_CONSTRUCTOR_LINES).map((c) => `${f} ${c.className}`));
    expect(long.sort()).toEqual([...STILL_LONG_CONSTRUCTORS].sort());
  });
});
