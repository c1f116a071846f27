/**
 * A cheap importance estimate (0..1) for an archived turn, from the user's words alone (no model call). It only
 * orders memories of similar relevance, so it favours what a friend would remember:
 *
 *   0.30  base
 *  +0.20  a personal statement: first person ("I", "my", "我", "俺") about oneself
 *  +0.15  a name being given ("called", "named", "my name is", "叫", "名字") or a capitalised name mid-sentence
 *  +0.10  a number
 *  +0.15  a date or time ("May 2", "5月2日", "yesterday", "明天", "birthday", "生日", weekdays)
 *  +0.10  a preference or feeling ("love", "hate", "favourite", "喜欢", "讨厌", "最爱", "害怕")
 *  +0.05  a long message (over 80 characters)
 *  small talk — only greetings, thanks, laughter or acknowledgements ("hi", "ok", "哈哈", "谢谢") — is 0.10 flat.
 * The sum is capped at 1.
 */

const smallTalkPiece =
  /^(?:hi|hello|hey|yo|ok(?:ay)?|k|thanks?|thank you|thx|lol|lmao|haha+|hehe+|yes|yeah|yep|no|nope|sure|bye|good night|gn|嗯+|哦+|噢+|啊+|好的?|好吧|行|哈+|呵+|嘿+|谢谢|多谢|晚安|早安?|早上好|你好|再见|拜拜|是的?|对|没事|在吗)$/i;

/** Only greetings, thanks, laughter and acknowledgements ("haha ok", "嗯嗯，好的"). */
function isSmallTalk(text: string): boolean {
  const pieces = text.split(/[\s!！。.~～?？…,，、]+/).filter(Boolean);
  return pieces.length > 0 && pieces.every((piece) => smallTalkPiece.test(piece));
}
const personal = /\b(?:i|i'm|im|i've|i'd|my|mine|me|myself)\b|我|俺|本人/i;
const naming = /\b(?:called|named|my name is|call me|name's)\b|叫做?|名字|昵称|外号/i;
const capitalisedName = /[a-z,;]\s+(?!I\b)[A-Z][a-z]+/;
const number = /\d|[一二三四五六七八九十百千万两]+(?:个|岁|只|年|次|块|元)/;
const dateWords =
  /\b(?:jan(?:uary)?|feb(?:ruary)?|march|april|may \d|june|july|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|yesterday|tomorrow|tonight|birthday|anniversary|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|next week|last week)\b|\d{1,2}\s*[月日号]|[今明昨前后]天|生日|纪念日|周[一二三四五六日末]|星期|下周|上周|明年|去年/i;
const feeling =
  /\b(?:love|loved|hate|hated|like|liked|favou?rite|afraid|scared|allergic|dream|wish|miss|prefer)\b|喜欢|讨厌|最爱|爱吃|害怕|过敏|梦想|希望|想念|偏爱|不喜欢/i;

export function estimateImportance(text: string): number {
  const trimmed = text.trim();
  if (!trimmed || isSmallTalk(trimmed)) return 0.1;
  let score = 0.3;
  if (personal.test(trimmed)) score += 0.2;
  if (naming.test(trimmed) || capitalisedName.test(trimmed)) score += 0.15;
  if (number.test(trimmed)) score += 0.1;
  if (dateWords.test(trimmed)) score += 0.15;
  if (feeling.test(trimmed)) score += 0.1;
  if (trimmed.length > 80) score += 0.05;
  return Math.min(1, Math.round(score * 100) / 100);
}
