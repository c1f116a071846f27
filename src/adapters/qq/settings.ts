/**
 * QQ's settings (`qq:` in config.yaml), mounted by src/config.ts and validated here once, the connection as a whole
 * included: QQ starts when `selfId` is set, and then everything its protocol needs must be there too.
 */
import { z } from 'zod';
import { isLoopbackHost } from './peer-guard.js';

export const qqSettingsSchema = z
  .object({
    /** ws: omoide dials the implementation; ws-reverse: it dials omoide; http: its HTTP API, events POSTed to omoide */
    protocol: z.enum(['ws', 'ws-reverse', 'http']).default('ws'),
    /** ws: the implementation's websocket, e.g. ws://127.0.0.1:3001; http: its HTTP API */
    endpoint: z.string().url().optional(),
    /** the bot's QQ number */
    selfId: z.string().regex(/^\d{5,12}$/, 'a QQ number (5-12 digits)').optional(),
    /** OneBot access_token; prefer ONEBOT_TOKEN. Sent by omoide; ws-reverse: required of the implementation */
    token: z.string().min(1).optional(),
    /** http: OneBot secret that signs posted events (X-Signature); prefer ONEBOT_SECRET */
    secret: z.string().min(1).optional(),
    /** ws-reverse / http: the path omoide serves */
    path: z.string().startsWith('/').default('/onebot'),
    /** ws-reverse / http: the address omoide listens on; another than loopback needs the token / the secret */
    host: z.string().min(1).default('127.0.0.1'),
    /** ws-reverse / http: the port omoide listens on */
    port: z.number().int().min(1).max(65535).optional(),
    /** QQ numbers that count as admins everywhere, besides group owners and admins */
    ownerIds: z.array(z.string().regex(/^\d+$/, 'a QQ number')).default([]),
    /** addressed messages from one user closer together than this are ignored */
    cooldownMs: z.number().int().min(0).default(2000),
  })
  .strict()
  .superRefine((qq, context) => {
    const issue = (key: string, message: string) => context.addIssue({ code: 'custom', path: [key], message });
    const partly = qq.endpoint !== undefined || qq.port !== undefined;
    if (qq.selfId === undefined) {
      if (partly) issue('selfId', "the bot's QQ number, to connect to QQ (qq.endpoint or qq.port is set)");
      return;
    }
    if (qq.protocol !== 'ws-reverse' && qq.endpoint === undefined) {
      issue('endpoint', `the OneBot ${qq.protocol} address (e.g. ${qq.protocol === 'ws' ? 'ws://127.0.0.1:3001' : 'http://127.0.0.1:5700'})`);
    }
    if (qq.protocol !== 'ws' && qq.port === undefined) issue('port', `the port omoide listens on for ${qq.protocol}`);
    if (qq.protocol === 'ws-reverse' && qq.token === undefined && !isLoopbackHost(qq.host)) {
      issue('token', `an access token (ONEBOT_TOKEN) to listen for ws-reverse on ${qq.host}, which is not loopback`);
    }
    if (qq.protocol === 'http' && qq.secret === undefined && !isLoopbackHost(qq.host)) {
      issue('secret', `a OneBot secret (ONEBOT_SECRET) to receive http events on ${qq.host}, which is not loopback`);
    }
  });

export type QQSettings = z.infer<typeof qqSettingsSchema>;

/** Settings of a QQ connection that is configured: its QQ number is known. */
export type QQConnectionSettings = QQSettings & { readonly selfId: string };

export function isQQConfigured(settings: QQSettings): settings is QQConnectionSettings {
  return settings.selfId !== undefined;
}
