"""The red-flag vocabulary triage matches, English and Chinese; rules are data, kept apart from the logic.

The words that scope a match (negation, history, hypothetical, audience) are in medqa.safety.scope_cues."""
from __future__ import annotations

import re

from medqa.safety.scope_cues import YIZHI


def _c(p: str) -> re.Pattern[str]:
    return re.compile(p, re.IGNORECASE)


def normalise(text: str) -> str:
    """Lower-case, straight apostrophes and full-width digits, so one pattern fits every spelling."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("％", "%").replace("／", "/")
    text = text.translate({0xFF10 + i: ord("0") + i for i in range(10)})
    return text.lower()


# ---- single-pattern red flags, checked in this order (first hit names the category) ----
_P = r"(?:my|his|her|their|the)"
EN_RULES: dict[str, str] = {
    "self_harm": (
        r"\bkill(?:ing)? myself|\bend(?:ing)? (?:my|his|her) (?:own )?life|commit(?:ting)? suicide|suicidal "
        r"(?:ideation|thoughts|intent|plan)|\bsuicide (?:attempt|plan|note)|\b(?:i'm|i am|feel(?:ing)?) suicidal"
        r"|\bwant(?:s)? to die\b|don't want to (?:live|be alive)|do not want to live|no reason to (?:go on|live)"
        r"|\bcut(?:ting)? (?:my|his|her) (?:arms?|wrists?|legs?|skin|thighs?)|\b(?:hurt(?:ing)?|harm(?:ing)?|cut(?:ting)?) (?:my|him|her)sel(?:f|ves)|self[- ]harm(?!.*\bdenies)"
        r"|jump(?:ing)? off (?:a|the) (?:bridge|building|roof)|(?:took|taken|take) all (?:my|of my) (?:pills|tablets|meds)"
        r"|want it (?:all )?to end|better off dead|end it all|take (?:my|his|her) (?:own )?life|no point (?:in )?living"
        r"|not worth living|can't go on|hang (?:my|him|her)self|slit (?:my|his|her) wrists|suicide note|goodbye letters"
        r"|written the letters|(?:going|planning|want) to (?:die|end it)|thinking (?:about|of) (?:suicide|dying|ending it)"
        r"|(?:doesn't|does not|don't|do not|won't|isn't|is not|aren't|not) (?:plan(?:ning)?|going|intend(?:ing)?|expect(?:ing)?) to (?:be (?:alive|around|here)|live)\b"
        r"|better off (?:without me|if i (?:was|were) (?:gone|dead)|if i wasn't here)|wish i (?:was|were) dead"
        r"|don't want to (?:be here|wake up) any ?more|(?:gone|dead|die|end it|suicide|kill).{0,40}(?:i|and i) (?:have|got|made) a plan"
        r"|(?:won't|will not|not) be a burden (?:to (?:anyone|you|everyone) )?(?:much longer|any ?more|for (?:much )?longer)|this is goodbye"
        r"|(?:bridge|cliff|roof|railway|tracks|river|pier).{0,80}not coming back|not coming back.{0,80}(?:bridge|cliff|roof|railway"
        r"|tracks|river|pier)|\b(?:saving|saved|stockpil\w+|hoard\w*) (?:up )?(?:my |his |her |all (?:my|his|her) )?(?:sleeping )?"
        r"(?:pills|tablets|meds)\b|\bligature\b|\bnoose\b|tried to hang|found hanging"
        r"|(?:rope|cord|belt|scarf) (?:tied )?(?:a)?round (?:my|his|her|their) neck"
    ),
    "overdose": (
        r"\b(?:took|taken|swallowed|ate|had|drank) (?:about |around |maybe |like |over |nearly |roughly |almost |at least )?"
        r"(?:(?:[1-9]\d+|[89])\b(?!\s?(?:mg|mcg|ml|g|units?|iu)\b)|a bunch of\b|a handful of\b|a whole (?:bottle|packet|box|pack) of\b"
        r"|all\b|too many\b|lots of\b|loads of\b|the whole\b|some of\b).{0,30}(?:tablets|pills|capsules|tabs|medicine|meds|medication"
        r"|paracetamol|acetaminophen|tylenol|panadol|ibuprofen|aspirin|co-?codamol|codeine|sertraline|amitriptyline|diazepam)\b"
        r"|\b(?:[1-9]\d|[89]) ?x? (?:tabs? of |tablets? of )?(?:paracetamol|acetaminophen|tylenol|panadol|ibuprofen|aspirin|co-?codamol"
        r"|codeine|sertraline|amitriptyline|diazepam|zopiclone|propranolol)(?: tablets| tabs)?,? (?:about |around |approx\.? |~)?\d+ ?(?:h|hrs?|hours?|mins?|minutes?) ago"
        r"|got into (?:the|my|his|her|grandma's|grandpa's) (?:medicine|pills|meds|cabinet|cleaning)|too many (?:pills|tablets)"
        r"|\b(?:took|taken|swallowed|ate|drank|had) (?:a |an |the |my |his |her |their )?(?:whole|entire|full|bunch of|handful of|lots of|all of|all (?:my|his|her|the))"
        r"\b.{0,30}(?:packet|bottle|box|strip|pack|pills|tablets|paracetamol|acetaminophen|tylenol|ibuprofen|aspirin|insulin"
        r"|sleeping|antidepressants?|opioids?|oxy\w*|fentanyl|methadone|iron|digoxin|lithium|meds|medicine"
        r"|ecstasy|mdma|cocaine|heroin|ketamine|drugs|speed|pills)|\boverdosed\b|(?:took|taken|had) an overdose|\boverdose of\b"
        r"|\b(?:swallowed|drank|ingested|ate) (?:some |a |an |my |the |his |her )?(?:\w+ ){0,5}"
        r"(?:bleach|pills|tablets|battery|batteries|poison|pesticide|antifreeze|detergent|cleaner|iron tablets)"
        r"|\bswallow(?:ed)?\b.{0,50}\bbatter(?:y|ies)\b|\bswallowed\b.{0,30}\bmagnets\b|\bmagnets?\b.{0,30}\bswallowed\b"
        r"|carbon monoxide|\bdouble dose of warfarin|\b(?:been|was|is|got) poisoned|\bpoison(?:ing)? (?:control|centre|center)"
        r"|(?:ate|drank|swallowed) (?:some )?(?:\w+ ){0,2}(?:mushrooms|berries|weed killer|paraffin|lamp oil|rat poison)"
    ),
    "anaphylaxis": (
        r"throat (?:is |feels |was )?(?:swelling|swollen|closing|tight)|tongue (?:is )?(?:swelling|swollen)"
        r"|(?:face|lips)(?: and (?:lips|face|tongue))? (?:are |is )?(?:swelling|swollen)|\bstridor\b"
        r"|(?:i'm|i am|is|she's|he's) having (?:an? )?(?:anaphyla\w+|allergic reaction)|anaphylactic shock"
        r"|allergic reaction.{0,40}(?:breath|swallow|dizzy|throat|hives)"
        r"|(?:face|lips?|tongue|throat|mouth|eyes?) (?:\w+ ){0,2}(?:puff(?:ing|ed)? up|swell(?:ing)? up|blown up|ballooning)"
        r"|(?:sting|stung|ate|eating|after).{0,40}(?:voice (?:sounds |is )?hoarse|hoarse voice|throat closing)"
    ),
    "stroke": (
        r"face (?:is )?droop|facial droop|droop(?:ing|y)? (?:face|mouth)|mouth (?:is )?(?:twisted|drooping)"
        r"|slurred|speech (?:\w+ ){0,2}(?:garbled|slurred)|garbled|can't speak (?:properly|clearly)|aphasi"
        r"|sudden(?:ly)? (?:\w+ ){0,2}(?:weakness|numbness|numb|weak)|weakness in " + _P + r" (?:right|left) "
        r"|(?:right|left)[- ]sided weakness|arm drift|\bfast positive|half of " + _P + r" face"
        r"|can't (?:smile|move) (?:\w+ ){0,2}(?:left|right)|sudden loss of vision|having a stroke"
        r"|worst headache of (?:my|his|her|their) life|thunderclap|can't lift (?:it|my arm|his arm|her arm)"
        r"|can't find (?:my|his|her) words|suddenly can't (?:talk|speak|walk|see|understand|move)|words (?:are |came out )?(?:jumbled|mixed up)"
        r"|(?:right|left) (?:hand|arm|leg|side) (?:is |keeps |went )?(?:dropping|dead|limp|heavy|numb|useless|won't move|giving way)"
        r"|one side of (?:my|his|her) (?:face|body|mouth)|lopsided (?:face|smile)|(?:face|smile) (?:is |looks )?lopsided"
        r"|sudden(?:ly)? (?:double vision|blind|confused|unable to)"
        r"|(?:smile|face|mouth) (?:is |looks |seems |went |has gone )?(?:a bit |a little |slightly |kind of |sort of |somewhat )?"
        r"(?:crooked|twisted|drooping|droopy|uneven|lopsided)"
        r"|can't (?:raise|lift|hold|grip|feel|move) (?:his|her|my) (?:right |left )?(?:arm|leg|hand)"
        r"|(?:arm|leg|hand|side of (?:his|her|my) body) (?:\w+ ){0,2}(?:went|going|gone|is) (?:numb|weak|limp|dead)"
        r"|words (?:are |were )?(?:coming out |come out )?(?:wrong|strange|muddled)|speech (?:is |sounds |went )?(?:strange|wrong|funny)"
    ),
    "breathing": (
        r"can(?:'t|not|n't) breathe|can barely breathe|struggling to breathe|gasping|lips (?:are )?(?:turning )?blue"
        r"|choking|\bnot breathing|\b(?:isn't|wasn't|aren't|isnt) breathing|\bstop(?:ped|s) breathing|severe(?:ly)? short(?:ness)? of breath|can't catch " + _P + r" breath"
        r"|ribs (?:are )?sucking in|breathing (?:really |very )?fast and grunting|grunting"
        r"|(?:saturation|sats?|spo2|o2 sat\w*) (?:\w+ ){0,3}(?:[4-8]\d|9[01])\s?%"
        r"|(?:can't|cannot|can not|unable to|not|no longer|isn't|won't|struggling to) (?:\w+ ){0,3}(?:in )?full sentences"
        r"|(?:trouble|difficulty|hard to) breath|wheezing badly|can't get (?:any )?(?:air|a breath|(?:my|his|her) breath)"
        r"|asthma attack|high[- ]pitched (?:noise|sound|breathing)|noisy breathing|suffocat|struggling for (?:air|breath)"
        r"|(?:lips|face|skin) (?:\w+ ){0,2}(?:blue|purple|grey|gray)|blue lips|labou?red breathing|breathless at rest"
        r"|breathing (?:is |has become )?(?:very |really )?(?:hard|difficult|laboured|labored|shallow)"
        r"|(?:working|fighting) (?:\w+ )?hard to breathe|can't (?:finish|complete) a sentence|breathing (?:really |very )?fast"
    ),
    "unconscious": (
        r"\bcollapsed|not responding|unresponsive|(?:isn't|not|won't|can't|cannot|can not) (?:be )?wak(?:e|ing)"
        r"|passed out|lost consciousness|loss of consciousness|\bunconscious|\bgcs (?:of )?(?:[3-8])\b"
        r"|no pulse|\bfainted\b|(?:isn't|is not|aren't|not|won't|doesn't|does not) respond|no response"
        r"|dropped to the (?:floor|ground)|keeled over|blacked out|out cold|floppy and (?:not|won't)|limp and (?:not|won't)"
        r"|(?:can't|cannot) (?:rouse|wake)|won't wake|slumped|knocked out"
        r"|fell (?:off|from|down) (?:a |the )?(?:ladder|roof|stairs|balcony|height|scaffold)"
    ),
    "seizure": (
        r"having (?:a |another )?(?:seizure|fit|convulsion)s?|having another one|\bseizing|convulsing|convulsions"
        r"|shaking all over|seizure right now|won't stop (?:seizing|shaking)|jerking|twitching all over|eyes (?:rolled|rolling) back"
        r"|\bfitting\b|shaking uncontrollably|stiff and shaking|(?:is|are|started) (?:having )?(?:a )?(?:seizure|fit)s?\b"
        r"|\bgtcs?\b|tonic[- ]clonic|status epilepticus|(?:seizures?|fits|convulsions) x ?[2-9]"
        r"|(?:not|hasn't|has not|hadn't|without) (?:\w+ )?regain(?:ed|ing)? (?:full )?consc"
    ),
    "bleeding": (
        r"won't stop bleeding|bleeding (?:that )?(?:won't|doesn't|does not|will not) stop|bleeding (?:heavily|profusely)"
        r"|heavy bleeding|blood (?:is )?spurting|spurting blood|ha?ematemesis"
        # "vomited approx 500ml fresh blood"; "vomited twice, no blood" is none
        r"|(?:vomit(?:ed|ing|s)?|threw up|throw(?:ing|s)? up|coughed up|cough(?:ing|s)? up|spat up|spitting up) "
        r"(?:(?!no\b|not\b|any\b|without\b)[\w~.]+ ){0,5}blood\b|black tarry stool|\bmela?ena\b|soaking through|bleeding a lot|massive bleed"
        r"|haemorrhag|hemorrhag|blood (?:is )?(?:pouring|gushing|everywhere|pumping)|(?:pouring|gushing) blood"
        r"|(?:bleed\w*|blood).{0,40}(?:not stopping|won't stop|doesn't stop|can't stop|isn't stopping|keeps coming)"
        r"|lost a lot of blood|pool of blood|bleeding (?:badly|everywhere|a lot|non-?stop)|(?:large|big|huge) (?:blood )?clots"
        r"|soaking (?:a |through (?:a )?)?(?:pad|towel|tampon)s? (?:every|in)"
        # giving blood is no bleeding: "vasovagal at blood donation - went pale"
        r"|(?:bleed\w*|blood(?! (?:donation|donor|drive|bank|test|draw|sample|pressure|sugar|glucose)|s? taken)).{0,50}(?:dizzy|faint|pale|light-?headed)"
    ),
}
ZH_RULES: dict[str, str] = {
    "self_harm": (
        r"自杀(?!风险|倾向|率|(?:去世|身亡|离世)的)|不想活|想死|去死|结束(?:自己的)?生命|割腕|跳楼|跳河|(?<!不会)(?<!不会再)伤害自己|自残|轻生|一了百了"
        r"|活不下去|(?:从|往)楼上跳|跳下去|上吊|割脉|寻死|自尽|不如死了|遗书|撑不下去|一死了之|死了算了|活着没(?:意思|意义)|想消失"
        r"|攒(?:够|了|点|些|下|着)?.{0,3}(?:安眠药|药片|止痛药|降压药)|(?:药|安眠药).{0,4}攒(?:够|好|齐)了?|一次性解决(?:掉)?(?:自己|算了|[，,。！!]|$)"
        r"|不会再(?:麻烦|拖累|打扰)(?:大家|你们|任何人|你)|以后不(?:会)?再(?:拖累|麻烦)(?:大家|你们)|永别了|下辈子再见"
    ),
    "overdose": (
        r"吃了(?:大概|大约|差不多|将近|快|约|有)?(?:[1-9]\d+|[89])片|吃了?(?:十|[二三四五六七八九]十|几十|十几|二三十)[几多来]?片|吃多了.{0,4}(?:药|片)|吃了(?:一整瓶|一瓶|整瓶|很多|好多|一把)|误吞|误服|吞了|喝了.{0,4}(?:消毒液|农药|洗洁精|漂白|84|敌敌畏)"
        r"|吸毒过量|药物过量|煤气中毒|一氧化碳中毒|中毒了|误食|(?:吃|吞|喝)(?:了|下)?(?:一|整|半)(?:瓶|盒|板|把)"
        r"|(?:一|整)(?:瓶|盒|板).{0,6}(?:都|全)?(?:吃|吞|喝)(?:了|下)|药.{0,4}(?:都|全)(?:吃|吞)了|吃了(?:太多|过量)"
        r"|(?:吃|吞|喝)了?(?:一|半|整|好几)(?:瓶|盒|板|把).{0,6}(?:药|片|安眠|降压|止痛)"
    ),
    "anaphylaxis": (
        r"喉咙(?:要|快|快要|像要|好像|感觉|都|也)?(?:肿|发紧|紧|堵)|喉头水肿|舌头肿|(?:脸|嘴|嘴唇|眼睛|舌头).{0,3}肿(?:起来|得)|(?:脸|嘴唇)(?:和嘴唇|和脸)?(?:都)?肿|是不是过敏性休克|过敏性休克了|过敏.{0,6}呼吸困难"
    ),
    "stroke": (
        r"口角歪斜|嘴(?:巴)?歪|嘴角歪|言语不清|说话.{0,2}不清|说话含糊|口齿不清|(?:说话|讲话|口齿).{0,4}含糊|(?:嘴角|嘴巴|半边脸|一边脸).{0,8}(?:耷拉|下垂)|一侧肢体无力|[左右]侧肢体(?:无力|偏瘫|麻木)"
        r"|偏瘫|失语|半边脸|手抬不起来|中风了|这辈子最痛|突然(?:看不清|失明)|手脚无力|说不出话|讲不出话|口眼歪斜|嘴歪眼斜"
        r"|半身不遂|(?:左|右|一)边.{0,6}(?:动不了|没力气?|没劲|麻木?|无力|不能动|使不上劲|使不上力)|(?:半个|半边)身子.{0,3}(?:麻|没劲|无力|动不了)"
        r"|手脚动不了|突然.{0,4}(?:不会说话|听不懂|站不稳)"
        r"|(?:嘴|脸|嘴角|眼睛)(?:(?![不没])[^，,、。；;]){0,2}(?:也|都)?(?:歪|斜)|(?:筷子|东西|碗|杯子)(?:都)?拿不(?:住|稳)|(?:手|胳膊|腿)(?:都)?抬不起"
    ),
    "breathing": (
        r"喘不过气|喘不上气|呼吸(?:很|特别|非常|十分)?困难|嘴唇发紫|口唇发绀|胸口往里凹|说话都说不完整|噎住"
        r"|(?:血氧|指氧|氧饱和度).{0,4}(?:[4-8]\d|9[01])\s?%|口唇紫绀|张口呼吸|呼吸特别快|呻吟|没有呼吸(?!困难|急促)|憋气|憋得|喘得(?:很|特别|非常)?厉害"
        r"|嘴唇.{0,3}紫|脸.{0,3}(?:发紫|青紫)|透不过气|上不来气|呼吸急促|哮喘(?:大)?发作|呼吸不了|不能呼吸|憋得慌"
        r"|停止呼吸|呼吸(?:停了|停止|骤停)|(?:说话|话)(?:都|也)?说不(?:连贯|完整|全|成句)"
        r"|(?:喷|吸|用)了.{0,8}(?:还是|还|仍然|依然|也)(?:很|一直)?(?:喘|憋|透不过气)|(?:喷雾|喷剂|吸入剂|气雾剂).{0,4}(?:不管用|没用|没效果)"
    ),
    "unconscious": (
        r"晕倒|昏倒|叫不醒|叫不太醒|昏过去|没醒|失去意识|意识丧失|呼之不应|昏迷|不省人事|摸不到脉搏|没反应|没有反应"
        r"|神志不清|意识不清|倒地|瘫倒|晕过去|不醒人事|怎么叫都不|叫.{0,3}(?:不应|不答应|不醒|没反应)"
        r"|从.{0,6}(?:高处|楼梯|梯子|楼上)(?:摔|掉|跌)"
    ),
    "seizure": r"(?<![腿脚])抽搐|(?<![腿脚])(?<![腿脚].)(?<![腿脚]..)抽筋|癫痫(?:(?![没未不]).){0,4}发作(?!时)|惊厥|抽动|(?:两眼|眼睛)上翻|翻白眼|口吐白沫|抽风|眼睛发直|(?:浑身|全身)(?:发抖|哆嗦|抖动)"
    r"|强直阵挛|癫痫持续状态|癫痫大发作|抽了(?:两|三|几|好几)次",
    "bleeding": (
        r"血止不住|止不住.{0,4}血|出血.{0,8}止不住|一直出血|大出血|血往外喷|吐血|吐了.{0,4}血|黑便|咳出.{0,4}血|咯血"
        r"|大量出血|出血不止|便血|一直(?:出|流)血|血流不止|流血.{0,8}止不住|(?:流|出)了(?:很多|好多|一大摊)血|吐了.{0,4}口血|大血块"
        r"|(?:全是|都是|满是|一大?(?:摊|滩|盆))鲜?血"
    ),
}
# Tier 2: alarm words that on their own, said about someone now, warrant escalation. Broad on
# purpose: a missed emergency costs far more than an unneeded escalation.
EN_RULES["alarm"] = (
    r"\b(?:breathless|short of breath) (?:and|at rest|even)|squeezed|\bconfused\b.{0,40}(?:cold|blotchy|mottled|fever|infection|pale)"
    r"|(?:cold|blotchy|mottled|grey|gray) and (?:blotchy|mottled|clammy|confused)|coffee grounds|black (?:poo|stool)"
    r"|flashing lights|pounding headache|(?:severe|unbearable|excruciating|crushing) (?:\w+ )?(?:pain|headache|bleeding)|\bagony\b"
    r"|(?:can't|cannot|couldn't) get (?:him|her|them) to respond|too much (?:insulin|medication|medicine|of (?:my|his|her))"
    r"|inhaler (?:isn't|doesn't|is not|does not|not) (?:help|work)|doesn't (?:go away|fade) when .{0,20}glass|glass test"
    r"|(?:shaky|shaking) and (?:sweaty|confused|pale)|hardly (?:waking|breathing|moving)|barely (?:awake|responsive|conscious)"
        r"|swollen shut|tearing pain|waters? (?:have |has )?(?:just |now )?(?:gone|broken|broke)|overheating"
    r"|(?:\bbp|blood pressure) (?:is |keeps |has been |has |now )?(?:dropping|falling|crashing|plummeting|unrecordable)"
    r"|(?:skin|legs|knees|arms|hands|feet|she's|he's|is|are|looks|gone|going) (?:all |a bit |really )?mottled"
    r"|(?:doesn't|does not|didn't|can't) (?:know (?:what (?:year|day) it is|where (?:she|he|they) (?:is|are))|recogni[sz]e (?:me|us|anyone|her|him))"
)
ZH_RULES["alarm"] = (
    r"(?:说话|讲话|口齿).{0,4}不(?:利索|清楚|清晰)|(?:左|右)?(?:手|胳膊|腿|脚)(?:突然)?(?:没劲|没力气?|发麻|不听使唤|使不上劲|使不上力)|肿起来"
    r"|(?:切断|断了|砍伤|扎伤).{0,10}血|血.{0,4}(?:一直|不停)(?:在)?(?:流|冒)|声音(?:变了|嘶哑)|意识模糊|疼得受不了|痛得受不了"
    r"|剧痛|脸色发青|四肢冰凉|大汗淋漓|胰岛素.{0,6}(?:打多了|过量)|咖啡(?:色|渣)|结束(?:这一切|一切)|嘴唇(?:发)?[青乌紫]"
        r"|(?:吃|吞|喝|咬破|误食)(?:了|下)?.{0,4}(?:凝珠|电池|消毒|农药|洗衣|清洁剂|磁铁|老鼠药|鼠药|干燥剂|酒精)"
        r"|(?:凝珠|电池|消毒液|农药|洗衣液|清洁剂|磁铁|老鼠药|鼠药)[^，,。；;！!？?]{0,6}(?:吃|吞|喝|咬破)(?:了|下)"
    r"|认不出(?:我|人|家里人|家人|我们)|不知道(?:自己在哪|今年是|现在是哪)|撕裂(?:样|一样|般)的?(?:疼|痛)|血压.{0,4}(?:测不到|测不出|量不到|量不出|往下掉|一直(?:在)?掉|直线下降|急剧下降|越来越低)"
    r"|血氧.{0,6}(?:往下掉|一直(?:在)?掉|越来越低|上不去)"
)
RULES: list[tuple[str, dict[str, re.Pattern[str]]]] = [
    (cat, {"en": _c(EN_RULES[cat]), "zh": _c(ZH_RULES[cat])}) for cat in EN_RULES if cat != "alarm"
]
# Checked after the named categories and the compound rules, so those name the category first.
ALARM = {"en": _c(EN_RULES["alarm"]), "zh": _c(ZH_RULES["alarm"])}

# ---- compound rules: a symptom plus a context or a warning feature ----
EN = {
    "chest": _c(
        r"chest (?:pain|pressure|tightness|hurts|is tight|discomfort)|(?:ache|pain|pressure) in the (?:middle|centre|center) of "
        + _P + r" chest|(?:pain|ache|aching|discomfort|heavy feeling|weight) (?:in|across|on) " + _P + r" chest|pressure in "
        + _P + r" chest|having a heart attack|clutching " + _P + r" chest|crushing|substernal"
        r"|band (?:around|across) " + _P + r" chest|(?:tightness|heaviness|squeezing) in " + _P + r" chest"
        r"|chest (?:feels |is )?(?:heavy|squeezed|tight)"
    ),
    "chest_feature": _c(
        r"radiat|spread|to (?:my|his|her|the) (?:left )?(?:arm|jaw|back|shoulder)|sweat|clammy|diaphore"
        r"|short(?:ness)? of breath|\bsob\b|breath|faint|nausea|sick|crushing|pressure|tearing|severe|sudden"
        r"|elephant|hardly|can only|so (?:much|bad|tight)|\d+/10|pale|heart attack|clutching|really bad|diabetic|diabetes|grey|gray|ashen|vomit|nause|dizzy|light-?headed"
        r"|right now|\d+ ?min|half an hour|an hour|for hours|since (?:this morning|an hour)|heavy|\((?:[4-9]\d)\)|\b[4-9]\d ?(?:yo|y/o|year)"
    ),
    "fever": _c(
        r"fever|febrile|temperature (?:of )?(?:3[89]|4[01])|temp (?:of )?(?:3[89]|4[01])|feels? (?:very )?hot|hot to (?:the )?touch"
        r"|\b(?:3[89]|4[01])(?:\.\d)?\s?(?:°|degrees|c\b)|\b3[89]\.\d\b"
    ),
    "pregnant": _c(r"\bpregnant\b|after giving birth|gave birth|postpartum|post-partum"
                   r"|\b(?:1[2-9]|[23]\d|4[0-2]) ?(?:wks?|weeks)\b|felt (?:the |my )?baby move|fetal movements?"),
    "pregnancy_symptom": _c(
        r"bleed|severe (?:\w+ )?pain|abdominal pain|sharp .{0,20}pain|(?:bad|severe) headache|blurred vision"
        r"|waters? broke|stopped moving|not moving|reduced (?:fetal |baby )?movements|soaking a pad|headache|vision|seizure|fit"
        r"|(?:haven'?t|have not|not|never|didn'?t|can'?t|cannot) (?:felt|feel|feeling) (?:the |my |her |him )?baby move"
        r"|baby (?:hasn'?t|has not|isn'?t|is not) (?:moved|moving|kicking)|no (?:fetal |baby )?movements?"
    ),
    "neck_stiff": _c(r"stiff neck|neck stiffness|rash that doesn't fade|non-blanching|purple rash"),
    # a knock to the head with a warning sign soon after it; "no vomiting" is none
    "head_knock": _c(r"(?:hit|banged|bumped|struck|knocked) (?:his|her|my|their) head"),
    "head_feature": _c(r"confus|sleepy|drows|vomit|throw\w* up|seiz|blood|not making sense"),
}
ZH = {
    # degree words may sit between ("胸口有点闷", "胸口有些发紧", "心口有点压着")
    "chest": _c(r"胸痛|胸口[^，,。；;！!？?]{0,4}(?:疼|痛|闷|紧|压|憋)|胸闷|胸部[^，,。；;！!？?]{0,3}(?:闷|紧|压)|胸[^，,。；;！!？?]{0,2}发紧"
                r"|心脏病发作|捂着胸口|心梗发作|心口[^，,。；;！!？?]{0,4}(?:疼|痛|闷|紧|压|憋)|心前区.{0,2}(?:疼|痛)"),
    "chest_feature": _c(
        r"放射|左臂|后背|出汗|冷汗|大汗|喘不上气|气短|气促|喘|晕倒|压榨|撕裂|剧烈|苍白|发白|呼吸困难|恶心|石头|心脏病发作|捂着胸口|很痛"
        r"|厉害|想吐|呕吐|头晕|分钟|半小时|小时|突然|汗|脸色|糖尿病|(?<!\d)[4-9]\d岁|[四五六七八九]十(?:多|几)?岁"
    ),
    "fever": _c(r"发烧|发热|高烧|高热|体温.{0,2}3[89]|3[89](?:\.\d)?\s?度"),
    "pregnant": _c(r"怀孕|孕\d+周|孕[早中晚]期|产后|妊娠\d+周"),
    "pregnancy_symptom": _c(
        r"出血|流血|流.{0,4}血|见红|剧烈疼痛|剧痛|头痛|头疼|眼花|血压.{0,2}高|抽搐|肚子(?:(?![不没])[^，,。；;]){0,3}痛|腹痛|看东西模糊|视物模糊|破水|(?:没有|感觉不到|没|不动)胎动|胎动(?:减少|消失|没了)"
    ),
    "neck_stiff": _c(r"脖子僵硬|颈项强直|颈强直|紫色.{0,3}皮疹|紫癜"),
    "head_knock": _c(r"(?:摔|撞|磕|碰)(?:到|了|伤)?.{0,4}头"),
    "head_feature": _c(r"迷糊|嗜睡|想睡|犯困|睡过去|叫不醒|呕吐|吐了|昏|抽|胡话"),
}
HEAD_WINDOW = {"en": 60, "zh": 30}  # characters after the knock in which its warning sign must come
# Chest-wall pain on pressing is benign under the labelling rules: such a chest phrase is no chest pain
# (and a calm finding for the backstop, backstop_words.BENIGN). "Pressing on his chest" is clutching it, not this.
CHEST_WALL = {
    "en": _c(r"\b(?:ribs?|rib cage|chest wall|breastbone|sternum|chest)\b[^.;!?]{0,60}\b(?:when|if) (?:i|you|she|he|they) (?:press|push|touch)"
             r"|\bpress(?:es|ing)? on (?:my|her|his|the) (?:ribs?|breastbone|sternum|chest wall)"
             r"|reproducible on palpation|chest wall (?:pain|tenderness)|costochondritis"),
    "zh": _c(r"(?:胸|肋).{0,12}(?:一按就|按着|按压|按了|按上去|压着|一压就)(?:会|也|才|就)?(?:疼|痛)|(?:胸|肋).{0,12}压痛|肋软骨炎"),
}
# Soreness of muscles after exercise is no red-flag pain, however strong ("肌肉酸痛很厉害").
SORENESS = {
    "en": _c(r"\bmuscles? (?:are |is |feel |felt )?(?:so |really |very )?(?:sore|achy|aching|ache|aches|stiff)|\bsore muscles\b|\bdoms\b"),
    "zh": _c(r"酸痛|酸疼"),
}
# "血压掉到85/50", "血压一路往下掉，刚测82/48", "BP now 80/40": a few words may sit between label and reading.
BP = _c(r"(?:\bbp|blood pressure|血压)[^\d\n]{0,10}?(?P<sys>\d{2,3})\s?/\s?\d{2,3}"
        r"|(?:收缩压|systolic(?: bp| pressure)?)[^\d\n]{0,6}?(?P<sbp>\d{2,3})(?![\d/])")
SHOCK_SYSTOLIC = 90
# Severe hypoglycaemia: a reading under 3.0 mmol/L (54 mg/dL) now, "外婆测血糖只有1.8".
GLUCOSE = _c(r"(?:血糖|blood (?:sugar|glucose)|\bglucose|\bsugars?(?: level| reading)?|\bbm)[^\d\n]{0,8}?"
             r"(?P<g>\d{1,3}(?:\.\d+)?)(?![\d/])\s?(?P<mg>mg)?")
HYPO_MMOL, HYPO_MG = 3.0, 54

# ---- infant age: under 3 months with any fever is an emergency ----
INFANT_DAYS = 90
NEWBORN = _c(r"newborn|neonate|新生儿|满月")
BABY_ZH = _c(r"宝宝|婴儿|孩子|娃|新生|小孩|儿子|女儿|闺女|囡囡|宝贝")
AGE_EN = _c(r"\b(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)[- ](?P<unit>day|week|month)s?[- ]old")
AGE_ZH = _c(
    r"(?:出生|才|刚|刚满|满)?(?P<n>\d+|[一二两三四五六七八九十]+)(?:个多|个)?(?P<unit>天|周|星期|月)(?:大|的宝宝|宝宝|的婴儿|[，,])"
)
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "天": 1, "周": 7, "星期": 7, "月": 30}
EN_NUMS = {w: i + 1 for i, w in enumerate("one two three four five six seven eight nine ten eleven twelve".split())}
ZH_NUMS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2, "十": 10}

# ---- tier 3: any symptom with a severity or acuity marker in the same current clause ----
GENERIC = {
    "en": (
        _c(r"pain|hurt|ache|bleed|blood|breath|chest|swollen|swelling|fever|temperature|seiz|\bfits?\b|shak|jerk|confus"
           r"|sleepy|drowsy|faint|dizzy|vomit|numb|weak|collaps|unconscious|wak(?:e|ing)|respond|colou?r|blue|grey|gray"
           r"|dusky|pale|sweat|whisper|pauses|cutting|overheat|shiver"),
        _c(r"so (?:much|bad|badly|tight|hard)|can hardly|can only|can't stop|won't stop|suddenly|sudden|came on|in a row"
           r"|without waking|uncontrollabl|a lot of blood|going (?:a )?(?:dusky|blue|grey|gray|pale|purple)|pauses"
           r"|worst|severe|unbearable|excruciating|(?:3[9]|4[0-2])(?:\.\d)?\s?(?:°|degrees|c\b)|temperature of (?:39|4[0-2])"),
    ),
    "zh": (
        _c(r"痛|疼|(?<![验抽献贫采])血(?![压糖脂常型管红氧小象钾钠钙清培检]|液科)|喘|呼吸|肿|烧|发热|(?<![腿脚])抽(?!烟|血|空|时间|查|样)|晕|昏|吐|麻|无力|没劲|汗|发青|发紫|发白|冰凉|叫不醒"),
        _c(r"突然|" + YIZHI + r"|不停|很费劲|费劲|厉害|受不了|很高|很差|浑身|全身|已经.{0,3}分钟|十分钟|半小时|一个小时|止不住|越来越"),
    ),
}
CHEMO = _c(r"chemo|化疗|neutropeni|粒细胞缺乏")

# ---- a general question describes no one: the backstop (which only adds hits) stays quiet ----
# Labelling rules: label 1 needs a person who has the red flag now; "What causes bleeding gums in
# pregnancy?" names nobody. Only whole-message evidence independent of the rules' negation and
# history scope is used here: a veto built on that scope silenced emergencies the rules had
# misread, which are exactly what the backstop is for.
GENERAL_QUESTION = {
    "en": _c(r"^\W*(?:what|which|how|why|is|are|can|does|do|should)(?![\w'])"),  # not "can't breathe"
    "zh": _c(r"有哪些|什么区别|什么是|是什么病"),
}
# Someone, or now: any of these keeps a message in front of the backstop ("what to do, collapsed").
PERSON_OR_NOW = {
    "en": _c(r"\b(?:i|i'm|i've|i'd|me|my|myself|we|our|us|he|he's|him|his|she|she's|her|they|they're|their|them|you|your"
             r"|patient|pt|baby|infant|newborn|child|kid|toddler|son|daughter|wife|husband|partner|mother|mum|mom"
             r"|father|dad|friend|brother|sister|grandma|grandpa|granny|nan|man|woman|boy|girl|someone|somebody"
             r"|now|suddenly|just|to do|help|urgent|emergency|ambulance|911|999|112)\b"),
    "zh": _c(r"我|他|她|孩子|宝宝|宝贝|婴儿|娃|儿子|女儿|患者|病人|老人|爸|妈|父亲|母亲|老公|老婆|丈夫|妻子|朋友|家人|奶奶|爷爷"
             r"|外婆|外公|姥姥|姥爷|同事|哥|姐|弟|妹|自己|突然|现在|刚才|怎么办"),
}
