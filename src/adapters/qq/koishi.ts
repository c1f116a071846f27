/**
 * Loading Koishi and its OneBot adapter. Koishi is loaded through CommonJS: its ESM entry fails on Node 20 ("Class
 * extends value #<Object> is not a constructor"), and the onebot adapter itself `require`s koishi, so both must share
 * the CommonJS instances. Modules importing this one use only type imports of koishi; the modules load on first use.
 */
import { createRequire } from 'node:module';
import type * as KoishiModule from 'koishi';
import type * as OneBotModule from 'koishi-plugin-adapter-onebot';
import type * as ServerModule from '@koishijs/plugin-server';
import type { Logger } from '../../util/logger.js';

export interface Koishi {
  readonly koishi: typeof KoishiModule;
  readonly OneBotBot: typeof OneBotModule.OneBotBot;
  readonly OneBot: typeof OneBotModule.OneBot;
  readonly Server: typeof ServerModule.Server;
}

let loaded: Koishi | null = null;
let loggerBridgeInstalled = false;

export function loadKoishi(): Koishi {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const koishi = require('koishi') as typeof KoishiModule;
  const onebot = require('koishi-plugin-adapter-onebot') as typeof OneBotModule;
  const server = require('@koishijs/plugin-server') as typeof ServerModule;
  loaded = { koishi, OneBotBot: onebot.OneBotBot, OneBot: onebot.OneBot, Server: server.Server };
  return loaded;
}

/**
 * Koishi prints through reggol straight to stdout; route its lines into omoide's logger instead (warnings and
 * errors as such, the rest at debug), where registered secrets are masked. reggol's targets are process-wide.
 */
export function bridgeKoishiLogs(logger: Logger): void {
  if (loggerBridgeInstalled) return;
  loggerBridgeInstalled = true;
  const { koishi } = loadKoishi();
  const bridge = logger.child('koishi');
  koishi.Logger.targets.splice(0, koishi.Logger.targets.length, {
    colors: 0,
    record(record) {
      const line = `[${record.name}] ${record.content}`;
      if (record.type === 'error') bridge.error(line);
      else if (record.type === 'warn') bridge.warn(line);
      else bridge.debug(line);
    },
  });
}
