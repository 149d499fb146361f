/**
 * The MinIO server and mc the real-MinIO tests run are built (scripts/minio/build.sh) from the commits
 * the pinned images are released from: MinIO tags releases RELEASE.<UTC time> and publishes no semver
 * tags, so the tools modules pin Go pseudo-versions, whose timestamp is that commit's UTC time.
 */
import * as fs from 'fs';
import * as path from 'path';
import { IMAGES } from '../lib/config/versions';

const ROOT = path.join(__dirname, '..');
/** RELEASE.2025-09-07T16-13-09Z → 20250907161309. */
const releaseTime = (image: string) => /:RELEASE\.(\d{4})-(\d\d)-(\d\d)T(\d\d)-(\d\d)-(\d\d)Z$/.exec(image)?.slice(1).join('');
const pseudoTime = (module: string, goMod: string) =>
  new RegExp(`^require ${module.replace(/\./g, '\\.')} v0\\.0\\.0-(\\d{14})-[0-9a-f]{12}$`, 'm').exec(goMod)?.[1];

describe('GIVEN the images lib/config/versions.ts pins and the tools modules of scripts/minio/go', () => {
  test.each([
    ['minio', IMAGES.minio, 'server', 'github.com/minio/minio'],
    ['minioClient', IMAGES.minioClient, 'mc', 'github.com/minio/mc'],
  ])('THEN IMAGES.%s (%s) and the module built for the tests are the same release', (_key, image, dir, module) => {
    const goMod = fs.readFileSync(path.join(ROOT, 'scripts', 'minio', 'go', dir, 'go.mod'), 'utf8');
    const release = releaseTime(image);
    expect(release).toMatch(/^\d{14}$/);
    expect(pseudoTime(module, goMod)).toBe(release);
  });
});
