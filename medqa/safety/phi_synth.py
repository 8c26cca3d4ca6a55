"""Synthetic clinical notes with known identifiers (Faker, en_US and zh_CN, seeded) for the PHI eval."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Callable

from medqa.errors import ConfigError


@dataclass(frozen=True)
class Note:
    """A generated note and the gold identifiers in it: (type, start, end)."""

    text: str
    lang: str
    entities: tuple[tuple[str, int, int], ...]

    def values(self) -> list[str]:
        """The raw identifier strings (what must never reach the audit log)."""
        return [self.text[s:e] for _, s, e in self.entities]


EN_TEMPLATES = (
    "Patient: {name}\nDOB: {dob}\nMRN: {mrn}\nPhone: {phone}\nAddress: {address}\n"
    "Chief complaint: {complaint}. Seen by Dr. {doc}. Plan: {plan}.",
    "{name} is a {age}-year-old {sex} presenting with {complaint}. Contact number {phone}; email {email}. "
    "Insurance ID: {ins}.",
    "Discharge summary for {name} (MRN {mrn}, date of birth {dob}). Home address: {address}. SSN {ssn}. "
    "Follow up with Dr. {docfull} at {phone}.",
    "Called {title} {last} at {phone} about lab results for {complaint}. Spouse {name2} will bring the "
    "insurance card, member ID {ins}.",
    "Referral: pt {name}, born {dob}, lives at {address}. Reach via {email} or {phone}. Medicare number {ins}.",
    "Emergency contact: {name2} ({relation}), {phone}. Patient {name} reports {complaint}. SSN: {ssn}.",
    "Telephone encounter. {name} called from {phone} asking about a {drug} refill. Verified DOB {dob}, MRN {mrn}.",
    "Nursing note: {name}, {age} y/o, admitted for {complaint}. Daughter {name2} can be reached at {email}. "
    "Plan: {plan}.",
)
ZH_TEMPLATES = (
    "姓名：{name}\n性别：{sex}\n出生日期：{dob}\n身份证号：{cnid}\n联系电话：{phone}\n住址：{address}\n主诉：{complaint}",
    "患者{name}，{sex}，{age}岁，因{complaint}入院。病历号：{mrn}。家属{name2}，电话{phone}。",
    "{name}{honorific}，医保卡号{ins}，手机{phone}，邮箱{email}，现住{address}。",
    "门诊记录：患者{name}自述{complaint}三天。紧急联系人：{name2}（{relation}），{landline}。身份证{cnid}。主治医生：{doc}。",
    "转诊单：病人{name}，出生于{dob}，住院号{mrn}，家住{address}，联系电话{phone}。",
    "随访：已电话联系{name}（{phone}），患者诉{complaint}好转。医保号：{ins}。",
    "入院记录 患者：{name} 年龄：{age}岁 身份证号码：{cnid} 联系方式：{phone} 地址：{address}",
    "出院小结：患者{name}因{complaint}住院治疗，住院号{mrn}。出院后请联系{doc}医生，电话{landline}。",
)
GOLD = {
    "name": "PERSON", "name2": "PERSON", "doc": "PERSON", "docfull": "PERSON", "last": "PERSON",
    "phone": "PHONE", "landline": "PHONE", "email": "EMAIL", "dob": "DOB", "mrn": "MRN",
    "address": "ADDRESS", "ssn": "US_SSN", "cnid": "CN_ID", "ins": "INSURANCE_ID",
}
COMPLAINTS = {
    "en": ["chest pain", "a persistent cough", "abdominal pain", "knee swelling", "headache", "a rash"],
    "zh": ["胸闷", "咳嗽", "腹痛", "头晕", "膝关节肿痛", "皮疹"],
}


def _slots(f: Any, rng: random.Random, lang: str) -> dict[str, Callable[[], str]]:
    """How each slot is filled; identifiers vary their format the way real notes do."""
    dob = lambda: f.date_of_birth(minimum_age=0, maximum_age=95)  # noqa: E731
    common = {
        "name": f.name, "name2": f.name, "email": f.email, "age": lambda: str(rng.randint(1, 95)),
        "complaint": lambda: rng.choice(COMPLAINTS[lang]),
    }
    if lang == "en":
        return common | {
            "doc": f.last_name, "docfull": lambda: f"{f.first_name()} {f.last_name()}", "last": f.last_name,
            "title": lambda: rng.choice(["Mr.", "Mrs.", "Ms.", "Mr", "Dr."]),
            "phone": f.phone_number, "address": lambda: f.address().replace("\n", ", "),
            "dob": lambda: dob().strftime(rng.choice(["%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y"])),
            "mrn": lambda: f.bothify(rng.choice(["########", "A#######", "00######"])),
            "ins": lambda: f.bothify(rng.choice(["???#########", "W#########", "#??#-??#-??##"])).upper(),
            "ssn": f.ssn, "sex": lambda: rng.choice(["man", "woman"]),
            "relation": lambda: rng.choice(["wife", "son", "daughter", "husband"]),
            "plan": lambda: rng.choice(["ECG and troponin", "chest X-ray", "follow up in 2 weeks"]),
            "drug": lambda: rng.choice(["metformin", "lisinopril", "atorvastatin"]),
        }
    mobile = lambda: f.phone_number() if rng.random() < 0.7 else rng.choice(  # noqa: E731
        ["+86 ", "", "+86-"]) + f.numerify("1" + rng.choice("3456789") + "# #### ####")
    return common | {
        "doc": f.name, "phone": mobile,
        "landline": lambda: f.numerify(rng.choice(["010-########", "0##-########", "0###-#######"])),
        "address": f.address, "cnid": f.ssn,
        "dob": lambda: dob().strftime(rng.choice(["%Y年%m月%d日", "%Y-%m-%d"])),
        "mrn": lambda: f.bothify(rng.choice(["ZY########", "#########"])),
        "ins": lambda: f.bothify(rng.choice(["############", "YB##########"])),
        "sex": lambda: rng.choice(["男", "女"]), "honorific": lambda: rng.choice(["先生", "女士"]),
        "relation": lambda: rng.choice(["妻子", "儿子", "女儿", "丈夫"]),
    }


def _fill(template: str, slots: dict[str, Callable[[], str]], lang: str) -> Note:
    out, ents, pos = [], [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(template[pos:m.start()])
        start = sum(map(len, out))
        value = slots[m.group(1)]()
        out.append(value)
        if m.group(1) in GOLD:
            ents.append((GOLD[m.group(1)], start, start + len(value)))
        pos = m.end()
    out.append(template[pos:])
    return Note("".join(out), lang, tuple(ents))


def generate(n: int = 600, seed: int = 13) -> list[Note]:
    """n notes, half en_US and half zh_CN, the same for the same seed."""
    try:
        from faker import Faker
    except ImportError as e:  # Faker is a test extra, not needed at run time
        raise ConfigError("The PHI eval needs Faker.", "Install the test extra: pip install -e '.[test]'") from e
    notes = []
    for lang, locale, templates in (("en", "en_US", EN_TEMPLATES), ("zh", "zh_CN", ZH_TEMPLATES)):
        f = Faker(locale)
        f.seed_instance(seed)
        rng = random.Random(seed)
        slots = _slots(f, rng, lang)
        for i in range(n // 2):
            notes.append(_fill(templates[i % len(templates)], slots, lang))
    return notes
