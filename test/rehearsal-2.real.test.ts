/**
 * The first-install rehearsal (README "First-install rehearsal"), second half of the team's environments.
 */
import { rehearseEnvironments } from './helpers/rehearsal';

rehearseEnvironments(1, 2);
