/**
 * `npm start`: load the config, build the app, start every adapter whose credentials are configured — or the
 * terminal chat when none is — and on SIGINT/SIGTERM stop taking messages, let replies in flight finish (bounded),
 * then close the database: everything stops in the reverse order it started.
 */
import { join } from 'node:path';
import { runConsoleChat } from './adapters/console/console-chat.js';
import { createDiscordAdapter } from './adapters/discord/adapter.js';
import { createQQAdapter } from './adapters/koishi/adapter.js';
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

/** The platform adapters whose credentials are configured. */
export function configuredAdapters(config: OmoideConfig, app: App): Service[] {
  const commands = createCommandHandler({
    engine: app.engine,
    characters: app.characters,
    translator: app.translator,
    memory: app.memory,
    store: app.store,
    memoryScope: app.config.memory.scope,
    consolidate: (scope) => app.consolidator.runDue(scope),
    erase: (scope) => app.erasePerson(scope),
  });
  const services: Service[] = [];
  if (config.discord.token) {
    const adapter = createDiscordAdapter({
      token: config.discord.token,
      ...(config.discord.apiBase ? { apiBase: config.discord.apiBase } : {}),
      handler: app.engine,
      commands,
      translator: app.translator,
      ownerIds: config.discord.ownerIds,
      cooldownMs: config.discord.cooldownMs,
      nameTriggerChannels: config.discord.nameTriggerChannels,
      namesFor: (guildId, channelId) => {
        const character = app.engine.characterFor('discord', guildId, channelId);
        return [character.name, ...character.aliases];
      },
    });
    services.push({ name: 'discord', start: () => adapter.start(), stop: () => adapter.stop() });
  }
  const qq = config.qq;
  const qqReady = qq.selfId && (qq.protocol === 'ws' ? qq.endpoint : qq.protocol === 'http' ? qq.endpoint && qq.port : qq.port);
  if (qqReady) {
    const adapter = createQQAdapter({
      protocol: qq.protocol,
      ...(qq.endpoint ? { endpoint: qq.endpoint } : {}),
      selfId: qq.selfId!,
      ...(qq.token ? { token: qq.token } : {}),
      ...(qq.secret ? { secret: qq.secret } : {}),
      path: qq.path,
      host: qq.host,
      ...(qq.port ? { port: qq.port } : {}),
      handler: app.engine,
      commands,
      translator: app.translator,
      ownerIds: qq.ownerIds,
      cooldownMs: qq.cooldownMs,
    });
    services.push({ name: 'qq', start: () => adapter.start(), stop: () => adapter.stop() });
  } else if (qq.selfId || qq.endpoint || qq.port) {
    logger.warn('QQ is partly configured and will not start: it needs qq.selfId plus qq.endpoint (ws), qq.port (ws-reverse) or both (http)');
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
      await runConsoleChat({
        engine: app.engine,
        characters: app.characters,
        translator: app.translator,
        chatModel: app.chatModel,
        clock: app.clock,
        userName: process.env.USER || 'you',
        input: process.stdin,
        output: process.stdout,
        interactive,
      });
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
