/** Discord's settings (`discord:` in config.yaml), mounted by src/config.ts. Discord starts when a token is set. */
import { z } from 'zod';

export const discordSettingsSchema = z
  .object({
    /** prefer DISCORD_TOKEN */
    token: z.string().min(1).optional(),
    /** the REST api base for proxies, e.g. https://discord-proxy.example/api (DISCORD_API_BASE) */
    apiBase: z.string().url().optional(),
    /** Discord user ids that count as admins everywhere, besides members with Manage Server */
    ownerIds: z.array(z.string().regex(/^\d+$/, 'a Discord user id (digits)')).default([]),
    /** addressed messages from one user closer together than this are ignored */
    cooldownMs: z.number().int().min(0).default(2000),
    /** channel ids ('*' = all) where saying the character's name or alias addresses the bot */
    nameTriggerChannels: z.array(z.string()).default([]),
  })
  .strict();

export type DiscordSettings = z.infer<typeof discordSettingsSchema>;
