/**
 * The team's own environments (lib/config/environments, whatever they hold): only checks that hold
 * for every valid configuration. Assertions about sample values live on test/fixtures/environments.
 */
import { ENVIRONMENTS_DIR } from '../lib/config/load';
import { describeInvariants } from './helpers/invariants';

describeInvariants('GIVEN the environments in lib/config/environments', ENVIRONMENTS_DIR);
