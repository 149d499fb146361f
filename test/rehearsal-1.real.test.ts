/**
 * The first-install rehearsal (README "First-install rehearsal"), first half of the team's environments:
 * each from an empty lab cluster to every Application Synced and Healthy with the real Argo CD.
 */
import { rehearseEnvironments } from './helpers/rehearsal';

rehearseEnvironments(0, 2);
