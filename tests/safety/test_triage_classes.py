"""Error classes found in each fresh triage batch after its one measurement, fixed by class.

Every sentence here was written for these tests, never copied from a measured batch
(evals/triage/README.md tells each round's story). One list per check, grouped by the batch
whose errors named the class.
"""
from __future__ import annotations

import pytest

from medqa.safety.triage import calm_context, rules_only

RULE_CLASSES = [
    # --- blind4 ---
    ("pt 70M, melaena since this morning, dizzy on standing", True),
    ("他这几天状态挺好，也不发烧，下周化疗要提前抽血吗", False),  # 不 negates 发烧 across the cue's lookahead
    ("化疗后第7天，今天发烧38.9度", True),
    ("my 2 year old might have swallowed one of those little round flat batteries", True),
    ("孕30周，最近晚上小腿老抽筋，要不要补钙", False),  # cramps, not a seizure
    ("孩子突然抽筋，叫不醒", True),
    # --- blind5 ---
    ("Took about 20 paracetamol 500mg this afternoon, I feel fine now", True),  # a hedged count of a named drug
    ("他吃了大概30片安眠药", True),
    ("I took 10 mg of oxycodone as prescribed, can I drive?", False),  # a dose is not a count of tablets
    ("19F, GTCS x2 in 1 hr, not regained full consc between", True),  # seizures in clinical shorthand
    ("Seizures x3 since midnight", True),
    ("h/o GTCS, well controlled on levetiracetam, wants to plan a pregnancy", False),
    ("癫痫持续状态，已推注地西泮", True),
    ("热性惊厥会不会烧坏脑子啊？想提前了解一下", False),  # asked in advance, naming no one now
    ("孩子刚才抽了三次，想提前了解一下怎么办", True),
    ("哮喘一直控制得挺好，药快用完了，能续方吗", False),  # 一直 before a calm word is no severity
    ("伤口一直好不了，一直流血", True),
    # --- blind6 ---
    # blind6's rule errors, read after its one measurement, fixed by class (sentences written for these tests).
    # asked to prepare for later addresses nobody now; the cue's own "we're"/"I'm" is no now
    ("When is a fever in a newborn an emergency? Reading up before our baby arrives so we're prepared.", False),
    ("Grandad lives with us, so we're ready: face drooping and slurred speech mean 999, right?", False),
    ("宝宝还没出生，想提前准备一下：新生儿发烧到多少度要去急诊？", False),
    ("My 3 week old has a fever of 38.4 right now, I want to be prepared for what the GP will ask", True),
    # teaching others: a training question, a talk for a group
    ("Question from our dispatcher training course: a caller says her husband is having a seizure, what do we tell her?", False),
    ("想给班上的同学讲讲癫痫发作的急救，有没有简单好记的口诀？", False),
    ("消防培训课上的案例：有人抽搐倒地，旁边的人该做什么？", False),
    ("培训课上一个学员突然晕倒了，叫不醒", True),
    # fiction; the clinical "episode", watching TV when it happens and an event at a training stay emergencies
    ("In this week's episode a nurse collapsed and was unresponsive - would they really shock her?", False),
    ("In a hospital drama I watched, a man was choking at dinner; is back blows really the first step?", False),
    ("电视剧里有人突然口吐白沫抽搐，现实中应该怎么处理？", False),
    ("An episode of crushing chest pain now, with sweating", True),
    ("Dad was watching a hospital drama when he collapsed and isn't responding", True),
    ("爸爸看电视剧的时候突然倒地，叫不醒", True),
    # --- blind7 ---
    # blind7's errors, read after its one measurement, fixed by class (sentences written for these tests, not blind7's).
    # chest tightness with degree words between, plus a warning feature (nausea, sweating, diabetes, age)
    ("我爸有糖尿病，这会儿说心口有些发紧，还出了点汗", True),
    ("外公七十多岁，胸口有点闷，还有点想吐", True),
    ("I've got a bit of chest tightness since lunch and feel nauseous", True),
    ("最近偶尔胸口有点闷，叹口气就好，没有别的不舒服", False),  # no warning feature
    # chest-wall pain on pressing is benign (labelling rules), in the rules too
    ("胸口左边一按就疼，打球撞到了，呼吸也没问题", False),
    # an earlier pregnancy is history; "pregnant with my first" is this one
    ("上一胎孕32周见红早产了，这次孕16周，想问要注意什么", False),
    ("I had a big bleed after delivery with my first; now 24 weeks and all fine, should I see a consultant?", False),
    ("I'm 30 weeks pregnant with my first and bleeding heavily", True),
    ("上一胎顺产很顺利，这次孕36周，刚才破水了", True),
    # bleeding that has stopped
    ("拔完智齿棉球咬了二十分钟就不流血了，今晚能刷牙吗", False),
    ("Cut my finger on a knife, it stopped bleeding after ten minutes of pressure so badly, do I need a tetanus jab?", False),
    ("Cut my finger and the bleeding won't stop after ten minutes", True),
    # muscle soreness after exercise is no red-flag pain
    ("健身后第二天大腿酸痛得厉害，下楼都难，正常吗", False),
    ("My muscles ache so much after leg day, is that normal?", False),
    ("肚子疼得很厉害，一直吐", True),
    # a period of suicidal thoughts that is over; a recent one is not
    ("那段时间天天想着自杀，现在好多了，在心理科复诊", False),
    ("There was a time I had suicidal thoughts every day; I've been stable on sertraline for two years", False),
    ("最近有段时间一直想自杀", True),
    # a head knock's warning sign must not be negated ("no vomiting")
    ("Kid bumped his head at nursery, no vomiting, not drowsy, playing happily", False),
    ("He banged his head on the shelf and has vomited twice since", True),
    ("孩子磕到头了，没有呕吐，精神很好", False),
    ("孩子磕到头以后吐了两次，一直想睡", True),
    # writing fiction names nobody now; "I was writing my novel when I collapsed" is no fiction
    ("I'm writing a novel where the heroine collapses and stops breathing; what would the paramedics do first?", False),
    ("我在写小说，主角突然晕倒了，叫不醒，现实中旁人应该怎么做？", False),
    ("I was writing my novel when I collapsed, now I'm dizzy and can't breathe", True),
    # --- dev7_dev8 ---
    # "nil" is clinical shorthand for none ("nil by mouth" is not)
    ("Obs round, bed 6: nil chest pain, nil nausea, sats 98% on air", False),
    ("Nil by mouth from 6am, and now crushing chest pain spreading to his left arm", True),
    # a seizure disorder that has been quiet for years; a seizure now still counts
    ("爸爸癫痫三年没发作了，这次复诊想减药", False),
    ("我弟癫痫又发作了，叫他没反应", True),
    # a named past weekday, season or week is history; a sentence that opens with a bare past time is history to its end
    ("Last Friday my uncle collapsed at the football, he had a stent put in and is back at work; what are your visiting hours?", False),
    ("He passed out in the sauna last winter and has been fine since; can he get a flu jab?", False),
    ("上周三我妈突然晕倒过一次，检查都正常，想约个复查", False),
    ("两年前的今天，我在公司突然晕倒抽搐，后来再也没发作过。", False),
    ("两年前的今天我做了手术。刚才我爸突然晕倒抽搐，叫不醒", True),
    ("一年前身体还好好的，昨晚突然倒地抽搐，口吐白沫", True),
    # "也不腹痛": 不 before a body part's pain negates it
    ("孕32周，宝宝动得挺好，也不腹痛，想问能不能坐飞机", False),
    # full sentences only count when they cannot be spoken
    ("After two puffs of her inhaler she was laughing and talking in full sentences again", False),
    ("He's not able to say full sentences, gasping between words", True),
    # a school project asks about a red flag without anyone having it
    ("For my biology homework: what are the signs that someone has had a stroke?", False),
    ("老师布置的作业：癫痫发作时旁人应该怎么做？", False),
    # --- blind8 ---
    # a scenario put to a trainee, a first-aid lesson, a threshold question asked to know in advance
    ("Quiz for new staff: if a customer says their throat is swelling after the satay, who do we call?", False),
    ("Training scenario: a guest has stopped breathing in the pool, what's step one?", False),
    ("If a resident collapses in the lounge, do we start CPR before calling?", False),
    ("社区组织我们学急救，老人噎住了腹部冲击法要按几下？", False),
    ("想问一下，宝宝多大以内发烧要直接去急诊？我想心里有个底", False),
    ("My 5 week old has a fever of 38.3 and I want to know what to expect", True),
    ("我家宝宝出生20天，现在发烧38度，我想心里有个数该挂哪个科", True),
    # a question about a test, not about a patient
    ("Is the FAST test accurate for strokes in the back of the brain?", False),
    # an earlier birth ("生老大时"), a completed suicide told as family history
    ("她说生老大时大出血过，这次怀孕想提前做准备", False),
    ("朋友的哥哥是自杀去世的，她最近情绪低落，怎么安慰她", False),
    ("我弟弟刚刚说要自杀，把自己锁在屋里", True),
    # blood given or taken is no bleeding; blood vomited with words between is
    ("Felt faint after my blood test this morning, fine after a biscuit", False),
    ("He vomited about a cupful of dark blood twenty minutes ago", True),
    ("threw up twice, no blood, kept water down since", False),
    # --- blind10 ---
    # a referral's shorthand count of a named drug with its time, no verb
    ("Referral: 24M, 40 ibuprofen approx 2h ago, alert, obs stable", True),
    ("Can I sell 32 paracetamol to one customer?", False),
    # a plan not to be alive said in other words
    ("He told me he isn't planning to be around by Christmas and gave his dog away", True),
    # 要是/假设 (if), a talk or a training question, that time (那次), years since an event
    ("工厂要配急救箱，要是工人突然抽搐了第一步做什么", False),
    ("假设有乘客突然晕倒，空乘先做什么？", False),
    ("下周给居民做个讲座，心梗的胸痛有什么特点？", False),
    ("案例题：患者突发口角歪斜，护士首先应做什么", False),
    ("生二胎大出血那次住了一周院，现在都好了，想咨询避孕", False),
    ("Ten years since my overdose and I'm a peer mentor now; can I volunteer on the ward?", False),
    ("要是他现在叫不醒怎么办，刚才突然倒地了", True),
    # --- blind9 ---
    # stockpiling pills to end it, told inside a service request (the batch's one missed emergency)
    ("想问下怎么线上续方，我在攒安眠药，攒够了就一次性解决", True),
    ("She mentioned she's been saving up her sleeping pills, then asked about parking", True),
    # a few years ago (前几年), an age at which a relative fell ill (五十岁就中风了), asked at a training
    ("她妈妈前几年做手术时大出血，她这次手术前想问问要不要备血", False),
    ("我外公六十岁就脑梗了，我需要做什么检查", False),
    ("培训时有人问：旁人晕倒时要不要掐人中？", False),
    ("培训时有人晕倒了，现在叫不醒", True),
    # waters that have just gone, a low finger-probe saturation
    ("She's 36 weeks and her waters have just gone, lots of fluid", True),
    ("老人指氧86%，说话喘", True),
    # --- blind11 ---
    ("What's the difference between a faint and a seizure? For our staff handbook", False),
    ("公司组织员工培训，有人心脏骤停时AED怎么用？", False),
    ("我妈怀我的时候大出血，我现在怀孕了会不会也这样", False),
    ("孕30周，没有见红，肚子不痛，就是腰酸", False),
    ("孕30周，肚子一阵阵地痛，还见红了", True),
    # --- blind12 ---
    ("He took an overdose back in 2021 and has been well since; can he donate blood?", False),
    ("我爸突然说右边半个身子发麻，右手使不上劲", True),
    ("奶奶左边身子一下子使不上劲了，站不起来", True),
    # --- blind13 ---
    ("He had fits as a toddler, none since age 4; needs a form for swimming lessons", False),
    ("店里卖磁力珠玩具，要是小孩吞了会怎样？想贴个提醒", False),
    ("孩子刚才把两颗磁力珠吞了，现在肚子疼", True),
    ("想培训一下志愿者：对方说想自杀时怎么接话", False),
    ("我看了下，嘴不歪，说话也清楚，就是有点累", False),
    ("他嘴一下子歪了，说话含糊", True),
    ("有人晕倒的话旁人该先做什么？想组织员工学一学", False),
    ("宝宝30天，发烧38.5的话要去急诊吗", True),  # 的话 is a hypothetical only after 有人/别人/谁
    # --- blind14 ---
    ("Safety briefing for the crew: at what point is a nosebleed an emergency?", False),
    ("Toolbox talk this morning and my colleague just collapsed, he isn't breathing", True),  # a teaching cue with a now
    ("Found grandad in his chair, he isn't breathing", True),
    ("Dad's nosebleed won't stop after 40 minutes, at what point is it an emergency, he's pale and dizzy", True),
    ("At the blood bank a donor went pale and felt faint, lay down and recovered in two minutes", False),
    ("小区要做宣传栏：老人摔倒后不能动应该怎么处理？", False),
    ("Caller says her son drove to the cliff car park and texted that he's not coming back", True),
    # --- blind15, blind16 ---
    ("Podcast episode on overdoses next week: what should I tell our listeners to do if a friend took too many pills?", False),
    ("A listener just texted the studio that she has taken all her sleeping pills", True),
    ("岗前培训：客人突然倒地没反应，服务员第一步做什么？", False),
    ("员工培训：刚才有个学员突然倒地叫不醒", True),
]

CALM_CLASSES = [
    # --- blind5 ---
    ("小时候对青霉素过敏过，起过疹子，现在要做手术需要跟医生说吗", True),  # childhood is history; 小时候 is no "hours"
    ("我妈和外婆都是脑出血走的，我是不是也容易得", True),  # a relative who died of it: family history
    ("As a child I had febrile convulsions; should my own kids be checked?", True),
    ("Rural clinic: 19F, GTCS x2 in 1 hr", False),  # a place is no service request, and "1 hr" is onset
    ("门诊病历：胸口痛了一个小时", False),
    # --- blind6 ---
    # hospital service words: wifi, password, wait time, which ward, 病区, 住在哪
    ("What's the guest wifi password on the maternity ward?", True),
    ("我爸上周住院了，想问一下他住在哪个病区", True),
    # benign findings the labelling rules name, whenever they began: a rash that fades when pressed, chest-wall pain on pressing
    ("Rash on his back that blanches when I press on it since yesterday, no fever, he's eating fine", True),
    ("孩子身上的小红点压之褪色，昨天开始的，吃饭玩耍都正常", True),
    ("My ribs hurt when I press on them, since I fell off my bike on Sunday", True),
    ("胸口左边肋骨一按就疼，前天打羽毛球扭了", True),
    # "making things worse" is no course of an illness
    ("How do I support a friend who self-harms without making things worse? I just want to be prepared", True),
    # their negated forms, pain on pressing the belly, and a word of urgency are not calm
    ("Purple spots on his legs that dont fade when I press a glass on them since this morning", False),
    ("疹子按了也不褪色，昨天开始的", False),
    ("Her tummy hurts when I press on it since yesterday", False),
    ("My ribs hurt when I press on them but since an hour I suddenly can't breathe", False),
    # --- blind7 ---
    # fiction is calm even with its story's urgency ("lasts minutes"), unless the writer says now or me
    ("I'm writing a screenplay where a character has a seizure that lasts minutes; is that realistic?", True),
    ("我在写小说，主角突然晕倒了，现实中旁人应该怎么做？", True),
    ("I'm writing my novel and suddenly my chest is crushing and I'm sweating right now", False),
    # service requests: an announcement, glasses; investigated and all clear; a near miss with nothing swallowed
    ("Could you put out an announcement asking passengers not to open nut snacks?", True),
    ("想给孩子配眼镜，去年查过视力", True),
    ("Had a funny turn in 2018, fully investigated and all clear; need a driving medical form", True),
    ("孙子差点把奶奶的降压药当糖豆吃了，被我抢下来了，一粒都没少", True),
    ("孩子验血查过敏原，需要空腹吗", False),  # 查过敏原 is no "checked before"
    # --- blind10 ---
    # 一直清醒 ("awake all along") is no word of urgency; 一直不清醒 is
    ("起猛了眼前一黑，扶了一下就好了，一直清醒", True),
    ("起猛了眼前一黑，之后一直不清醒", False),
    # --- blind9 ---
    # over and back to normal now; a mild fever after vaccines (the labelling rules' own example)
    ("Cut his finger on a tin, bleeding's stopped, just wants a plaster", True),
    ("Fell off the climbing frame, cried, now laughing and back on the swings", True),
    ("孩子流鼻血，已经不流血了，需要去看吗", True),
    ("6 month old a bit warm after his jabs, feeding fine", True),
    ("宝宝打完疫苗有点低烧，精神还行", True),
    ("He hasn't stopped bleeding since the fall", False),
    # --- blind14 ---
    # a stop with an object is nothing settled ("the driver has stopped the car")
    ("The driver has stopped the car, he's crying and says he isn't coming back", False),
]


@pytest.mark.parametrize("text,emergency", RULE_CLASSES)
def test_rule_classes(text: str, emergency: bool) -> None:
    assert rules_only(text).emergency is emergency


@pytest.mark.parametrize("text,calm", CALM_CLASSES)
def test_calm_context_classes(text: str, calm: bool) -> None:
    assert calm_context(text) is calm
