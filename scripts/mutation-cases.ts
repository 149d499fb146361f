/**
 * The seeded defects of `npm run bench -- mutation` (scripts/mutation.ts): one or more per real-program
 * test file, plus the edge, seal and lab tests. Each is a mistake someone could plausibly make in the
 * code that writes a config or script (for the lab's own tests: in the lab code they test), never in
 * a test. Search texts must occur exactly once (test/mutation.test.ts checks every case against the
 * sources as they are now).
 */
import type { MutationCase } from './mutation';

export const MUTATION_CASES: readonly MutationCase[] = [
  {
    id: 'sync-commit-local',
    test: 'test/patroni.real.test.ts',
    description: '`synchronous_commit = local` in postgresql.conf (Patroni still names a synchronous standby)',
    patches: [{ source: 'lib/services/postgres/config-files.ts', search: "    ['wal_level', 'replica'],\n", replace: "    ['wal_level', 'replica'],\n    ['synchronous_commit', 'local'],\n" }],
  },
  {
    id: 'seal-namespace-wide',
    test: 'test/seal.real.test.ts',
    description: 'values sealed namespace-wide (label `<namespace>`, annotation `namespace-wide`) instead of strict',
    patches: [
      { source: 'lib/sealing.ts', search: "oaepHash: 'sha256', oaepLabel: label(namespace, name) }, sessionKey);", replace: "oaepHash: 'sha256', oaepLabel: label(namespace, name).subarray(0, Buffer.byteLength(namespace)) }, sessionKey);" },
      { source: 'charts/secrets.ts', search: '          metadata: { name, namespace },\n', replace: "          metadata: { name, namespace, annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } },\n" },
    ],
  },
  {
    id: 'pooler-hba-metrics',
    test: 'test/postgres.real.test.ts',
    description: 'pgbouncer_hba.conf admits the metrics role next to the pooled roles',
    patches: [{ source: 'lib/services/postgres/config-files.ts', search: '    ...pooledRoles(config, databases).flatMap((role) =>', replace: '    ...[...pooledRoles(config, databases), ROLES.metrics].flatMap((role) =>' }],
  },
  {
    id: 'rotation-next-owner',
    test: 'test/rotation.real.test.ts',
    description: "the second app login no longer acts as the owner role (no `ALTER ROLE ... SET role`): its objects belong to it",
    patches: [{ source: 'lib/services/postgres/app-logins.ts', search: "ALTER ROLE ${next.role} SET role = '${main.role}';\n", replace: '' }],
  },
  {
    id: 'fetch-oldest-dump',
    test: 'test/backup.real.test.ts',
    description: 'fetch of DUMP=latest picks the oldest complete dump (`head` for `tail`)',
    patches: [{ source: 'lib/constructs/backup/scripts.ts', search: '| sort | tail -n 1 | cut', replace: '| sort | head -n 1 | cut' }],
  },
  {
    id: 'drill-ignores-comparison',
    test: 'test/backup-drill.real.test.ts',
    description: 'the restore drill no longer fails when the restore differs from the source at dump time',
    patches: [{ source: 'lib/constructs/backup/scripts.ts', search: '[ "$compared" = ok ] || fail "the restore does not match the source at dump time (see above)"\n', replace: '' }],
  },
  {
    id: 'backup-plain-remote',
    test: 'test/backup-encryption.real.test.ts',
    description: 'the "b2" rclone remote is the bucket itself, not the crypt remote over it',
    patches: [{ source: 'lib/constructs/backup/backup-kit.ts', search: "{ type: 'crypt', remote: 'b2raw:', filename_encryption: 'off', directory_name_encryption: 'false' }", replace: "{ type: 'alias', remote: 'b2raw:' }" }],
  },
  {
    id: 'mirror-no-history',
    test: 'test/backup-failures.real.test.ts',
    description: 'the MinIO mirror syncs without `--backup-dir`: deleted and replaced objects are gone from B2',
    patches: [{ source: 'lib/constructs/backup/scripts.ts', search: ' --backup-dir "b2:$B2_PATH/history/$stamp/$bucket"', replace: '' }],
  },
  {
    id: 'minio-anonymous-list',
    test: 'test/minio.real.test.ts',
    description: 'public-download buckets get `mc anonymous set download` (anyone may list them)',
    patches: [{ source: 'lib/services/minio/minio-provisioning.ts', search: '  mc anonymous set-json "$policy" "target/$1"\n', replace: '  mc anonymous set download "target/$1"\n' }],
  },
  {
    id: 'minio-restore-no-bucket-check',
    test: 'test/minio-restore.real.test.ts',
    description: 'minio-restore no longer checks that the provisioning Job made the buckets (rclone creates them bare)',
    patches: [{ source: 'lib/constructs/backup/minio-restore.ts', search: 'for bucket in $BUCKETS; do\n  rclone lsf --max-depth 1 "minio:$bucket" >/dev/null ||\n', replace: 'for bucket in $BUCKETS; do\n  true ||\n' }],
  },
  {
    id: 'minio-app-lists-all',
    test: 'test/minio-rotation.real.test.ts',
    description: "an app's policy lets it list every bucket (ListBucket on `arn:aws:s3:::*`): the rotated key reaches other apps' buckets",
    patches: [{ source: 'lib/services/minio/minio-provisioning.ts', search: '        Resource: buckets.map((b) => `arn:aws:s3:::${b}`),\n', replace: "        Resource: ['arn:aws:s3:::*'],\n" }],
  },
  {
    // Missed by minio-rotation.real (the rotated key is a new user, so nothing is attached twice there).
    id: 'minio-attach-not-idempotent',
    test: 'test/minio.real.test.ts',
    description: 'attach_policy no longer tolerates "already attached": a second run of the provisioning Job fails',
    patches: [{ source: 'lib/services/minio/minio-provisioning.ts', search: '      *"already"*) ;;\n', replace: '' }],
  },
  {
    id: 'blackbox-tls-optional',
    test: 'test/monitoring.real.test.ts',
    description: 'the certificate probe module without `fail_if_not_ssl`: a site served over plain HTTP passes it',
    patches: [{ source: 'lib/constructs/monitoring/probes.ts', search: 'http: { ...http, fail_if_not_ssl: true, valid_status_codes: TLS_ANSWERS }', replace: 'http: { ...http, valid_status_codes: TLS_ANSWERS }' }],
  },
  {
    id: 'pitr-no-cipher',
    test: 'test/pitr.real.test.ts',
    description: 'pgbackrest.conf without repo1-cipher-type: the repository in B2 is plaintext',
    patches: [{ source: 'lib/services/postgres/pitr-scripts.ts', search: "    ['repo1-cipher-type', 'aes-256-cbc'],\n", replace: '' }],
  },
  {
    id: 'generated-owner-policy',
    test: 'test/generated-secrets.real.test.ts',
    description: "generated ExternalSecrets own their Secret (`creationPolicy: Owner`, ESO's default): a prune deletes the password",
    patches: [{ source: 'lib/constructs/generated-secrets.ts', search: "creationPolicy: 'Orphan'", replace: "creationPolicy: 'Owner'" }],
  },
  {
    id: 'inline-no-crds',
    test: 'test/inline-lab.real.test.ts',
    description: 'inline Helm rendering without `--include-crds`: a chart\'s crds/ never reach the cluster',
    patches: [{ source: 'lib/constructs/helm-release.ts', search: "helmFlags: ['--include-crds', '--skip-tests',", replace: "helmFlags: ['--skip-tests'," }],
  },
  {
    id: 'pod-privilege-escalation',
    test: 'test/lab.real.test.ts',
    description: 'containers without `allowPrivilegeEscalation: false` (Pod Security "restricted" refuses their pods)',
    patches: [{ source: 'lib/constructs/pod-security.ts', search: '    allowPrivilegeEscalation: false,\n', replace: '' }],
  },
  {
    id: 'backup-after-apps',
    test: 'test/lab-kubelet-dist.real.test.ts',
    description: "the backup chart synced after the apps (wave 40): the apps' PreSync dump waits for backup-scripts",
    patches: [{ source: 'lib/gitops/sync-order.ts', search: '    wave: 7,\n', replace: '    wave: 40,\n' }],
  },
  {
    id: 'kubelet-init-parallel',
    test: 'test/lab-kubelet.real.test.ts',
    description: "the lab's kubelet starts every init container at once (a blocked one no longer holds the rest)",
    patches: [{ source: 'scripts/lab/kubelet.ts', search: '    if (!done) initialized = false;\n', replace: '' }],
  },
  {
    id: 'argocd-default-resync',
    test: 'test/argocd-lab.real.test.ts',
    description: "the lab's Argo CD compares with Git every 180 s (the default) instead of 10 s",
    patches: [{ source: 'scripts/lab/argocd.ts', search: "'--app-resync', '10',", replace: "'--app-resync', '180'," }],
  },
  {
    id: 'traefik-no-published-service',
    test: 'test/traefik-lab.real.test.ts',
    description: "Traefik's Ingress provider without publishedService: Ingresses never get the load balancer's address (Argo CD waits on them)",
    patches: [{ source: 'lib/addons/traefik.ts', search: 'kubernetesIngress: { enabled: ingress },', replace: 'kubernetesIngress: { enabled: ingress, publishedService: { enabled: false } } as any,' }],
  },
  {
    id: 'admin-auth-before-rate-limit',
    test: 'test/edge.test.ts',
    description: 'the admin chain checks the credential before the rate limit (password guessing is not rate limited)',
    patches: [{ source: 'lib/constructs/edge/middlewares.ts', search: "'rate-limit', ...(basicAuth ? [ADMIN_AUTH] : []),", replace: "...(basicAuth ? [ADMIN_AUTH] : []), 'rate-limit'," }],
  },
  {
    id: 'rate-limit-peer-ip',
    test: 'test/edge-traefik.test.ts',
    description: "the rate limit keys on the peer address behind Cloudflare (no sourceCriterion): every visitor shares Cloudflare's bucket",
    patches: [{ source: 'lib/constructs/edge/middlewares.ts', search: 'burst: edge.rateLimit.burst, ...(ipStrategy ? { sourceCriterion: { ipStrategy } } : {}) } },', replace: 'burst: edge.rateLimit.burst } },' }],
  },
  {
    id: 'seal-keeps-other-cert',
    test: 'test/seal.test.ts',
    description: 'npm run seal keeps an entry sealed for another certificate (a new cluster key) as if it were current',
    patches: [{ source: 'scripts/seal.ts', search: ' && fingerprintKeyId(fingerprint) === keyId.slice(0, 16);', replace: ';' }],
  },
];
