/** The compiled app's start-up cost without synthesis: load every module main.js loads, then exit. */
import '../../lib/platform';
import '../../lib/synth';
import '../../lib/config/load';
