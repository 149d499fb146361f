/** The `minio` section, beside the construct that reads it. */
import { z } from '../../config/zod';
import { dnsName, k8sName, resources, s3BucketName, storage } from '../../config/fields';

const minioBucket = z.strictObject({
  name: s3BucketName(),
  /** `public-download`: anyone may GET objects (no listing); `private`: access keys only. */
  access: z.enum(['public-download', 'private']),
  /** Turned on by provisioning; turning it off again is a manual decision (old versions stay). */
  versioning: z.boolean().default(false),
});

export const minioSchema = z.strictObject({
  storage,
  resources: resources(),
  /** The web console (MINIO_BROWSER_REDIRECT_URL): an admin UI on its own host (IP allow-list). */
  consoleHost: dnsName(),
  /** The S3 API for apps and presigned URLs (uploads and private downloads). */
  apiHost: dnsName(),
  /** Public downloads: anonymous GETs of objects in public-download buckets only (S3_PUBLIC_URL). */
  publicHost: dnsName(),
  buckets: z.array(minioBucket),
  /** One access key per app, limited by a policy to the buckets listed here. */
  appAccess: z
    .record(
      k8sName(),
      z.strictObject({
        buckets: z.array(z.string()).min(1, 'lists no bucket; fix: name at least one bucket or remove the app'),
        /** Buckets whose objects the app links to publicly; each must be public-download. */
        publicLinks: z.array(z.string()).default([]),
      }).nullable(),
    )
    .default({})
    // `<app>: null` removes a default entry (with the app).
    .transform((access) => Object.fromEntries(Object.entries(access).filter((e): e is [string, NonNullable<typeof e[1]>] => e[1] !== null))),
  provisioning: z.strictObject({ resources: resources() }),
});

export type MinioConfig = z.output<typeof minioSchema>;
