"""Episode state, messages and answers (the seed's Qwen-VL chat shape)."""
from .episode import Episode, StepRecord, image_message
from .images import encode_image

__all__ = ["Episode", "StepRecord", "encode_image", "image_message"]
