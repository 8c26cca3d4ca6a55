"""Regexes for the PHI recognizers (Presidio PatternRecognizer, `regex` syntax with lookbehind context)."""
from __future__ import annotations

# Common Chinese surnames (the ~180 most frequent, plus compound ones): a name after a weak
# context word such as 患者 must start with one. Public frequency knowledge, not a name list.
_SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
    "崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤常温康施文"
    "牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕季裴霍涂苗谷盛"
    "曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏"
    "席卫米柏宗瞿桂佟臧闵苟邬边卞姬仇栾隋刁沙荣巫寇桑郎甄丛仲虞敖巩佘池麻苑迟邝萧洪郁鞠闻"
)
_SURNAMES_2 = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|令狐|长孙|宇文|司徒|夏侯|端木|西门|南宫|独孤|轩辕"
SURNAME = f"(?:{_SURNAMES_2}|[{_SURNAMES_1}])"
CJK = r"\p{Han}"

# USPS street suffixes (Publication 28), the common ones, abbreviated and spelled out.
STREET_SUFFIXES = (
    "Alley|Aly|Avenue|Ave|Bay|Bend|Bluff|Bluffs|Boulevard|Blvd|Branch|Bridge|Brook|Brooks|Burg|Burgs|Bypass|Camp"
    "|Canyon|Cape|Causeway|Center|Centers|Circle|Cir|Circles|Cliff|Cliffs|Club|Common|Commons|Corner|Corners|Course"
    "|Court|Ct|Courts|Cove|Coves|Creek|Crescent|Crest|Crossing|Crossroad|Curve|Dale|Dam|Divide|Drive|Dr|Drives|Estate"
    "|Estates|Expressway|Extension|Extensions|Fall|Falls|Ferry|Field|Fields|Flat|Flats|Ford|Fords|Forest|Forge"
    "|Forges|Fork|Forks|Fort|Freeway|Garden|Gardens|Gateway|Glen|Glens|Green|Greens|Grove|Groves|Harbor|Harbors"
    "|Haven|Heights|Highway|Hwy|Hill|Hills|Hollow|Inlet|Island|Islands|Isle|Junction|Junctions|Key|Keys|Knoll|Knolls"
    "|Lake|Lakes|Land|Landing|Lane|Ln|Light|Lights|Loaf|Lock|Locks|Lodge|Loop|Mall|Manor|Manors|Meadow|Meadows|Mews"
    "|Mill|Mills|Mission|Motorway|Mount|Mountain|Mountains|Neck|Orchard|Oval|Overpass|Park|Parks|Parkway|Parkways"
    "|Pass|Passage|Path|Pike|Pine|Pines|Place|Pl|Plain|Plains|Plaza|Point|Points|Port|Ports|Prairie|Radial|Ramp"
    "|Ranch|Rapid|Rapids|Rest|Ridge|Ridges|River|Road|Rd|Roads|Route|Row|Rue|Run|Shoal|Shoals|Shore|Shores|Skyway"
    "|Spring|Springs|Spur|Spurs|Square|Squares|Station|Stravenue|Stream|Street|St|Streets|Summit|Terrace|Ter"
    "|Throughway|Trace|Track|Trafficway|Trail|Trailer|Tunnel|Turnpike|Underpass|Union|Unions|Valley|Valleys|Via"
    "|Viaduct|View|Views|Village|Villages|Ville|Vista|Walk|Walks|Wall|Way|Ways|Well|Wells"
)
_CAP = r"[A-Z][a-zA-Z'\-]+"
_SECONDARY = r"(?:,?\s(?:Apt\.?|Suite|Ste\.?|Unit|#)\s?[A-Za-z0-9\-]+)?"
_CITY_STATE_ZIP = r"(?:,?\s+[A-Z][a-zA-Z]+(?:\s[A-Z][a-zA-Z]+){0,2},\s[A-Z]{2}\s\d{5}(?:-\d{4})?)?"

# After a person word, what is not a name: a symptom (高烧), an age (两岁), a ward phrase (安返).
NOT_A_NAME = r"(?!高烧|高热|低烧|安返|安静|平卧|清醒|[一二三四五六七八九十两半几]\p{Han}?(?:岁|个月|周|天))"
# Each entry: entity -> list of (pattern name, regex, score). Lookbehinds carry the context.
PATTERNS: dict[str, list[tuple[str, str, float]]] = {
    "EMAIL": [("email", r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,24}\b", 0.9)],
    "US_SSN": [
        ("ssn dashed", r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b", 0.8),
        ("ssn context", r"(?<=(?i:\bssn|social security(?: number| no\.?)?)[\s:#]{0,3})\d{3}[- ]?\d{2}[- ]?\d{4}\b", 0.9),
    ],
    "CN_ID": [("cn resident id", r"(?<![0-9])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![0-9])", 0.6)],
    "PHONE": [
        ("cn mobile", r"(?<![\d])(?:\+?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d{4}){2}(?![\d])", 0.7),
        ("cn landline", r"(?<![\d])(?:\(0\d{2,3}\)|0\d{2,3})[\s\-]?\d{7,8}(?![\d])", 0.6),
        (
            "us phone",
            r"(?<![\d\w])(?:(?:\+?1|001)[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-]?)\d{3}[\s.\-]?\d{4}"
            r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?(?![\d])",
            0.6,
        ),
    ],
    "MRN": [
        (
            "mrn context",
            r"(?<=(?i:\bmrn|medical record(?: number| no\.?| #)?|record no\.?|chart(?: number| no\.?| #)|hospital (?:number|no\.?))"
            r"[\s:#.]{0,3})[A-Za-z]{0,3}[\-]?\d[\d\-]{4,14}\b",
            0.9,
        ),
        ("mrn zh", r"(?<=(?:病历号|病案号|住院号|门诊号|就诊卡号|ID号)[\s:：#]{0,3})[A-Za-z]{0,3}\d[\d\-]{4,14}", 0.9),
    ],
    "INSURANCE_ID": [
        (
            "insurance context",
            r"(?<=(?i:\b(?:insurance|member|policy|subscriber|medicare|medicaid|plan|group)(?: id| no\.?| number| #)"
            r"|insurance)[\s:#.]{0,3})[A-Za-z]{0,4}[\-]?\d[A-Za-z0-9\-]{5,19}\b",
            0.9,
        ),
        ("insurance zh", r"(?<=(?:医保(?:卡)?号|社保卡号|医保编号|保险(?:单|卡)号|参保号)[\s:：#]{0,3})[A-Za-z]{0,4}\d[A-Za-z0-9\-]{5,19}", 0.9),
    ],
    "DOB": [
        (
            "dob en",
            r"(?<=(?i:\bdob|d\.o\.b\.?|date of birth|birth ?date|born(?: on)?)[\s:#]{0,3})"
            r"(?:\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}|\d{1,2}[\-/.]\d{1,2}[\-/.]\d{2,4}"
            r"|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s\d{1,2},?\s\d{4}|\d{1,2}\s(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s\d{4})",
            0.9,
        ),
        (
            "dob zh",
            r"(?<=(?:出生日期|出生年月日|出生年月|生日|出生于|出生)[\s:：]{0,3})"
            r"(?:\d{4}年\d{1,2}月\d{1,2}日|\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2})",
            0.9,
        ),
    ],
    "ADDRESS": [
        (
            "address en",
            r"\b\d{1,6}\s" + _CAP + r"(?:\s" + _CAP + r"){0,3}\s(?:" + STREET_SUFFIXES + r")\.?\b" + _SECONDARY + _CITY_STATE_ZIP,
            0.6,
        ),
        ("address en context", r"(?<=(?i:\baddress|lives at|residing at|resides at|home address)[\s:]{1,3})(?=\S)(?!(?i:on (?:file|record)|details|please|and|or|for|is|was|has|change)\b)[^\n;]{6,80}?(?=\s*(?:\n|;|$|\.\s|\s\|))", 0.7),
        ("us military", r"\b(?:USNS|USNV|USS|USCGC|PSC|Unit)\s[A-Za-z0-9 ,]{1,30}?\s[AFD]PO\s[A-Z]{2}\s\d{5}\b", 0.6),
        (
            "address zh",
            CJK + r"{2,7}?(?:省|自治区|市)" + CJK + r"{1,8}?(?:市|县|州|区|盟)[\p{Han}A-Za-z0-9]{0,16}?(?:街|路|道|巷|弄|胡同|村)"
            r"[\p{Han}A-Za-z0-9\-]{0,10}?(?:号|座|栋|室|楼|单元|号院)(?:\s?\d{6})?",
            0.6,
        ),
        ("address zh context", r"(?<=(?:地址|住址|家住|住在|居住于|现住)[\s:：]{0,3})(?!哪|什么|几)[^\s，,。；;\n]{4,40}(?:\s\d{6})?", 0.7),
    ],
    "PERSON": [
        (
            "en title",
            r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s" + _CAP + r"(?:\s(?:[A-Z]\.\s)?" + _CAP + r"){0,2}"
            r"(?:,?\s(?:Jr\.?|Sr\.?|II|III|IV|MD|DDS|PhD|DVM))?",
            0.8,
        ),
        (
            "en context",
            r"(?<=(?i:\b(?:patient(?: name)?|pt|name|contact|emergency contact|next of kin|referred by|seen by|attending"
            r"|physician|nurse|spouse|wife|husband|son|daughter|mother|father|guardian|caregiver|signed|dictated by"
            r"|provider|clinician|surgeon|informant|accompanied by|brought in by|pcp|(?:summary|letter|referral|consult|note) for)"
            r"|(?:note|summary|record|encounter|report|referral)\s?:)[\s:,\-]{1,3})"
            r"(?:(?:Mr|Mrs|Ms|Miss|Dr)\.?\s)?" + _CAP + r"(?:\s(?:[A-Z]\.\s)?" + _CAP + r"){1,2}"
            r"(?:,?\s(?:Jr\.?|Sr\.?|II|III|IV|MD|DDS|PhD|DVM))?",
            0.8,
        ),
        (
            "en age clause",
            r"(?<![A-Za-z])" + _CAP + r"(?:\s" + _CAP + r"){1,2}(?=,?\s(?:is|was)\s(?:an?\s)?\d{1,3}[\s\-](?:year|yo|y/o)"
            r"|,\s\d{1,3}[\s\-]?(?:y/o|yo|year-old|years old|years)\b)",
            0.7,
        ),
        (
            "en subject",
            r"(?<![A-Za-z])" + _CAP + r"(?:\s(?:[A-Z]\.\s)?" + _CAP + r"){1,2}(?=\s(?:called|calls|reports|reported|states"
            r"|stated|presents|presented|complains|complained|denies|denied|was seen|was admitted|returns|returned"
            r"|arrived|telephoned|phoned)\b)",
            0.7,
        ),
        (
            "zh strong context",
            r"(?<=(?:姓名|患者(?=[:：])|联系人|紧急联系人|签名|签字|医师签名|主治医生|主治医师|经治医生|转诊医生|报告人|家属姓名)[\s:：]{0,3})"
            r"\p{Han}{2,4}?(?=$|[\s，,。；;：:、（(]|先生|女士|电话|手机|性别|男|女|\d)",
            0.85,
        ),
        (
            "zh weak context",
            r"(?<=(?:患者|病人|病患|家属|联系|丈夫|妻子|儿子|女儿|母亲|父亲|之子|之女|老伴|联系人|医生|医师|护士|大夫)[\s:：]{0,2})"
            + r"(?!方式|方法|电话|人)" + NOT_A_NAME + SURNAME + r"\p{Han}{1,2}?(?=$|[\s，,。；;：:、（(]|先生|女士|电话|手机|男|女|\d|因|于|主诉|自述|入院|今日|诉|来诊|就诊|出现|反复|开|用|服|吃|的|需要|应该|该|是|胸痛|胸闷|头痛|头晕|腹痛|咳嗽|发热|发烧|突发|突然|持续)",
            0.7,
        ),
        # "车上有医生吗": 车 is a surname, but a given name holds no function character (有, 个, 位, 上 ...)
        ("zh honorific", SURNAME + r"(?:(?![有个位的找叫问是没去看请和跟给上下里在])\p{Han}){1,2}(?=先生|女士|同志|老师|医生|大夫|护士|主任|教授)", 0.6),
        # Rare surnames: after a person word, 2-3 characters closed by punctuation; common
        # clinical words and function characters rule a candidate out.
        (
            "zh weak context any surname",
            r"(?<=(?:患者|病人|病患|家属|丈夫|妻子|儿子|女儿|母亲|父亲)[\s:：]{0,2})" + NOT_A_NAME +
            r"(?![^，,。（(\s]{0,2}(?:[的是应做其该此有无不仰坐站病症患者男女术史院热抽喘痛疼烧咳吐晕血肿哮问说讲]|一直|进行|服务|治疗|检查|查体|卧位|医生|诊断|电话|方式"
            r"|家属|本人|情况|目前|既往|亲友|同事|一般|正常|性别|生命))"
            r"\p{Han}{2,3}?(?=[，,。（(\s]|因|自述|主诉)",
            0.55,
        ),
        ("zh doctor after verb", r"(?<=(?:联系|请教|咨询|找|向))(?![^医]{0,2}[科室诊班治庭区院])\p{Han}{2,3}?(?=医生|大夫|护士|主任|教授)", 0.55),
        ("zh honorific any surname", r"(?<=^|[\s，,。：:；;])\p{Han}{2,3}?(?=先生|女士)", 0.55),
    ],
}
