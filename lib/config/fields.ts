/** Reusable zod field types. Each message says what is wrong and how to fix it. */
import * as net from 'net';
import { CronExpressionParser } from 'cron-parser';
import { z } from './zod';
import { isQuantity, parseQuantity } from './quantity';

/**
 * Every count has an upper bound with its reason: a typo (an extra zero, a pasted timestamp) fails
 * with what the limit protects instead of synthesizing a platform no node can run.
 */
export interface Bound {
  /** The largest value accepted. */
  readonly max: number;
  /** Why larger values are refused, completing "... is refused because ...". */
  readonly why: string;
}

const atMost = (what: string, bound: Bound) =>
  `is more than ${bound.max} ${what}, the most this platform accepts because ${bound.why}; fix: use at most ${bound.max}`;

/** A replica count: a whole number from 0 to `bound.max`. */
export const replicas = (bound: Bound) =>
  z
    .number()
    .int('must be a whole number of replicas; fix: use 0, 1, 2, ...')
    .min(0, 'must not be negative; fix: use 0 or more replicas')
    .max(bound.max, atMost('replicas', bound));

/** A whole number from 1 to `bound.max`. */
export const positiveInt = (what: string, bound: Bound) =>
  z
    .number()
    .int(`must be a whole number of ${what}; fix: write it like 1, 2, 3 (no decimals)`)
    .positive(`must be greater than 0; fix: use at least 1 ${what}`)
    .max(bound.max, atMost(what, bound));

/** A whole number from 0 to `bound.max`. */
export const count = (what: string, bound: Bound) =>
  z
    .number()
    .int(`must be a whole number of ${what}; fix: write it like 0, 1, 2 (no decimals)`)
    .min(0, `must not be negative; fix: use 0 or more ${what}`)
    .max(bound.max, atMost(what, bound));

/** Bounds shared by several keys. */
export const BOUNDS = {
  retentionDays: { max: 3650, why: 'ten years of daily copies is more than any off-site bucket here is sized for (archive older data by hand)' },
  seconds: { max: 86400, why: 'a day is the longest timeout or interval PgBouncer and Redis are tuned for here' },
} satisfies Record<string, Bound>;

/** A Kubernetes quantity such as 512Mi, 10Gi, 250m. */
export const quantity = () =>
  z.string().refine(isQuantity, 'is not a Kubernetes quantity; fix: write it like 512Mi, 10Gi (memory, storage) or 250m, 2 (CPU)');

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${DNS_LABEL}(\\.${DNS_LABEL})+$`);

/** A fully qualified DNS name with at least two labels, lower case (RFC 1123). */
export const dnsName = () =>
  z.string().regex(DNS_NAME, 'is not a DNS name; fix: use lower-case letters, digits, "-" and dots, like example.com');

/** A Kubernetes object name (RFC 1123 label). */
export const k8sName = () =>
  z
    .string()
    .regex(new RegExp(`^(?=.{1,63}$)${DNS_LABEL}$`), 'is not a valid Kubernetes name; fix: use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit');

/**
 * An S3 bucket name as every S3 server accepts it: 3-63 characters of lower-case letters,
 * digits, "-" and ".", starting and ending with a letter or digit, not an IP address.
 */
export const s3BucketName = () =>
  z
    .string()
    .refine(
      isS3BucketName,
      'is not a valid S3 bucket name; fix: use 3-63 lower-case letters, digits and "-", starting and ending with a letter or digit, like tour-images',
    );

export function isS3BucketName(value: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) &&
    !value.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(value) &&
    !value.startsWith('xn--') &&
    !value.endsWith('-s3alias')
  );
}

/** A five-field cron expression as Kubernetes CronJobs accept it. */
export const cron = () =>
  z.string().refine(isCron, 'is not a five-field cron expression; fix: write it like "0 3 * * *" (minute hour day month weekday)');

function isCron(value: string): boolean {
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(value)) return true;
  if (value.trim().split(/\s+/).length !== 5) return false;
  try {
    CronExpressionParser.parse(value);
    return true;
  } catch {
    return false;
  }
}

/** A container image pinned to a tag (not `latest`) or a digest. */
export const image = () =>
  z.string().refine(
    isPinnedImage,
    'is not a pinned image; fix: name an exact tag like postgres:16.10 or a digest @sha256:..., never "latest" or no tag',
  );

export function isPinnedImage(ref: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(ref)) return true;
  const match = /^[a-z0-9]([a-z0-9._\-/:]*[a-z0-9])?:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.exec(ref);
  if (!match) return false;
  // A colon inside the registry part (host:port/...) is not a tag: the tag follows the last slash.
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
  return lastSegment.includes(':') && match[2] !== 'latest';
}

/** An HTTP path starting with a slash. */
export const httpPath = () => z.string().regex(/^\/[^\s]*$/, 'must start with "/"; fix: write it like /api/health');

/** CPU and memory for one container. CPU limits are left out on purpose (throttling hurts latency). */
export const resources = () =>
  z
    .strictObject({
      requests: z.strictObject({ cpu: quantity(), memory: quantity() }),
      limits: z.strictObject({ memory: quantity(), cpu: quantity().optional() }),
    })
    .superRefine((value, ctx) => {
      if (!isQuantity(value.requests.memory) || !isQuantity(value.limits.memory)) return;
      if (parseQuantity(value.limits.memory) < parseQuantity(value.requests.memory)) {
        ctx.addIssue({
          code: 'custom',
          path: ['limits', 'memory'],
          message: `is below the memory request ${value.requests.memory}; fix: set the limit to at least the request`,
        });
      }
    });

export type Resources = z.infer<ReturnType<typeof resources>>;

/** An IPv4 or IPv6 network in CIDR notation, e.g. 10.0.0.0/8 or 2606:4700::/32. */
export const cidr = () =>
  z.string().refine(isCidr, 'is not a CIDR; fix: write an IPv4 or IPv6 network with its prefix length, like 203.0.113.0/24 or 2001:db8::/32');

export function isCidr(value: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match) return false;
  const bits = net.isIPv4(match[1]) ? 32 : net.isIPv6(match[1]) ? 128 : 0;
  return bits > 0 && Number(match[2]) <= bits;
}

/** Networks no client reaches the internet from: RFC 1918, CGNAT, loopback, link-local, IPv6 unique-local and loopback. */
const PRIVATE_NETWORKS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', 'fc00::/7', 'fe80::/10', '::1/128'];

/** True when every address of `value` (a CIDR, see isCidr) lies inside one private network. */
export function isPrivateCidr(value: string): boolean {
  const [address, prefix] = value.split('/');
  const type = net.isIPv4(address) ? 'ipv4' : 'ipv6';
  return PRIVATE_NETWORKS.some((block) => {
    const [blockAddress, blockPrefix] = block.split('/');
    if ((net.isIPv4(blockAddress) ? 'ipv4' : 'ipv6') !== type || Number(prefix) < Number(blockPrefix)) return false;
    const list = new net.BlockList();
    list.addSubnet(blockAddress, Number(blockPrefix), type);
    return list.check(address, type);
  });
}

// --- GitOps (Argo CD source and sealed secrets) ---

/** A git remote Argo CD can pull: https://host/path, ssh://[user@]host[:port]/path or scp-like user@host:path. */
export const gitUrl = () =>
  z.string()
    .refine(isGitUrl, 'is not a git URL; fix: use https://github.com/<org>/<repo>.git or git@github.com:<org>/<repo>.git')
    .refine((v) => !hasUrlPassword(v), 'holds a password or token, which would be committed to git and shown to everyone who reads dist/; fix: remove "<user>:<token>@" and give Argo CD the credential as a repository Secret');

/** True when a URL carries a password or token in its user info (`https://user:token@host/...`). */
export function hasUrlPassword(value: string): boolean {
  return URL_PASSWORD.test(value);
}
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:[^/@\s]*@/i;

/** `value` with the password of a URL's user info replaced, for error messages. */
export function withoutUrlPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@\s:]*):[^/@\s]*@/i, '$1:(not shown)@');
}

export function isGitUrl(value: string): boolean {
  if (/\s/.test(value)) return false;
  if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}:[^/][^:]*$/.test(value)) return true; // git@github.com:org/repo.git
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  // git:// is git's own read-only protocol (git daemon), which Argo CD also clones from.
  return ['https:', 'ssh:', 'git:'].includes(url.protocol) && url.hostname.includes('.') && url.pathname.replace(/\/+$/, '').split('/').filter(Boolean).length >= 1;
}

/** A branch, tag or commit as `git check-ref-format` accepts it (no spaces, no "..", no ~^:?*[\). */
export const gitRevision = () =>
  z.string().refine(isGitRevision, 'is not a git branch, tag or commit; fix: use a branch like main, a tag like v1.2.0 or a commit SHA, without spaces');

export function isGitRevision(value: string): boolean {
  return (
    value.length > 0 &&
    !/[\s~^:?*[\\\x00-\x1f\x7f]/.test(value) &&
    !value.includes('..') &&
    !value.includes('@{') &&
    !value.includes('//') &&
    !/^[/.-]|[/.]$|\.lock$|\/\./.test(value)
  );
}

/** A folder inside the repository: relative, no "..", no leading or trailing slash. */
export const repoPath = () =>
  z.string().regex(/^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'is not a relative folder of the repository; fix: write it like dist or deploy/dist (no leading "/", no "..")');

/**
 * One value as kubeseal prints it: base64 of [2-byte length n][n bytes RSA-OAEP-wrapped session key]
 * [AES-GCM ciphertext with its 16-byte tag]. Anything else (a plain password pasted by mistake) is refused.
 */
export const sealedValue = () =>
  z.string().refine(isSealedValue, 'is not a kubeseal-encrypted value; fix: paste what `kubeseal --raw` printed for this key, never the plain value');

export function isSealedValue(value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return false;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < 2) return false;
  const wrappedKey = bytes.readUInt16BE(0);
  return [256, 384, 512].includes(wrappedKey) && bytes.length >= 2 + wrappedKey + 16;
}

/** A volume of a data service: its PVC size and StorageClass. */
export const storage = z.strictObject({
  /** PVC size. */
  size: quantity(),
  /** StorageClass; omitted means the platform-wide `storageClass`. */
  storageClass: k8sName().optional(),
});
