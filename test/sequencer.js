/**
 * The order jest starts test files in. Jest's own puts the files that took longest last time first, and
 * on a machine with no record (every CI run) the largest files first: the rehearsals, small files that
 * each hold a lab for many minutes, would then start last and run alone at the end while the other
 * worker idles. Here: the first-install and day-2 rehearsals first, then the other real-program files,
 * then the rest; jest's own order (time recorded, else size) within each group.
 */
const Sequencer = require('@jest/test-sequencer').default;

const GROUPS = [/\/rehearsal[^/]*\.real\.test\.ts$/, /\.real\.test\.ts$/];
const groupOf = (path) => {
  const i = GROUPS.findIndex((re) => re.test(path));
  return i < 0 ? GROUPS.length : i;
};

class PlatformSequencer extends Sequencer {
  sort(tests) {
    const byJest = super.sort(tests);
    const rank = new Map(byJest.map((t, i) => [t.path, i]));
    return [...byJest].sort((a, b) => groupOf(a.path) - groupOf(b.path) || rank.get(a.path) - rank.get(b.path));
  }
}

module.exports = PlatformSequencer;
