/**
 * promtool, amtool and alertmanager of the releases kube-prometheus-stack 88.5.3 deploys (Prometheus v3.14.0,
 * Alertmanager v0.34.0), built from their Go modules by scripts/prometheus/build.sh and scripts/alertmanager/build.sh
 * into .tools/ (scripts/build-programs.sh). Each constant is the path, or undefined when not built yet.
 */
import * as fs from 'fs';
import * as path from 'path';
import { findProjectRoot } from '../../lib/project';

const tools = path.join(findProjectRoot(__dirname), '.tools');
const built = (p: string): string | undefined => (fs.existsSync(p) ? p : undefined);

export const PROMTOOL_BIN = built(path.join(tools, 'prometheus', 'bin', 'promtool'));
export const AMTOOL_BIN = built(path.join(tools, 'alertmanager', 'bin', 'amtool'));
export const ALERTMANAGER_BIN = built(path.join(tools, 'alertmanager', 'bin', 'alertmanager'));
