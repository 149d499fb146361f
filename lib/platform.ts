import { App, Chart } from 'cdk8s';
import { BaseChart } from '../charts/base';
import { EdgeChart } from '../charts/edge';
import { PostgresChart } from '../charts/postgres';
import { PlatformConfig } from './config/schema';

/**
 * The whole platform of one environment: one cdk8s App whose charts each become one
 * folder in dist/<env>/ and one Argo CD Application.
 */
export class Platform {
  public readonly app: App;
  public readonly config: PlatformConfig;
  public readonly base: BaseChart;
  public readonly postgres: PostgresChart;
  public readonly edge: EdgeChart;

  constructor(config: PlatformConfig) {
    this.config = config;
    this.app = new App();
    this.base = new BaseChart(this.app, 'base', { config });
    this.postgres = new PostgresChart(this.app, 'postgres', { config });
    this.edge = new EdgeChart(this.app, 'edge', { config });
  }

  /** Charts in construct order; the id of each is its folder name. */
  public get charts(): Chart[] {
    return this.app.charts;
  }
}
