/**
 * Platform-neutral commands (`/persona`, `/memory`). Their logic is written once against the engine; each adapter
 * only registers the definitions on its platform (Discord slash commands, Koishi commands) and forwards invocations.
 */
import type { Author, PlatformName } from './message.js';

export interface CommandOptionDefinition {
  readonly name: string;
  readonly description: string;
  readonly type: 'string' | 'user' | 'boolean';
  readonly required: boolean;
}

export interface SubcommandDefinition {
  readonly name: string;
  readonly description: string;
  readonly options: readonly CommandOptionDefinition[];
  /** Only admins may run it (Discord Manage Guild, QQ group owner/admin, or configured owner ids). */
  readonly adminOnly: boolean;
  /** Only the configured owner ids may run it: it acts on every server at once. */
  readonly ownerOnly?: boolean;
}

export interface CommandDefinition {
  readonly name: string;
  readonly description: string;
  readonly subcommands: readonly SubcommandDefinition[];
}

export interface CommandInvocation {
  readonly platform: PlatformName;
  readonly guildId: string | null;
  readonly channelId: string;
  readonly author: Author;
  /** Decided by the adapter from platform permissions or the configured owner ids. */
  readonly isAdmin: boolean;
  /** One of the configured owner ids: an admin everywhere, whose acts on a person reach every server. */
  readonly isOwner: boolean;
  /** The user's locale when the platform tells it (Discord interaction locale), e.g. 'zh-CN', 'en-US'. */
  readonly locale: string | null;
  readonly command: string;
  readonly subcommand: string;
  /** Option values by name; a `user` option carries the platform user id. */
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
  readonly timestamp: Date;
}

export interface CommandResult {
  readonly text: string;
  /** Only the invoker should see it (Discord ephemeral reply; on QQ it goes to a private message). */
  readonly private: boolean;
  /** An attachment such as an export, sent beside the text. */
  readonly file?: { readonly name: string; readonly content: string };
}

export interface CommandHandler {
  readonly definitions: readonly CommandDefinition[];
  run(invocation: CommandInvocation): Promise<CommandResult>;
}
