/**
 * Runs the consolidator on a cron schedule (node-cron 4). `noOverlap` is essential: node-cron allows overlapping
 * executions by default, and a catch-up run can outlast the 15 minutes between ticks. A tick that finds the previous
 * run still going is skipped and logged, never queued.
 */
import { schedule as scheduleTask, validate as isValidCron, type ScheduledTask } from 'node-cron';
import { ConfigError } from '../core/errors.js';
import { createLogger, type Logger } from '../util/logger.js';
import type { Consolidator, RunDueResult } from './consolidator.js';

export interface ConsolidationSchedulerOptions {
  readonly consolidator: Pick<Consolidator, 'runDue'>;
  /** cron expression; default every 15 minutes */
  readonly schedule?: string;
  /** IANA timezone the expression is read in; default the system's */
  readonly timezone?: string;
  readonly logger?: Logger;
  /** called after each scheduled run (tests, metrics) */
  readonly onRun?: (result: RunDueResult) => void;
  /** called when a tick is skipped because the previous run is still going */
  readonly onOverlap?: () => void;
}

export interface ConsolidationScheduler {
  /** Starts ticking; returns stop. Starting twice is a no-op. */
  start(): () => Promise<void>;
  /** Stops ticking and cancels the run in progress (its jobs go back to pending), then waits for it to end. */
  stop(): Promise<void>;
}

export const defaultConsolidationSchedule = '*/15 * * * *';

export function createConsolidationScheduler(options: ConsolidationSchedulerOptions): ConsolidationScheduler {
  const expression = options.schedule ?? defaultConsolidationSchedule;
  if (!isValidCron(expression)) throw new ConfigError('consolidation.schedule', `a cron expression such as "${defaultConsolidationSchedule}"`, `"${expression}"`);
  const logger = options.logger ?? createLogger('jobs:consolidate');
  let task: ScheduledTask | null = null;
  let controller: AbortController | null = null;
  let running: Promise<void> | null = null;

  async function tick(): Promise<void> {
    controller = new AbortController();
    try {
      const result = await options.consolidator.runDue({ signal: controller.signal });
      options.onRun?.(result);
    } catch (error) {
      // One failed run must not stop the schedule; the next tick tries again.
      logger.error('scheduled consolidation failed', { error });
    } finally {
      controller = null;
    }
  }

  async function stop(): Promise<void> {
    const stopping = task;
    task = null;
    if (stopping) await stopping.destroy();
    controller?.abort(new Error('the consolidation scheduler stopped'));
    await running;
  }

  return {
    start() {
      if (!task) {
        task = scheduleTask(
          expression,
          () => {
            running = tick();
            return running;
          },
          {
            name: 'omoide-consolidation',
            noOverlap: true,
            ...(options.timezone ? { timezone: options.timezone } : {}),
            logger: {
              info: (message) => logger.debug(message),
              warn: (message) => logger.debug(message),
              error: (message, error) => logger.error(typeof message === 'string' ? message : message.message, error ? { error } : undefined),
              debug: (message) => logger.debug(typeof message === 'string' ? message : message.message),
            },
          },
        );
        task.on('execution:overlap', () => {
          logger.warn('consolidation is still running from the previous tick; this tick is skipped');
          options.onOverlap?.();
        });
        logger.info('consolidation scheduled', { schedule: expression, timezone: options.timezone ?? 'system', next: task.getNextRun()?.toISOString() });
      }
      return stop;
    },
    stop,
  };
}
