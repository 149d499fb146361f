/**
 * The first-install rehearsal (README "First-install rehearsal"), second half of the team's environments
 * (`prod`: test/rehearsal-day2.real.test.ts).
 */
import { rehearseEnvironments } from './helpers/rehearsal';

rehearseEnvironments(1, 2, { except: ['prod'] });
