"""One episode's state: its messages (each serialized to JSON once), its steps, and the answers built from
them.

Answers are assembled by joining stored message bytes, so a full-history answer costs one join, not a
re-encode of every image, and a retried step re-renders its answer from the history instead of keeping every
answer.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

SYSTEM_TEXT = "Your are a helpful assistant."      # sic: the typo is part of the training data
MIN_PIXELS, MAX_PIXELS = 3136, 2116800


def text_message(role: str, text: str) -> dict:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def image_message(b64: bytes) -> bytes:
    """The serialized user image message. Built as bytes: base64 needs no JSON escaping, and a 1.4 MB
    screenshot is copied once instead of being scanned and re-encoded by json.dumps on every step."""
    return (b'{"role": "user", "content": [{"type": "image", "b64": "' + b64 +
            f'", "min_pixels": {MIN_PIXELS}, "max_pixels": {MAX_PIXELS}}}]}}'.encode())


@dataclass
class StepRecord:
    first_message: int          # index of the first message this step added
    end_message: int            # one past its last
    is_done: bool
    format_reward: float
    warnings: list[str]


@dataclass
class Episode:
    env_idx: int
    task_config: dict
    max_steps: int
    history_mode: str           # "full" | "delta"
    image_format: str
    jpeg_quality: int
    episode_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    messages: list[bytes] = field(default_factory=list)
    records: list[StepRecord] = field(default_factory=list)
    actions_taken: int = 0
    done: bool = False
    last_terminal: str | None = None
    score: float | None = None
    lost: str | None = None     # why the episode cannot go on (its guest was lost, the VM recovered)

    def start(self, prompt_text: str, first_image_b64: bytes) -> None:
        self.add(text_message("system", SYSTEM_TEXT))
        self.add(text_message("user", prompt_text))
        self.add(image_message(first_image_b64))

    def add(self, message: dict | bytes) -> None:
        """Store a message serialized once (a dict is JSON-encoded; bytes are already serialized)."""
        self.messages.append(message if isinstance(message, bytes) else
                             json.dumps(message, ensure_ascii=False).encode("utf-8"))

    def record_step(self, new_messages: list[dict | bytes], actions: int, terminal: str | None, done: bool,
                    format_reward: float, warnings: list[str]) -> StepRecord:
        """Apply a step that has fully run, all at once: a step that failed part-way never gets here, so the
        episode stays exactly as it was before it (messages, step count, stored answers)."""
        first = len(self.messages)
        for message in new_messages:
            self.add(message)
        self.actions_taken += actions
        self.last_terminal = terminal or self.last_terminal
        self.done = done
        record = StepRecord(first, len(self.messages), done, format_reward, warnings)
        self.records.append(record)
        return record

    # --- answers --------------------------------------------------------------------------------------------
    def reset_answer(self) -> bytes:
        return self._answer(self.messages, step_idx=0, is_done=False, format_reward=0.0, warnings=[])

    def step_answer(self, index: int) -> bytes:
        record = self.records[index]
        if record.is_done:
            obs = None
        elif self.history_mode == "delta":
            obs = self.messages[record.first_message:record.end_message]
        else:
            obs = self.messages[:record.end_message]
        final = self.messages[record.first_message:record.end_message] if record.is_done else None
        return self._answer(obs, index + 1, record.is_done, record.format_reward, record.warnings, final)

    def history_answer(self) -> bytes:
        return b'{"history_messages": [' + b", ".join(self.messages) + b"]}"

    def _answer(self, obs: list[bytes] | None, step_idx: int, is_done: bool, format_reward: float,
                warnings: list[str], final: list[bytes] | None = None) -> bytes:
        head = {"env_idx": self.env_idx, "is_done": is_done, "format_reward": format_reward,
                "episode_id": self.episode_id, "step_idx": step_idx, "image_format": self.image_format}
        if warnings:
            head["warnings"] = warnings
        parts = [json.dumps(head)[:-1].encode(), b', "obs_messages": ']
        parts.append(b"null" if obs is None else b"[" + b", ".join(obs) + b"]")
        if final is not None and self.history_mode == "delta":
            parts += [b', "final_messages": [', b", ".join(final), b"]"]
        parts.append(b"}")
        return b"".join(parts)
