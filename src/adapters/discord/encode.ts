/**
 * Encoding for Discord: the message limit replies are split to, and the allowed-mentions policy every message the
 * bot sends carries.
 */
import type { MessageMentionOptions } from 'discord.js';

/** Discord refuses message content longer than this. */
export const discordMessageLimit = 2000;

/**
 * Never ping @everyone, @here, a role or a user because of what the model wrote (`parse: []` turns off parsing of
 * `<@id>`, `<@&id>` and `@everyone` in the content); only the person the bot answers is notified, through the
 * reply itself (`repliedUser: true`), as with any human reply.
 */
export const discordAllowedMentions: Readonly<MessageMentionOptions> = Object.freeze({ parse: [], repliedUser: true });
