// What the incident workflow is handed: the config, a logger and the clock (never Date.now()).
import type { Config } from '../config.js';
import type { Logger } from '../log.js';

export interface WorkflowCtx {
  config: Config;
  log: Logger;
  now(): Date;
}
