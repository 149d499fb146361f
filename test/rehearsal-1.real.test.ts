/**
 * The first-install rehearsal (README "First-install rehearsal"), first half of the team's environments:
 * each from an empty lab cluster to every Application Synced and Healthy with the real Argo CD. `prod` is
 * installed the same way, with the same checks, by test/rehearsal-day2.real.test.ts before its day-2 steps.
 */
import { rehearseEnvironments } from './helpers/rehearsal';

rehearseEnvironments(0, 2, { except: ['prod'] });
