/**
 * Issue 31: the synth never changes a value silently. Three classes of bad input went wrong: a value
 * replaced by another without a word (an app's 100M memory rendered as 96Mi; replicas 0 run as 1), a
 * quantity in a unit Kubernetes does not know escaping as an uncaught error (node.memory, edge.maxBodySize),
 * and an error repeating the credential it refuses (a plain env secret, a URL's password, a git token).
 */
import * as yaml from 'js-yaml';
import { ConfigError } from '../lib/config/errors';
import { parseConfig, withDefaults } from '../lib/config/load';
import { renderPlatform } from '../lib/synth';
import { Platform } from '../charts/platform';

const load = (overrides: Record<string, unknown>) => parseConfig({ ...withDefaults(overrides), name: 'prod' }, 'lib/config/environments/prod.yaml');
const failure = (overrides: Record<string, unknown>): ConfigError => {
  try {
    load(overrides);
  } catch (err) {
    return err as ConfigError;
  }
  throw new Error('no error');
};

describe('GIVEN resources in decimal units and fractions of a core', () => {
  const config = load({ apps: { crm: { resources: { requests: { cpu: '0.25', memory: '100M' }, limits: { memory: '1000M', cpu: '1.5' } } } } });
  const files = renderPlatform(new Platform(config));
  const deployment = yaml.load(files.get('prod/app/Deployment.app.crm.yaml')!) as any;

  test('THEN the Deployment requests and limits exactly what the file says (not 96Mi for 100M)', () => {
    expect(deployment.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '0.25', memory: '100M' }, limits: { cpu: '1.5', memory: '1000M' } });
  });
});

describe('GIVEN an app with 0 replicas', () => {
  test('THEN it is refused, since its autoscaler would run one pod anyway', () => {
    const err = failure({ apps: { crm: { replicas: { min: 0, max: 0 } } } });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('apps.crm.replicas.min = 0: is 0, but the app\'s autoscaler always keeps at least one pod, so 0 would silently become 1; fix: use 1');
  });
});

describe.each([
  ['node.memory', { node: { cpu: 4, memory: '16GB' } }, '"16GB"'],
  ['node.memory', { node: { cpu: 4, memory: '1gb' } }, '"1gb"'],
  ['edge.maxBodySize', { edge: { maxBodySize: '512MB' } }, '"512MB"'],
])('GIVEN %s in a unit Kubernetes does not know', (key, overrides, shown) => {
  test('THEN it is a configuration error naming the key, the value and the fix, not an uncaught exception', () => {
    const err = failure(overrides);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`${key} = ${shown}: is not a Kubernetes quantity; fix:`);
  });
});

describe('GIVEN credentials written where they are refused', () => {
  test('WHEN a plain env value has a credential name THEN the error names the key, never the value', () => {
    const err = failure({ apps: { crm: { env: { STRIPE_SECRET_KEY: 'sk_live_doNotEcho1' } } } });
    expect(err.message).toContain('apps.crm.env.STRIPE_SECRET_KEY = "(not shown: a credential)": looks like a credential');
    expect(err.message).not.toContain('doNotEcho1');
  });

  test('WHEN the B2 endpoint carries a key in its user info THEN the error hides it', () => {
    const err = failure({ backup: { b2: { endpoint: 'https://keyid:doNotEcho2@s3.eu-central-003.backblazeb2.com' } } });
    expect(err.message).toContain('backup.b2.endpoint = "https://keyid:(not shown)@s3.eu-central-003.backblazeb2.com"');
    expect(err.message).not.toContain('doNotEcho2');
  });

  test('WHEN gitops.repoUrl carries a token THEN it is refused (it would be committed) without showing the token', () => {
    const err = failure({ gitops: { repoUrl: 'https://ci:ghp_doNotEcho3@github.com/acme/platform.git' } });
    expect(err.message).toContain('gitops.repoUrl = "https://ci:(not shown)@github.com/acme/platform.git": holds a password or token');
    expect(err.message).not.toContain('doNotEcho3');
  });
});
