import { App, Chart } from 'cdk8s';
import { BaseChart } from '../charts/base';
import { MinioChart } from '../charts/minio';
import { RedisChart } from '../charts/redis';
import { PlatformConfig } from './config/schema';
import { Minio } from './constructs/minio';
import { Redis } from './constructs/redis';

/**
 * The whole platform of one environment: one cdk8s App whose charts each become one
 * folder in dist/<env>/ and one Argo CD Application.
 */
export class Platform {
  public readonly app: App;
  public readonly config: PlatformConfig;
  public readonly base: BaseChart;
  /** Host, port and Secret of Redis, for the app chart. */
  public readonly redis: Redis;
  /** S3 endpoint, buckets and Secrets of MinIO, for the app chart and backups. */
  public readonly minio: Minio;

  constructor(config: PlatformConfig) {
    this.config = config;
    this.app = new App();
    this.base = new BaseChart(this.app, 'base', { config });
    this.redis = new RedisChart(this.app, 'redis', { config }).redis;
    this.minio = new MinioChart(this.app, 'minio', { config }).minio;
  }

  /** Charts in construct order; the id of each is its folder name. */
  public get charts(): Chart[] {
    return this.app.charts;
  }
}
