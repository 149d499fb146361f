// Keeps every snapshot in the top-level __snapshots__/ folder, named after its test file.
const path = require('path');

const root = path.resolve(__dirname, '..');
const snapshots = path.join(root, '__snapshots__');

module.exports = {
  resolveSnapshotPath: (testPath, extension) => path.join(snapshots, path.relative(path.join(root, 'test'), testPath) + extension),
  resolveTestPath: (snapshotPath, extension) => path.join(root, 'test', path.relative(snapshots, snapshotPath).slice(0, -extension.length)),
  testPathForConsistencyCheck: path.join(root, 'test', 'example.test.ts'),
};
