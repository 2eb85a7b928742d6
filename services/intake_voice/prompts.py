"""The TwiML each step of a call answers with (twilio.twiml.VoiceResponse).

Every Gather posts back even when nothing was pressed or said
(actionOnEmptyResult), with the attempt number in its URL, so the menu can ask
again or take the default. Action URLs are absolute public URLs: the ones
Twilio signs when it calls them.
"""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from . import ivr, texts


class Prompts:
    def __init__(self, base_url: str, gather_timeout: int, max_recording_seconds: int, transcribe: bool):
        self.base_url = base_url.rstrip("/")
        self.gather_timeout = gather_timeout
        self.max_recording_seconds = max_recording_seconds
        self.transcribe = transcribe

    def url(self, path: str, **query) -> str:
        return self.base_url + path + (f"?{urlencode(query)}" if query else "")

    def welcome(self, attempt: int = 1, notice: str | None = None) -> str:
        """The language menu, said in every language we speak."""
        response = VoiceResponse()
        gather = self._gather(response, "/ivr/language", "en", attempt, hints=ivr.SPOKEN["language"])
        if notice:
            gather.say(texts.text("en", notice), language=texts.spoken_language("en"))
        for language in ivr.LANGUAGES:
            gather.say(texts.text(language, "welcome"), language=texts.spoken_language(language))
        return str(response)

    def menu(self, step: str, language: str, attempt: int = 1, notice: str | None = None, **values) -> str:
        """category, mode, confirm (the caller's number) or window."""
        path, key = {"category": ("/ivr/category", "category"), "mode": ("/ivr/mode", "mode"),
                     "confirm": ("/ivr/confirm", "confirm_number"), "window": ("/ivr/window", "window")}[step]
        response = VoiceResponse()
        words = [w for ws in ivr.SPOKEN[step].values() for w in ws]
        gather = self._gather(response, path, language, attempt, hints=words)
        self._say(gather, language, notice)
        self._say(gather, language, key, **values)
        return str(response)

    def enter_number(self, language: str, attempt: int = 1, notice: str | None = None) -> str:
        response = VoiceResponse()
        gather = response.gather(input="dtmf", action=self.url("/ivr/number", attempt=attempt), method="POST",
                                 finish_on_key="#", num_digits=16, timeout=self.gather_timeout,
                                 action_on_empty_result=True)
        self._say(gather, language, notice)
        self._say(gather, language, "enter_number")
        return str(response)

    def record(self, language: str, notice: str | None = None) -> str:
        response = VoiceResponse()
        self._say(response, language, notice)
        self._say(response, language, "record")
        options = {"transcribe": True, "transcribe_callback": self.url("/transcription")} if self.transcribe else {}
        response.record(action=self.url("/recording"), method="POST", max_length=self.max_recording_seconds,
                        finish_on_key="#", play_beep=True, timeout=10,
                        recording_status_callback=self.url("/recording-status"),
                        recording_status_callback_event="completed", **options)
        # Only reached when nothing was recorded (silence): the call ends, and
        # its status callback leaves a missed-call complaint.
        self._say(response, language, "no_recording")
        response.hangup()
        return str(response)

    def goodbye(self, language: str, key: str, **values) -> str:
        response = VoiceResponse()
        self._say(response, language, key, **values)
        response.hangup()
        return str(response)

    def _gather(self, response, path, language, attempt, hints):
        return response.gather(input="dtmf speech", action=self.url(path, attempt=attempt), method="POST",
                               num_digits=1, timeout=self.gather_timeout, speech_timeout="auto",
                               language=texts.spoken_language(language), hints=", ".join(hints),
                               action_on_empty_result=True)

    @staticmethod
    def _say(verb, language, key, **values):
        if key:
            verb.say(texts.text(language, key, **values), language=texts.spoken_language(language))
