/**
 * What an owner of a workload (a data service, say) contributes to monitoring: its alert rules
 * and the rows of the overview dashboard, computed from the one threshold table (`config.alerts`).
 * The monitoring chart collects them; it does not enumerate the owners.
 */
import { IAlertContributor } from './alert-rules';
import { IDashboardContributor } from './dashboards';

export interface IMonitoringContributor extends IAlertContributor, IDashboardContributor {}
