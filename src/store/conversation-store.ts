/**
 * Users, conversations, messages and per-channel character choice. Statements are prepared once; each logical write
 * is one transaction.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './db.js';

export interface ConversationKey {
  readonly platform: string;
  /** '' outside servers/groups */
  readonly guildId: string;
  readonly channelId: string;
  readonly characterId: string;
}

export interface StoredMessage {
  readonly id: number;
  readonly conversationId: number;
  readonly userId: number | null;
  readonly role: 'user' | 'assistant';
  readonly speakerName: string;
  readonly content: string;
  readonly tokenCount: number;
  readonly platformMessageId: string | null;
  readonly failed: boolean;
  readonly createdAt: number;
}

export interface NewUserMessage {
  readonly conversation: ConversationKey;
  readonly platformUserId: string;
  readonly displayName: string;
  readonly content: string;
  readonly tokenCount: number;
  readonly platformMessageId: string | null;
  readonly createdAt: number;
}

export interface NewAssistantMessage {
  readonly conversationId: number;
  readonly speakerName: string;
  readonly content: string;
  readonly tokenCount: number;
  readonly replyToMessageId: number;
  readonly failed: boolean;
  readonly createdAt: number;
}

interface MessageRow {
  id: number;
  conversation_id: number;
  user_id: number | null;
  role: 'user' | 'assistant';
  speaker_name: string;
  content: string;
  token_count: number;
  platform_message_id: string | null;
  failed: number;
  created_at: number;
}

function toStoredMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    userId: row.user_id,
    role: row.role,
    speakerName: row.speaker_name,
    content: row.content,
    tokenCount: row.token_count,
    platformMessageId: row.platform_message_id,
    failed: row.failed === 1,
    createdAt: row.created_at,
  };
}

/** One line of a scope's dialogue: a user's message or the character's reply to it. */
export interface ScopeMessage {
  readonly id: number;
  readonly role: 'user' | 'assistant';
  readonly speakerName: string;
  readonly content: string;
  readonly tokenCount: number;
  /** platform epoch ms */
  readonly createdAt: number;
  readonly guildId: string;
}

/** Whose dialogue: a user with a character, in one guild ('' outside guilds) or, with guildId null, in all of them. */
export interface DialogueScope {
  readonly userId: number;
  readonly characterId: string;
  readonly guildId: string | null;
}

/** A (user, character, guild) that has user messages after some id, with its latest message. */
export interface DialogueScopeActivity {
  readonly userId: number;
  readonly characterId: string;
  readonly guildId: string;
  readonly lastMessageId: number;
  readonly lastMessageAt: number;
}

interface ScopeMessageRow {
  id: number;
  role: 'user' | 'assistant';
  speaker_name: string;
  content: string;
  token_count: number;
  created_at: number;
  guild_id: string;
}

export class ConversationStore {
  private readonly upsertUserStatement;
  private readonly upsertConversationStatement;
  private readonly insertMessageStatement;
  private readonly touchConversationStatement;
  private readonly recentMessagesStatement;
  private readonly messageExistsStatement;
  private readonly findUserStatement;
  private readonly getChannelCharacterStatement;
  private readonly setChannelCharacterStatement;
  private readonly countMessagesStatement;
  // prepared on first use: only consolidation needs them
  private scopeActivityStatement?: Statement<[number], { user_id: number; character_id: string; guild_id: string; last_id: number; last_at: number }>;
  private scopeMessagesStatement?: Statement<
    { userId: number; characterId: string; guildId: string | null; afterId: number; throughId: number },
    ScopeMessageRow
  >;
  private deleteRepliesStatement?: Statement<[{ userId: number; characterId: string; guildId: string | null }]>;
  private privateConversationsStatement?: Statement<[number], { id: number }>;
  private deleteEmptyConversationStatement?: Statement<[number]>;
  private deleteChannelCharacterStatement?: Statement<[string, string]>;
  private deleteGoneUserStatement?: Statement<[number]>;
  private deleteUserMessagesStatement?: Statement<[{ userId: number; characterId: string; guildId: string | null }]>;
  // prepared on first use: only importers need it
  private platformIdsStatement?: Statement<[string, string, string, string, string, string], { platform_message_id: string }>;

  constructor(private readonly db: SqliteDatabase) {
    this.upsertUserStatement = db.prepare<[string, string, string, number, number], { id: number }>(`
      INSERT INTO users (platform, platform_user_id, display_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (platform, platform_user_id) DO UPDATE SET
        display_name = excluded.display_name,
        updated_at = max(users.updated_at, excluded.updated_at)
      RETURNING id`);
    this.upsertConversationStatement = db.prepare<[string, string, string, string, number, number], { id: number }>(`
      INSERT INTO conversations (platform, guild_id, channel_id, character_id, created_at, last_message_at)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (platform, guild_id, channel_id, character_id) DO UPDATE SET
        last_message_at = max(conversations.last_message_at, excluded.last_message_at)
      RETURNING id`);
    this.insertMessageStatement = db.prepare(`
      INSERT INTO messages (conversation_id, user_id, role, speaker_name, content, token_count, platform_message_id,
                            reply_to_message_id, failed, created_at)
      VALUES (@conversationId, @userId, @role, @speakerName, @content, @tokenCount, @platformMessageId,
              @replyToMessageId, @failed, @createdAt)`);
    this.touchConversationStatement = db.prepare<[number, number]>(
      `UPDATE conversations SET last_message_at = max(last_message_at, ?) WHERE id = ?`,
    );
    // Newest first so LIMIT keeps the most recent; the caller reverses into reading order.
    this.messageExistsStatement = db.prepare<[number], { id: number }>(`SELECT id FROM messages WHERE id = ?`);
    this.recentMessagesStatement = db.prepare<[number, number], MessageRow>(`
      SELECT id, conversation_id, user_id, role, speaker_name, content, token_count, platform_message_id, failed, created_at
      FROM messages WHERE conversation_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`);
    this.findUserStatement = db.prepare<[string, string], { id: number; display_name: string }>(
      `SELECT id, display_name FROM users WHERE platform = ? AND platform_user_id = ?`,
    );
    this.getChannelCharacterStatement = db.prepare<[string, string, string], { character_id: string }>(
      `SELECT character_id FROM channel_characters WHERE platform = ? AND guild_id = ? AND channel_id = ?`,
    );
    this.setChannelCharacterStatement = db.prepare<[string, string, string, string, number]>(`
      INSERT INTO channel_characters (platform, guild_id, channel_id, character_id, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (platform, guild_id, channel_id) DO UPDATE SET
        character_id = excluded.character_id, updated_at = excluded.updated_at`);
    this.countMessagesStatement = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM messages`);
  }

  /** Stores an incoming user message, creating the user and conversation as needed, in one transaction. */
  readonly recordUserMessage = (message: NewUserMessage): { userId: number; conversationId: number; messageId: number } =>
    this.db.transaction(() => {
      const { conversation: key } = message;
      const userId = this.upsertUserStatement.get(
        key.platform, message.platformUserId, message.displayName, message.createdAt, message.createdAt,
      )!.id;
      const conversationId = this.upsertConversationStatement.get(
        key.platform, key.guildId, key.channelId, key.characterId, message.createdAt, message.createdAt,
      )!.id;
      const messageId = Number(
        this.insertMessageStatement.run({
          conversationId,
          userId,
          role: 'user',
          speakerName: message.displayName,
          content: message.content,
          tokenCount: message.tokenCount,
          platformMessageId: message.platformMessageId,
          replyToMessageId: null,
          failed: 0,
          createdAt: message.createdAt,
        }).lastInsertRowid,
      );
      return { userId, conversationId, messageId };
    })();

  readonly recordAssistantMessage = (message: NewAssistantMessage): number =>
    this.db.transaction(() => {
      const id = Number(
        this.insertMessageStatement.run({
          conversationId: message.conversationId,
          userId: null,
          role: 'assistant',
          speakerName: message.speakerName,
          content: message.content,
          tokenCount: message.tokenCount,
          platformMessageId: null,
          replyToMessageId: message.replyToMessageId,
          failed: message.failed ? 1 : 0,
          createdAt: message.createdAt,
        }).lastInsertRowid,
      );
      this.touchConversationStatement.run(message.createdAt, message.conversationId);
      return id;
    })();

  /** The latest `limit` messages of a conversation, oldest first. */
  recentMessages(conversationId: number, limit: number): StoredMessage[] {
    return this.recentMessagesStatement.all(conversationId, limit).map(toStoredMessage).reverse();
  }

  findUserId(platform: string, platformUserId: string): number | null {
    return this.findUserStatement.get(platform, platformUserId)?.id ?? null;
  }

  channelCharacter(platform: string, guildId: string, channelId: string): string | null {
    return this.getChannelCharacterStatement.get(platform, guildId, channelId)?.character_id ?? null;
  }

  setChannelCharacter(platform: string, guildId: string, channelId: string, characterId: string, now: number): void {
    this.setChannelCharacterStatement.run(platform, guildId, channelId, characterId, now);
  }

  messageExists(id: number): boolean {
    return this.messageExistsStatement.get(id) !== undefined;
  }

  messageCount(): number {
    return this.countMessagesStatement.get()!.n;
  }

  /** Platform message ids in a conversation that start with `prefix`: how an importer knows what it already wrote. */
  platformMessageIdsWithPrefix(key: ConversationKey, prefix: string): Set<string> {
    this.platformIdsStatement ??= this.db.prepare<[string, string, string, string, string, string], { platform_message_id: string }>(`
        SELECT m.platform_message_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE c.platform = ? AND c.guild_id = ? AND c.channel_id = ? AND c.character_id = ?
          AND substr(m.platform_message_id, 1, length(?)) = ?`);
    const rows = this.platformIdsStatement.all(key.platform, key.guildId, key.channelId, key.characterId, prefix, prefix);
    return new Set(rows.map((row) => row.platform_message_id));
  }

  /** Every (user, character, guild) with user messages after `afterId`, with its latest message id and time. */
  dialogueScopesWithMessagesAfter(afterId = 0): DialogueScopeActivity[] {
    this.scopeActivityStatement ??= this.db.prepare(`
      SELECT m.user_id AS user_id, c.character_id AS character_id, c.guild_id AS guild_id,
             max(m.id) AS last_id, max(m.created_at) AS last_at
      FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.role = 'user' AND m.user_id IS NOT NULL AND m.id > ?
      GROUP BY m.user_id, c.character_id, c.guild_id`);
    return this.scopeActivityStatement.all(afterId).map((row) => ({
      userId: row.user_id,
      characterId: row.character_id,
      guildId: row.guild_id,
      lastMessageId: row.last_id,
      lastMessageAt: row.last_at,
    }));
  }

  /**
   * A scope's dialogue with ids in (afterId, throughId]: the user's messages to the character and the character's
   * replies to them (failed replies left out), in time order. Across channels of the guild (or of every guild).
   */
  dialogueOfScope(scope: DialogueScope, afterId: number, throughId: number = Number.MAX_SAFE_INTEGER): ScopeMessage[] {
    this.scopeMessagesStatement ??= this.db.prepare(`
      SELECT m.id AS id, m.role AS role, m.speaker_name AS speaker_name, m.content AS content, m.token_count AS token_count,
             m.created_at AS created_at, c.guild_id AS guild_id
      FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.user_id = @userId AND m.role = 'user' AND m.id > @afterId AND m.id <= @throughId
        AND c.character_id = @characterId AND (@guildId IS NULL OR c.guild_id = @guildId)
      UNION ALL
      SELECT r.id, r.role, r.speaker_name, r.content, r.token_count, r.created_at, c.guild_id
      FROM messages u
        JOIN messages r ON r.reply_to_message_id = u.id
        JOIN conversations c ON c.id = u.conversation_id
      WHERE u.user_id = @userId AND u.role = 'user' AND u.id > @afterId AND u.id <= @throughId
        AND r.role = 'assistant' AND r.failed = 0 AND r.id > @afterId AND r.id <= @throughId
        AND c.character_id = @characterId AND (@guildId IS NULL OR c.guild_id = @guildId)
      ORDER BY created_at, id`);
    return this.scopeMessagesStatement
      .all({ userId: scope.userId, characterId: scope.characterId, guildId: scope.guildId, afterId, throughId })
      .map((row) => ({
        id: row.id,
        role: row.role,
        speakerName: row.speaker_name,
        content: row.content,
        tokenCount: row.token_count,
        createdAt: row.created_at,
        guildId: row.guild_id,
      }));
  }

  /**
   * Erases a person's dialogue with a character: their messages and the character's replies to them, in the guild
   * (or, with guildId null, every guild). For `/memory forget-me`; returns how many messages were deleted.
   */
  deleteDialogueOfScope(scope: DialogueScope): number {
    this.deleteRepliesStatement ??= this.db.prepare(`
      DELETE FROM messages WHERE id IN (
        SELECT r.id FROM messages u
          JOIN messages r ON r.reply_to_message_id = u.id
          JOIN conversations c ON c.id = u.conversation_id
        WHERE u.user_id = @userId AND u.role = 'user' AND r.role = 'assistant'
          AND c.character_id = @characterId AND (@guildId IS NULL OR c.guild_id = @guildId))`);
    this.deleteUserMessagesStatement ??= this.db.prepare(`
      DELETE FROM messages WHERE user_id = @userId AND conversation_id IN (
        SELECT id FROM conversations WHERE character_id = @characterId AND (@guildId IS NULL OR guild_id = @guildId))`);
    const parameters = { userId: scope.userId, characterId: scope.characterId, guildId: scope.guildId };
    const replies = this.deleteRepliesStatement;
    const messages = this.deleteUserMessagesStatement;
    // replies first: deleting the user's messages would set their reply_to to NULL and orphan them
    return this.db.transaction(() => replies.run(parameters).changes + messages.run(parameters).changes)();
  }

  /** The private conversations (DMs, the terminal) the person has messages in: their channel names them. */
  privateConversationsOf(userId: number): number[] {
    this.privateConversationsStatement ??= this.db.prepare<[number], { id: number }>(`
      SELECT DISTINCT c.id AS id FROM conversations c JOIN messages m ON m.conversation_id = c.id
      WHERE c.guild_id = '' AND m.user_id = ?`);
    return this.privateConversationsStatement.all(userId).map((row) => row.id);
  }

  /**
   * After an erase, what still names the person goes when nothing of theirs is left: the private conversations
   * given (left empty by the erase) with the character chosen for their channel, and their user row (platform id and
   * name) once no message and no memory of theirs remains. Returns whether the user row went.
   */
  forgetPersonIfGone(userId: number, privateConversations: readonly number[]): boolean {
    this.deleteEmptyConversationStatement ??= this.db.prepare<[number]>(`
      DELETE FROM conversations WHERE id = ? AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id)
      RETURNING platform, channel_id`);
    this.deleteChannelCharacterStatement ??= this.db.prepare<[string, string]>(
      `DELETE FROM channel_characters WHERE platform = ? AND guild_id = '' AND channel_id = ?`,
    );
    this.deleteGoneUserStatement ??= this.db.prepare<[number]>(`
      DELETE FROM users WHERE id = ?
        AND NOT EXISTS (SELECT 1 FROM messages WHERE user_id = users.id)
        AND NOT EXISTS (SELECT 1 FROM memory_scopes WHERE user_id = users.id)`);
    const emptyConversation = this.deleteEmptyConversationStatement;
    const channelCharacter = this.deleteChannelCharacterStatement;
    const goneUser = this.deleteGoneUserStatement;
    return this.db.transaction(() => {
      for (const id of privateConversations) {
        const deleted = emptyConversation.get(id) as { platform: string; channel_id: string } | undefined;
        if (deleted) channelCharacter.run(deleted.platform, deleted.channel_id);
      }
      return goneUser.run(userId).changes > 0;
    })();
  }
}
