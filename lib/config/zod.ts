/**
 * zod, configured before any config schema is built: zod decides per schema, when it is built,
 * whether to compile a fast path with eval. A synth parses a handful of configurations, so
 * compiling costs more than it saves. Every module of lib/config imports z from here.
 */
import { z } from 'zod';

z.config({ jitless: true });

export { z };
