/**
 * What an owner of a workload (a data service, say) contributes to monitoring: its alert rules
 * and the rows of the overview dashboard, computed from the one threshold table (`config.alerts`).
 * The monitoring chart collects them; it does not enumerate the owners.
 */
import { AlertThresholds } from '../../config/alerts';
import type { AlertGroup } from './alert-rules';
import type { DashboardKit, DashboardRow } from './dashboards';

export interface IMonitoringContributor {
  /** Rule groups by area; each area becomes one PrometheusRule `platform-<area>`. */
  alertRules(thresholds: AlertThresholds): readonly AlertGroup[];
  /** Rows of the platform overview dashboard, in order. */
  dashboardRows(kit: DashboardKit): readonly DashboardRow[];
}
