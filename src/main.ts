/**
 * `npm start`: load the config, build the app, start every adapter whose credentials are configured — or the
 * terminal chat when none is — and on SIGINT/SIGTERM stop taking messages, let replies in flight finish (bounded),
 * then close the database: everything stops in the reverse order it started.
 */
import { join } from 'node:path';
import { runConsoleChat } from './adapters/console/console-chat.js';
import { createDiscordAdapter } from './adapters/discord/adapter.js';
import { createQQAdapter } from './adapters/qq/adapter.js';
import { isQQConfigured } from './adapters/qq/settings.js';
import { createMessageRuntime, type MessageRuntime } from './adapters/runtime/runtime.js';
import { createApp } from './app.js';
import { createConsolidationScheduler } from './consolidation/scheduler.js';
import { reembedProgressBar } from './util/progress.js';
import type { App } from './app.js';
import { createCommandHandler } from './commands/index.js';
import type { OmoideConfig } from './config.js';
import { createLogger, logToFile } from './util/logger.js';

const logger = createLogger('main');

interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The runtime one adapter hands its messages to: the engine, with the platform's cooldown and name triggers. */
export function runtimeFor(app: App, platform: string, settings: { cooldownMs: number; nameTriggerChannels?: readonly string[] }): MessageRuntime {
  return createMessageRuntime({
    engine: app.engine,
    cooldownMs: settings.cooldownMs,
    ...(settings.nameTriggerChannels ? { nameTriggerChannels: settings.nameTriggerChannels } : {}),
    logger: createLogger(`runtime:${platform}`),
  });
}

/** The terminal chat over this process's stdin and stdout, as one person (optionally with a chosen character). */
export function runTerminalChat(app: App, options: { userName: string; characterId?: string; interactive: boolean }): Promise<void> {
  return runConsoleChat({
    runtime: runtimeFor(app, 'console', { cooldownMs: 0 }),
    engine: app.engine,
    characters: app.characters,
    translator: app.translator,
    chatModel: app.chatModel,
    clock: app.clock,
    userName: options.userName,
    ...(options.characterId !== undefined ? { characterId: options.characterId } : {}),
    input: process.stdin,
    output: process.stdout,
    interactive: options.interactive,
  });
}

/** The platform adapters whose credentials are configured. */
export function configuredAdapters(config: OmoideConfig, app: App): Service[] {
  const commands = createCommandHandler({
    engine: app.engine,
    characters: app.characters,
    translator: app.translator,
    memory: app.memory,
    store: app.store,
    memoryScope: app.config.memory.scope,
    consolidate: (scope) => app.consolidateNow(scope),
    erase: app.erasePerson,
    onReloaded: () => app.reindexScripts(),
  });
  const services: Service[] = [];
  const { discord, qq } = config;
  if (discord.token) {
    const adapter = createDiscordAdapter({
      token: discord.token,
      ...(discord.apiBase ? { apiBase: discord.apiBase } : {}),
      runtime: runtimeFor(app, 'discord', discord),
      commands,
      translator: app.translator,
      ownerIds: discord.ownerIds,
    });
    services.push({ name: 'discord', start: () => adapter.start(), stop: () => adapter.stop() });
  }
  if (isQQConfigured(qq)) {
    const adapter = createQQAdapter({ settings: qq, runtime: runtimeFor(app, 'qq', qq), commands, translator: app.translator });
    services.push({ name: 'qq', start: () => adapter.start(), stop: () => adapter.stop() });
  }
  return services;
}

export async function runService(config: OmoideConfig): Promise<void> {
  const interactive = Boolean(process.stdin.isTTY);
  const app = await createApp(config, { onReembedProgress: reembedProgressBar() });
  for (const error of app.characterErrors) logger.warn('character not loaded', { error: error.message });
  const services = configuredAdapters(config, app);
  // Memory consolidation runs beside every mode, the terminal chat included: sessions close by the clock, not by restarts.
  const scheduler = config.consolidation.enabled
    ? createConsolidationScheduler({ consolidator: app.consolidator, schedule: config.consolidation.schedule, timezone: config.consolidation.timezone })
    : null;
  scheduler?.start();
  if (services.length === 0) {
    // No platform configured: the terminal chat, which owns the screen (logs go to a file).
    if (interactive) logToFile(join(config.dataDir, 'omoide.log'));
    try {
      await runTerminalChat(app, { userName: process.env.USER || 'you', interactive });
    } finally {
      await scheduler?.stop();
      await app.close();
    }
    return;
  }

  const started: Service[] = [];
  const stopAll = async () => {
    for (const service of [...started].reverse()) {
      try {
        await service.stop();
        logger.info('stopped', { service: service.name });
      } catch (error) {
        logger.error('stop failed', { service: service.name, error });
      }
    }
    await scheduler?.stop();
    await app.close();
  };
  try {
    for (const service of services) {
      await service.start();
      started.push(service);
      logger.info('started', { service: service.name });
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  logger.info('omoide is running', { llm: `${app.chatModel.provider} ${app.chatModel.modelId}`, services: services.map((s) => s.name) });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info('shutting down', { signal });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      void stopAll().then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
