"""Scope cues for the red-flag rules, English and Chinese: where a clause ends, and the words that make a
match negated, past, hypothetical, addressed to anyone or fictional (medqa.safety.triage reads them)."""
from __future__ import annotations

import re


def _c(p: str) -> re.Pattern[str]:
    return re.compile(p, re.IGNORECASE)


# ---- scope: where negation, history and hypothetical cues stop reaching ----
BREAK_EN = _c(
    r"[.;!?:\u2014\u2013]|\s-\s|\b(?:but|however|although|though|just|(?<!can )only|now|still|yet|except|whereas"
    r"|currently|today|no wait)\b|\band (?=(?:he|she|i|i'm|it|now|has|is|was|then|they|we|my|her|his)\b)"
)
BREAK_ZH = _c(r"[，,。；;！!？?~\n]|但是|但|不过|只是|就是|现在|目前|可是|然后|(?<!前的)今天|此次")
# A sentence that opens with nothing but a past time ("三年前的今天，我在地铁上突然倒地抽搐。") is history to its end.
HIST_LEAD_ZH = _c(
    r"^\s*(?:[\d一二两三四五六七八九十几多]+(?:年|个月|个星期|周)前|去年|前年|上个?月|上周[一二三四五六日天末]?|上个?星期[一二三四五六日天]?)"
    r"(?:的?(?:今天|这一?天|这个时候|[春夏秋冬]天))?\s*$"
)

NEG_WINDOW_EN = 6
# 一直 ("all along") before a calm word is no severity: "哮喘一直控制得挺好", "胎动一直挺好的" ("一直好不了" still is).
YIZHI = r"一直(?!(?:都|也)?(?:控制)?得?(?:挺|很|还|都|比较|蛮)?(?:好|正常|稳定|不错|清醒|清楚)(?!不|转))"
NEG_EN = _c(
    r"\b(?:no|nil(?! by mouth)|not|denies|denied|deny|denying|without|negative for|free of|never|absent|didn't|did not"
    r"|doesn't|does not|hasn't|has not|haven't|have not|ruled out)\b"
)
# "it stopped bleeding after ten minutes": a cue that must see the start of the match (EN windows end before it).
NEG_AHEAD_EN = _c(r"\b(?:has |have |had |it |then |finally )?stopped (?=bleed)|\bno longer (?=bleed)")
NEG_POST_EN = _c(r"^[^.;:!?]{0,80}?\b(?:(?:all|both|were|was|are|is|has been|have been)\s+(?:denied|absent|ruled out)|(?:all|both) negative)\b")
NEG_POST_ZH = _c(r"^[^，,。；;]{0,20}?(?:均(?:否认|无|未|为?阴性)|都否认|全部否认)")
NEG_ZH = _c(
    r"没有|没(?!反应|醒|有呼吸)|无(?!力|法|助|效|反应|明显诱因)|否认|未(?!缓解|见好转)|不是|并非|排除"
    r"|不(?=发烧|发热|(?:腹|头|胸|肚子?)?(?:痛|疼)|喘|肿|晕|出血|流血)"
)

HIST_EN = _c(
    r"\b(?:in (?:19|20)\d\d|(?:\d+|a|one|two|three|four|five|six|few|several|many) (?:years?|months?|weeks?) ago"
    r"|years ago|back in (?:(?:19|20)\d\d|january|february|march|april|may|june|july|august|september|october|november"
    r"|december|the (?:spring|summer|autumn|fall|winter))|(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|several"
    r"|many) years? since|last (?:year|month|week|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday|summer"
    r"|winter|spring|autumn|fall|christmas|easter)|as a (?:child|kid|teen(?:ager)?|baby|toddler|infant)|none since"
    r"|(?:not|never) had (?:one|another|any) since|since (?:age|the age of) \d+|history of|h/o|hx of"
    r"|previous(?:ly)?|prior|used to|once|recovered|resolved|in the past|family history|earlier this year"
    r"|old (?:stroke|heart attack|mi|infarct|bleed)|residual|long-?standing"
    r"|(?:was|were|felt|been) (?:fine|ok|okay|better|normal) (?:again )?(?:in|after|within)"
    # an earlier pregnancy ("my waters broke at 38 weeks with my first"); "pregnant with my first" is this one
    r"|(?:broke|happened|had|bled|started|came|went|was|were|delivered|haemorrhaged|hemorrhaged)\b.{0,40}\bwith (?:my|our|her) (?:first|last|eldest|older one)"
    r"|(?:last|previous|earlier) (?:pregnancy|pregnancies|labou?r|delivery|birth)|last time (?:i|she|you) (?:was|were) pregnant"
    # a period that is over ("there was a time I thought about suicide")
    r"|there was a (?:time|period|phase)|went through a (?:\w+ )?(?:patch|phase|period|time)|back then)\b"
)
HIST_ZH = _c(
    r"既往|以前|之前|曾经|曾|\d+年前|[一二两三四五六七八九十几多]+年前|年前|个月前|周前|上个月|去年|前年|小时候"
    r"|上周|上个?星期|上个?礼拜|病史|家族史|(?:19|20)\d\d年|过一次|有过|中过|晕过|休克过|发作过|康复|恢复|缓解了|完全缓解|已经好了|好多了|没事了"
    r"|前几年|前些年|早些年|[\d一二两三四五六七八九十]+多?岁(?:那年|的时候|时)?就|岁那年|岁的时候|遗留|后遗症|老毛病|缓过来|缓过劲|那次|那一次|那回"
    # an earlier pregnancy (上一胎; 头胎 and 第一胎 may be this one) and a period that is over (有段时间, not 最近有段时间)
    r"|上一胎|上胎|前一胎|上次怀孕|上一次怀孕|上次(?:生|分娩|顺产|剖)|(?:生|怀)老大(?:的)?(?:时候|时)|(?:生|怀)我(?:的)?(?:时候|时)|(?<!最近)(?<!这)有一?段时间|那段时间|那阵子"
)
# Textbook and hypothetical questions mention red flags without anyone having them.
HYPO_EN = _c(
    r"\b(?:what (?:are|r|is|does|causes)|what's|whats|how (?:do|does|is|are|should|to|can)|signs? (?:of|that|someone|somebody|a person)|symptoms of"
    r"|warning signs|if (?:someone|a person|you|he|she|a patient|my|they)|difference between"
    # a scenario ("if a caller says they've taken an overdose") and a question about a test ("is the glass test reliable")
    r"|if (?:a|an|the|one of (?:my|our|the)) [\w-]+ (?:says|said|tells|told|calls|reports|mentions|has|is|starts|becomes|goes|gets|collapses|develops)"
    r"|is (?:the|a|an) (?:[\w-]+ ){1,6}(?:reliable|accurate)"
    r"|is it (?:normal|safe|dangerous)|dangerous\?|always (?:serious|dangerous)|can (?:people|patients|someone))\b"
)
HYPO_ZH = _c(r"如果|万一|假如|要是|假设|倘若|(?:有人|别人|谁)[^，,。；;！!？?]{0,12}的话|有哪些|是什么|什么是|如何|怎么识别|先兆|时应该|时旁人|剂量是多少|的区别|会遗传|多大以内|多少度以上")
# A message addressed to anyone ("普通人该怎么帮忙？", "for our first-aid training"), asked to prepare for
# later ("just in case", "so I'm prepared", 提前了解), teaching others (给工人讲讲…急救, 培训课上的问题) or about
# fiction ("in last night's episode", 电视剧里) describes nobody now, unless it also says now or me:
# "我在路上看到有人倒地，现在没反应" stays an emergency. Each cue says the teaching or the fiction itself, not
# where something happened: "培训课上一个学员晕倒了", "watching a hospital drama when he collapsed" and the
# clinical "an episode of chest pain" are none.
# Writing fiction ("I'm writing a short story where...", 写小说); "I was writing my novel when..." is no fiction,
# and a "script" is a prescription to a GP.
FICTION = {
    "en": r"\b(?:i'm |i am )?(?:writing|wrote|working on) (?:a|an|my) (?:short |new |crime |medical |hospital )?(?:story|novel"
          r"|screenplay|play|scene)\b(?! (?:when|and (?:suddenly|then)))|\bfor (?:a|my|the) (?:short )?(?:story|novel|screenplay)\b",
    "zh": r"(?:我们?)?(?:正在|在)?写(?:一篇|一部|一个|个|篇|部)?.{0,4}(?:小说|剧本|故事)(?!的?时候|时)|(?:小说|剧本|故事)(?:里的?|中的?)?(?:人物|角色|情节)|剧情需要",
}
FICTION_RE = {lang: _c(p) for lang, p in FICTION.items()}
AUDIENCE = {
    "en": _c(r"\bbystanders?\b|members? of the public|\b(?:a|any) passer-?by|first[- ]aid (?:course|training|class|poster|exam)"
             r"|\bfor (?:a|my|our|the) (?:school |class |college |uni |university |health |science |biology )?(?:project|assignment|homework|essay)\b"
             r"|\bdoing (?:a|my|our) (?:school |class |college |uni |health |science |biology )?(?:project|assignment|homework|essay)\b"
             r"|\bin advance\b|just in case|for future reference|ahead of time"
             r"|\bso (?:that )?(?:i'm|i am|i'll be|we're|we are|we'll be) (?:prepared|ready)\b|\bbe (?:better )?prepared\b"
             r"|\b(?:asking|reading up|learning) (?:this |now )?(?:before|ahead of) (?:my|our|the|her) (?:due date|baby|delivery)"
             r"|\bteach(?:ing)? (?:my|our|the|some) (?:\w+ )?(?:staff|workers|class|pupils|students|team|colleagues|volunteers)\b"
             r"|\b(?:question|scenario|case) (?:from|for|in) (?:a|our|the|my|today's) (?:\w+ )?(?:training|class|course|lecture)\b"
             r"|\btraining (?:question|scenario|exercise|drill|quiz)\b|toolbox talk|(?:safety|staff|team) briefing"
             r"|\b(?:for|to|tell|telling|remind|warn|advise) (?:our |my |the |any )?(?:listeners|viewers|readers|audience|followers|subscribers)\b"
             r"|\bin (?:a|an|the|this|that|one) (?:(?:tv|hospital|medical|new|old|latest) )?(?:film|movie|tv show|tv series|show|series"
             r"|drama|soap|sitcom|novel|cartoon)\b"
             r"(?! of\b| (?:theat|cinema|ring))|\b(?:in|on|from) (?:last night's|last week's|this week's|tonight's|yesterday's"
             r"|the latest|the new|the final) episode\b(?! of (?!(?:the|a|that) (?:show|series|drama|programme|program|soap)))"
             r"|" + FICTION["en"]),
    "zh": _c(r"(?:学校|课程|老师布置)的?作业|写论文|做课题|普通人|一般人|旁人|路人|旁观者|非专业人士|急救(?:培训|课|知识|常识|海报)|科普|提前了解|预先了解|以防万一"
             r"|提前(?:学|准备|知道|问问|问一下)|以备不时之需|有备无患|未雨绸缪|(?:我(?:想|好|也好|也想)?)?心里有个?(?:数|底)|学(?:习)?急救|急救(?:演练|考核|技能)"
             r"|给.{0,6}(?:工人|员工|职工|学生|同学|孩子们|小朋友|大家|家长|居民|老人|爸妈|家人|家里人|队员|志愿者|同事|新人|护工)们?.{0,2}"
             r"(?:讲讲|讲一讲|讲一下|讲解|上一?课|科普|培训)|培训(?:课|班)?上?的?(?:问题|内容|题目|考题|案例|课件|材料|资料)"
             r"|培训(?:时|的时候|中|课上)有人问|讲课|授课|备课|课件|教案|(?:做|开|办|准备)一?个?讲座"
             r"|(?:搞|做|办|组织|开展|参加)(?:员工|职工|内部|新人)?培训|培训(?:一下)?(?:客服|员工|新人|新员工|志愿者|工人|职工|护工|保安|司机)"
             r"|(?:新?员工|职工|新人|岗前|入职)培训[：:]|培训用|培训题|组织(?:工人|员工|职工|大家|居民)?学|贴个?提醒|宣传(?:单|册|栏|页)|小卡片|(?:考|练习|模拟|案例|情景)题"
             r"|(?:好记|易记|简单)的?(?:要点|口诀)"
             r"|(?:电视剧|连续剧|短剧|电影|小说|动画片|综艺|节目|(?<![加急])剧)(?:里|中)(?!心|间|午|毒|暑|风)"
             r"|" + FICTION["zh"]),
}
SPECIFIC_NOW = {
    "en": _c(r"\b(?:now|right now|just now|just (?:collapsed|fainted|passed out|fell|started|stopped|went|had)|currently|at the moment"
             r"|help me|please help|i'm|i am|i've|we're)\b"),
    "zh": _c(r"现在|刚才|刚刚|正在|救命|快来|我(?!们)"),
}
