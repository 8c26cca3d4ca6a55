"""Words the learned backstop counts (cues) and the calm-context gate reads; kept apart from the rules' red flags."""
from __future__ import annotations

import re

from medqa.safety.redflags import CHEST_WALL
from medqa.safety.scope_cues import YIZHI


def _c(p: str) -> re.Pattern[str]:
    return re.compile(p, re.IGNORECASE)

# ---- cues the learned backstop counts (medqa.safety.learned): words that say how settled, how well,
# how normal, how denied or how acute a message is, pooled so that one weight covers every synonym.
# They only shape the backstop's score; no cue vetoes anything. Careful with words emergencies use
# too: "stopped answering texts", "绳子挂好了", "药已经攒好了", "呼吸不正常", "说话不清楚", "含了药也不缓解".
# No "mild" (a bit, 有点) or "service" (appointment, 预约) cue: emergencies are told with hedges and
# as appointment requests ("Probably nothing, but his smile looks a bit lopsided"; a fresh batch,
# dev5, lost 3 such emergencies to those two cues).
_NOT_EN = r"(?<!not )(?<!n't )(?<!never )"
CUES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "settled": (
        _c(_NOT_EN + r"\b(?:(?:has |have |had |it |bleeding |bleed )stopped|stopped (?:on its own|by itself|after)|settled|went away|goes away"
           r"|gone away|passed (?:in|after|quickly|on its own)|resolved|better now|fine now|fine since|back to normal|cleared up"
           r"|healed|healing|faded|fading|eased|improved|wore off|scabbed)\b"),
        _c(r"止住了?|止血了|已经好了|就好了|好多了|好些了|自己好了|现在好了|没事了|看起来没事|完全没事|消了|(?<!不)(?<!未)(?<!没有)(?<!没)缓解"
           r"|恢复(?:得|了|正常)|结痂|退了|就好|平复|不流了|已经停了|(?<![昏晕])过去了"),
    ),
    "well": (
        _c(_NOT_EN + r"\b(?:playing|eating (?:well|normally|fine)|eating and drinking|drinking (?:well|normally|fine)|feeding well|chatty|happy"
           r"|running around|gaining weight|otherwise (?:well|fine)|no other symptoms|talking fine|feel(?:s|ing)? fine|(?:i'm|he's|she's) fine"
           r"|watching (?:tv|cartoons)|laughing|sleeping well|active|alert)\b"),
        _c(r"能吃能玩|精神(?:很|还|也|都)?(?:好|可以|不错)|在玩|玩积木|吃饭(?:也)?正常|看动画|其他都好|没有其他(?:不适|症状)|没什么感觉"
           r"|没有不舒服|活蹦乱跳|照常|睡得(?:很)?好|能走能吃"),
    ),
    "normal": (
        _c(_NOT_EN + r"\b(?:normal|stable|unremarkable|negative|comfortable|room air|afebrile|gcs 15|9[5-9] ?%)"),
        _c(r"(?<!不)正常|平稳|阴性|(?<!不)稳定|神志清|(?<!不)清楚|流利|等大等圆|灵敏|平顺|9[5-9]\s?%|36\.\d|5级"),
    ),
    "denied": (
        _c(r"\b(?:denies|denied|denying|negative for|no (?:new |further |other |more )?(?:chest pain|pain|sob|shortness of breath"
           r"|breathlessness|headache|fever|rash|bleeding|blood|vomiting|dizziness|weakness|numbness|swelling|wheeze|palpitations"
           r"|syncope|seizures?|fits?|thoughts of|suicidal|self-harm|facial droop|neuro|focal))\b"),
        _c(r"否认|未诉|未见|无明显|无(?:发热|发烧|胸痛|胸闷|心悸|气促|气短|呼吸困难|头痛|头晕|恶心|呕吐|腹痛|出血|流血|黑便|呕血|抽搐|晕厥"
           r"|口角歪斜|肢体无力|自杀|自伤|消极|过敏|不适)|没有(?:发烧|发热|胸痛|胸闷|出血|流血|呕吐|头痛|抽搐)|不(?:发烧|发热|喘|肿)"),
    ),
    "acute": (
        _c(r"\b(?:now|right now|suddenly|can't|cannot|won't|isn't|keeps|getting worse|worse|tonight|minutes?|an hour|still)\b"),
        _c(r"现在|刚才|刚刚|突然|一直|越来越|还在|不停|分钟|小时|今晚|马上|叫不|不(?:动|醒|应)"),
    ),
}


# ---- calm context: the backstop's gate (medqa.safety.triage.calm_context) ----
# On text from fresh writers the backstop's false alarms were mostly calm messages that name a red
# flag: service requests ("move mum's chemo appointment, she's feeling well"), teaching questions
# (a kindergarten teacher's first-aid question), news about other people's children, family history,
# episodes that are over. In such a message, with no word of onset or urgency, the backstop needs
# even odds (learned.CALM_THRESHOLD) instead of its recall-lowered threshold. It never vetoes and the
# rules are untouched. Emergencies use these words too ("I'm at the top of the car park", "posted a
# goodbye message online", "已报告医生", "written letters to everyone"): such words stay out.
CALM: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "service": (
        _c(r"\b(?:appointments?|appt|reschedul\w*|re-?book\w*|booking|book (?:in|a|an)|cancel\w*|portal|results?|referral"
           r"|repeat prescription|prescriptions?|refill|sick note|fit note|parking|visiting hours|follow-?up|check-?up"
           r"|hospital bag|leaflet|pharmacy|wi-?fi|password|wait(?:ing)? times?|how long (?:is|will be) the wait"
           r"|(?:which|what) ward|ward (?:number|extension|phone number)|announce\w*|glasses|spectacles|eye test)\b"),
        _c(r"预约|改约|改期|挂号|复诊|复查|随访|检查报告|报告单|报告出来|化验单|检查结果|结果出来|开药|续药|配药|停车|探视|陪护"
           r"|住院包|待产包|医保|报销|开证明|取药|病区|住在哪|(?:哪个|几号)病房|无线网|密码|等多久|等候时间|配眼镜|验光|广播"),
    ),
    "teaching": (
        _c(r"\b(?:first[- ]aid|cpr (?:training|class|course)|training|lesson|teacher|teaching|exam|revision|essay|homework"
           r"|poster|workshop|volunteer\w*|curious|out of interest|just wondering)\b"),
        _c(r"培训|课上|上课|我是.{0,6}老师|班上|考试|科普|讲座|志愿者|好奇|一般来说|急救知识|幼儿园"),
    ),
    "elsewhere": (
        _c(r"\b(?:news|article|read (?:about|that)|heard (?:about|that)|saw (?:on|a|an) (?:tv|the news|post|video)|on tv|documentary)\b"),
        _c(r"新闻|报道|听说|视频里|电视上|文章|朋友圈看到|看到.{0,6}说"),
    ),
    "history": (
        _c(r"\b(?:family history|runs in (?:the|my|our) family|(?:my|his|her) (?:late )?(?:mother|mum|mom|father|dad|grandmother"
           r"|grandfather|gran|grandad|uncle|aunt)\b.{0,30}\b(?:had|died)|used to|years ago|last year|months ago"
           r"|as a (?:child|kid|teen(?:ager)?|baby)|(?:fully )?recovered|well now|i'm well|doing (?:really )?well"
           r"|all clear|fully investigated|checked out (?:fine|ok|okay|normal))\b"),
        _c(r"家族史|遗传|以前|曾经|年前|个月前|去年|上个月|小时候|走出来|康复"
           r"|(?:妈|爸|母亲|父亲|外婆|外公|奶奶|爷爷|姥姥|姥爷).{0,10}(?:去世|过世|走的|得过|患过)|查过(?!敏)|检查过(?!敏)|都查了|查了.{0,8}没(?:问题|事)"),
    ),
    # a near miss: the pills were taken off the child before any went down ("all accounted for", 一片都没少)
    "averted": (
        _c(r"\b(?:nearly|almost) (?:took|swallowed|ate|drank)\b|\bnone (?:are |were |was )?missing|\ball (?:still )?accounted for"
           r"|\b(?:grabbed|took|got) (?:it|them) (?:off|from|away from) (?:him|her|them) (?:before|in time)"),
        _c(r"差点.{0,12}(?:吃|吞|喝)|(?:抢|夺)(?:了)?(?:下来|回来)|一(?:片|粒|颗)都没少|没(?:有)?(?:吃|吞|咽)(?:进去|下去)"),
    ),
    "settled": (_c(CUES["settled"][0].pattern.replace("stopped|", "stopped(?! (?:the|a|an|his|her|my|their|our|at|outside|by))|", 1)),
                CUES["settled"][1]),
    # over and back to normal now: "bleeding's stopped", "now laughing and back in the pool", "pink again, full
    # feeling back", "nothing going on today", 现在在玩, 已经不流血了
    "resolved": (
        _c(_NOT_EN + r"\b(?:bleeding(?:'s| has) stopped|stopped bleeding|now (?:laughing|smiling|playing|chatting|giggling"
           r"|running around|back (?:in|to|at|on))|(?:pink|warm|normal|herself|himself|themselves) again"
           r"|(?:full )?(?:feeling|sensation|colou?r) (?:is |has come |came )?back|nothing (?:going on|wrong) (?:today|now|at the moment))\b"),
        _c(r"(?:已经|现在)(?:不|没)(?:流|出)血了|现在(?:在)?(?:玩|笑|有说有笑|跑来跑去)|(?:脸色|颜色|知觉|感觉)(?:也)?(?:恢复|回来)了"),
    ),
}
# Benign findings the labelling rules name as label 0 whenever they began: a rash that fades when
# pressed (the glass test passed) and chest-wall pain only on pressing the ribs. A time of onset
# ("since moving furniture on Saturday", 前天) is part of such a story, so only a word of urgency
# keeps the usual threshold. Negated forms are the red flags ("doesn't fade", "dont fade", 压不褪色, 按了也不褪色),
# and pain on pressing the belly is no chest-wall pain.
_FADE_EN = r"(?<!n't )(?<!nt )(?<!not )(?<!never )(?<!non-)(?<!non )"
BENIGN = {
    "en": _c(
        _FADE_EN + r"\b(?:fades?|faded|blanch(?:es|ed)?|disappears?|goes away|went away)(?: completely| away| right away)?"
        r" (?:when|if|under|with) (?:i |you |we |she |he |they )?(?:press|pressed|pressing|push|a glass|the glass|a finger)"
        r"|" + _FADE_EN + r"\bblanching (?:rash|spots)|\brash (?:that |which )?blanches|" + CHEST_WALL["en"].pattern
        # a mild fever after vaccines (the labelling rules' own example); an infant under 3 months is the rules' case
        + r"|\bafter (?:her|his|the|their|my|its) (?:\w+ )?(?:jabs?|vaccines?|vaccinations?|immuni[sz]ations?)\b"),
    "zh": _c(
        r"压之褪色|(?:一按|按压|按了|按一下|按下去|压一下|压了|压着|杯子压)(?:一下)?(?:就|后|会|能|也会)?褪色"
        r"|" + CHEST_WALL["zh"].pattern + r"|(?:打|接种)(?:完|了)(?:.{0,4})?疫苗|疫苗(?:后|之后)"),
}
# Words of urgency: any of them keeps a calm-sounding message at the usual threshold
# ("booking query - move my appointment, it suddenly got worse"). "making things worse" is no course.
URGENCY = {
    "en": _c(r"\b(?:suddenly|sudden|right now|just now|now (?:he|she|i|it|they|her|his|my)|can't|cannot|won't|isn't|keeps"
             r"|getting worse|(?<!things )worse|worsening|minutes?|mins?|\d+ ?mins?|help|ambulance|a&e)\b"),
    "zh": _c(r"突然|刚才|刚刚|" + YIZHI + r"|越来越|不停|分钟|马上|叫不|不(?:动|醒|应)|加重|更严重|更厉害|没缓|救命|救护车|急诊"),
}
# Words of onset: a time the trouble began ("about an hour ago the vision went", 从昨晚开始) keeps the
# usual threshold too, except next to a benign finding (BENIGN).
ONSET = {
    "en": _c(r"\b(?:tonight|this (?:morning|afternoon|evening)|today|last night|yesterday|at (?:lunch|breakfast|dinner)"
             r"|since|started|starting|began|hours?|hrs?|an hour|still)\b"),
    "zh": _c(r"还在|小时(?!候)|今晚|今天|今早|今晨|早上|中午|昨晚|昨天|开始"),
}
