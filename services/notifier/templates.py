"""Message texts from Jinja2 templates, per purpose and language.

A template is `<purpose>.<language>.txt` with three blocks: `subject`, `text`
(the email body) and `short` (SMS and WhatsApp). The operator's folder
(NOTIFIER_TEMPLATES_DIR) is searched first, so any file there replaces the
shipped one of the same name; a language without a template falls back to
English. Autoescape is off: these are plain-text messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from .channels import EMAIL


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


class Templates:
    def __init__(self, *folders: str | None, fallback_language: str = "en"):
        self.env = Environment(loader=ChoiceLoader([FileSystemLoader(f) for f in folders if f]),
                               undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
                               trim_blocks=False, lstrip_blocks=False)
        self.fallback = fallback_language

    def render(self, purpose: str, language: str, channel: str, context: dict) -> Text:
        template = self._find(purpose, language)
        ctx = template.new_context(context)
        subject = "".join(template.blocks["subject"](ctx)).strip() if "subject" in template.blocks else ""
        block = "text" if channel == EMAIL or "short" not in template.blocks else "short"
        body = "".join(template.blocks[block](ctx)).strip()
        return Text(" ".join(subject.split()), body + "\n")

    def check(self, context: dict) -> list[str]:
        """Render every template found with a sample context: what an operator's folder
        breaks (syntax, an unknown variable) is refused at start, not met mid-event."""
        problems = []
        for name in self.env.list_templates(filter_func=lambda n: n.count(".") == 2 and n.endswith(".txt")):
            purpose, language, _ = name.split(".")
            for channel in (EMAIL, "sms"):
                try:
                    self.render(purpose, language, channel, context)
                except Exception as exc:  # any template error: report them all at once
                    problems.append(f"{name}: {type(exc).__name__}: {exc}")
                    break
        return problems

    def _find(self, purpose: str, language: str):
        for lang in dict.fromkeys((language, self.fallback)):
            try:
                return self.env.get_template(f"{purpose}.{lang}.txt")
            except TemplateNotFound:
                continue
        raise TemplateNotFound(f"{purpose}.{language}.txt (nor {purpose}.{self.fallback}.txt)")
