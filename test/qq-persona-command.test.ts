/**
 * `/persona` on QQ end to end, wired as `npm start` wires it: the real Koishi + onebot adapter against the fake OneBot
 * peer, the real command handler and its permission check, the real engine and character catalog (a copy of the
 * shipped characters, so a reload can find a new one), a recording chat model. Asserts on the actions the peer gets.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { configuredAdapters } from '../src/main.js';
import { setLogLevel } from '../src/util/logger.js';
import { createFakeOneBot, at, text, type FakeOneBot, type Member, type RecordedAction, type Segment } from './fakes/fake-onebot.js';
import { repositoryRoot } from './helpers/build.js';
import { RecordingModel } from './helpers/recording-model.js';
import { waitUntil } from './helpers/wait.js';

const selfId = '10001';
const groupId = '20002';
const member = '30003';
const groupAdmin = '30004';
const owner = '30009';
const groupOwner = '30005';

let directory: string;
let peer: FakeOneBot;
let app: App;
let model: RecordingModel;
let stop: () => Promise<void>;

beforeAll(() => setLogLevel('error'));

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'omoide-qq-persona-'));
  cpSync(join(repositoryRoot, 'characters'), join(directory, 'characters'), { recursive: true });
  writeFileSync(join(directory, 'config.yaml'), `logLevel: error\ncharactersDir: characters\ndefaultCharacter: juniper\nqq:\n  ownerIds: ['${owner}']\n`);
  peer = createFakeOneBot({ selfId, nickname: 'omoide' });
  const endpoint = await peer.listen();
  const config = loadConfig({
    env: { OMOIDE_DATA_DIR: join(directory, 'data'), ONEBOT_PROTOCOL: 'ws', ONEBOT_ENDPOINT: endpoint, ONEBOT_SELF_ID: selfId },
    cwd: directory,
  });
  model = new RecordingModel('好的。');
  app = await createApp(config, { chatModel: model });
  const [qq] = configuredAdapters(config, app).filter((service) => service.name === 'qq');
  await qq!.start();
  stop = () => qq!.stop();
  await peer.waitForAction('get_login_info');
});

afterEach(async () => {
  await stop();
  await app.close();
  await peer.close();
  rmSync(directory, { recursive: true, force: true });
});

const textOf = (action: RecordedAction) =>
  (action.params.message as Segment[]).filter((segment) => segment.type === 'text').map((segment) => String(segment.data.text)).join('').trim();
const inGroup = () => peer.actions.filter((action) => action.action === 'send_group_msg');
const privatelyTo = (qq: string) => peer.actions.filter((action) => action.action === 'send_private_msg' && action.params.user_id === Number(qq));
const showingActions = { describe: () => `actions: ${peer.actions.map((action) => `${action.action} ${textOf(action)}`).join(' | ')}` };

/** Sends `line` to the group as `qq` with `role`; resolves with what came back: in the group, and privately to them. */
async function command(qq: string, line: string, role: Member['role'] = 'member'): Promise<{ group: string[]; private: string[] }> {
  const [groupBefore, privateBefore] = [inGroup().length, privatelyTo(qq).length];
  peer.pushGroupMessage({ groupId, userId: qq, member: { role }, message: [text(line)] });
  // Every answer ends with something in the group: the result, or the note that it went privately.
  await waitUntil(() => inGroup().length > groupBefore, showingActions);
  return { group: inGroup().slice(groupBefore).map(textOf), private: privatelyTo(qq).slice(privateBefore).map(textOf) };
}

const speaker = () => app.engine.characterFor('qq', groupId, groupId).id;

describe('/persona over QQ', () => {
  it('list and show answer anyone in the group', async () => {
    const listed = await command(member, '/persona list');
    // QQ tells no locale: the answer is in the language of the character speaking there (Juniper: English).
    expect(listed.group).toEqual(['Characters (▶ speaks here):\n▶ juniper — Juniper Hale (en-US)\n• xiaoman — 苏小满 (zh-CN)']);
    const shown = await command(member, '/persona show');
    expect(shown.group[0]).toMatch(/^Juniper Hale \(juniper\) speaks here\.\n/);
    expect(listed.private).toEqual([]);
  });

  it('refuses set and reload to a member, privately, and changes nothing', async () => {
    const set = await command(member, '/persona set xiaoman');
    expect(set.private).toEqual(['Only server admins can use /persona set.']);
    expect(set.group).toEqual([app.translator.t('zh-CN', 'adapters.sent-privately')]);
    const reload = await command(member, '/persona reload');
    expect(reload.private).toEqual(["Only the bot's owners can use /persona reload: it changes every server at once."]);
    expect(speaker()).toBe('juniper');
    expect(app.store.channelCharacter('qq', groupId, groupId)).toBeNull();
  });

  it('lets a group admin set the character, by alias, with the answer in the group; the next @ is answered by it', async () => {
    // Answered in the language of the character that spoke here when asked (Juniper: English).
    const set = await command(groupAdmin, '/persona set 小满', 'admin');
    expect(set.group).toEqual(['苏小满 (xiaoman) now speaks in this channel.']);
    expect(set.private).toEqual([]);
    expect(speaker()).toBe('xiaoman');

    peer.pushGroupMessage({ groupId, userId: member, message: [at(selfId), text(' 你好')] });
    await waitUntil(() => inGroup().some((action) => textOf(action) === '好的。'), showingActions);
    expect(model.systemPrompt()).toContain('你是苏小满');

    // The group's owner may set it back; asked in Chinese now, as 苏小满 speaks here.
    const back = await command(groupOwner, '/persona set juniper', 'owner');
    expect(back.group).toEqual(['本频道现在由 Juniper Hale（juniper）发言。']);
    expect(speaker()).toBe('juniper');
  });

  it("lets an owner, not a group's admin, reload the characters from disk: a new one can be listed and chosen", async () => {
    cpSync(join(directory, 'characters', 'juniper'), join(directory, 'characters', 'june-copy'), { recursive: true });
    const refused = await command(groupAdmin, '/persona reload', 'admin');
    expect(refused.private).toEqual(["Only the bot's owners can use /persona reload: it changes every server at once."]);
    const reload = await command(owner, '/persona reload');
    expect(reload.private).toEqual(['Reloaded: 3 characters.']);
    const listed = await command(member, '/persona list');
    expect(listed.group[0]).toContain('• june-copy — Juniper Hale (en-US)');
    const set = await command(groupAdmin, '/persona set june-copy', 'admin');
    expect(set.group).toEqual(['Juniper Hale (june-copy) now speaks in this channel.']);
    expect(speaker()).toBe('june-copy');
  });
});
