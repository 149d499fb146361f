/** The compiled app's start-up cost without synthesis: load every module main.js loads, then exit. */
import '../../charts/platform';
import '../../lib/synth';
import '../../lib/config/load';
