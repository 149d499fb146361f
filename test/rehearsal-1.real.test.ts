/**
 * The first install, rehearsed (issue 27): shard 1 of 2 of the team's environments (see
 * test/helpers/rehearsal.ts and scripts/lab/rehearsal.ts). Two shards, two files: jest runs them side by side.
 */
import { rehearseEnvironments } from './helpers/rehearsal';

rehearseEnvironments(0, 2);
