"""Patient-service presets: each shapes the question (and so the answer) for one common task."""
from __future__ import annotations

from dataclasses import dataclass

from medqa.errors import UnknownName
from medqa.types import Mode, Question


@dataclass(frozen=True)
class Workflow:
    """A one-click preset; texts are keyed by UI language ("en", "zh")."""

    name: str
    label: dict[str, str]
    placeholder: dict[str, str]  # an example of what to type, shown in the input box
    template: dict[str, str]  # wraps the user's text; {text} is replaced
    mode: Mode = "staff"

    def question(self, text: str, lang: str = "en", user: str = "anonymous",
                 tenant: str = "default") -> Question:
        """The Question this preset sends for `text` typed in the UI language `lang`."""
        lang = lang if lang in self.template else "en"
        return Question(text=self.template[lang].format(text=text.strip()), lang=lang,
                        mode=self.mode, workflow=self.name, user=user, tenant=tenant)


_WORKFLOWS = (
    Workflow(
        "triage_intake",
        {"en": "Triage intake", "zh": "分诊问诊"},
        {"en": "e.g. 58-year-old man, chest tightness since this morning",
         "zh": "例如：58岁男性，今晨起胸闷"},
        {"en": "Triage intake. Presenting complaint: {text}\nList the intake questions to ask "
               "next, the red-flag signs to rule out first, and the suggested urgency.",
         "zh": "分诊问诊。主诉：{text}\n请列出接下来应问的问诊问题、需首先排除的危险信号，以及建议的紧急程度。"},
    ),
    Workflow(
        "medication_question",
        {"en": "Medication question", "zh": "用药咨询"},
        {"en": "e.g. Can metformin be taken with ibuprofen?",
         "zh": "例如：二甲双胍可以和布洛芬一起服用吗？"},
        {"en": "Medication question: {text}\nAnswer with dose considerations, interactions, "
               "side effects to watch for, and when to contact a pharmacist or doctor.",
         "zh": "用药问题：{text}\n请说明剂量注意事项、药物相互作用、需留意的副作用，以及何时应联系药师或医生。"},
    ),
    Workflow(
        "explain_discharge",
        {"en": "Explain discharge instructions", "zh": "解释出院医嘱"},
        {"en": "Paste the discharge instructions here",
         "zh": "在此粘贴出院医嘱"},
        {"en": "Explain these discharge instructions to a patient in plain language, short "
               "sentences, no jargon; end with the warning signs that mean coming back:\n{text}",
         "zh": "请用通俗易懂的语言、简短的句子、不用专业术语，向患者解释以下出院医嘱；最后列出需要返院就诊的警示症状：\n{text}"},
        mode="patient",
    ),
    Workflow(
        "explain_lab_result",
        {"en": "Explain a lab result", "zh": "解读化验结果"},
        {"en": "e.g. HbA1c 7.8%", "zh": "例如：糖化血红蛋白 7.8%"},
        {"en": "Explain this lab result in plain language: what the test measures, what this "
               "value usually means, and what to discuss with the doctor: {text}",
         "zh": "请用通俗的语言解读这项化验结果：该检查测量什么、这个数值通常意味着什么、应与医生讨论什么：{text}"},
        mode="patient",
    ),
    Workflow(
        "prepare_visit",
        {"en": "Prepare for a visit or procedure", "zh": "就诊或检查准备"},
        {"en": "e.g. colonoscopy next Tuesday", "zh": "例如：下周二做结肠镜检查"},
        {"en": "Help a patient prepare for this visit or procedure: {text}\nCover what to do "
               "before (food, medicines, what to bring), what happens, and recovery.",
         "zh": "帮助患者为以下就诊或检查做准备：{text}\n请说明事前准备（饮食、药物、需携带的物品）、过程中会发生什么，以及术后恢复。"},
        mode="patient",
    ),
)
WORKFLOWS: dict[str, Workflow] = {w.name: w for w in _WORKFLOWS}


def get(name: str) -> Workflow:
    """The preset of that name; UnknownName lists the valid ones."""
    try:
        return WORKFLOWS[name]
    except KeyError:
        raise UnknownName("workflow", name, list(WORKFLOWS)) from None


def build_question(text: str, workflow: str | None = None, lang: str | None = None,
                   user: str = "anonymous", tenant: str = "default") -> Question:
    """A Question for free text, shaped by a preset when one is named."""
    if workflow:
        return get(workflow).question(text, lang or "en", user=user, tenant=tenant)
    return Question(text=text.strip(), lang=lang, user=user, tenant=tenant)

