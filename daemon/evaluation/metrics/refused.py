"""Metrics OSWorld has that this daemon does not score, and why: the refusal at reset names the reason."""
from ..registry import refuse

refuse("metric", "check_python_file_by_test_suite", "refused: it would run code from the VM on the host",
       runs_vm_code=True)
refuse("metric", "compare_audios", "needs librosa: too heavy a dependency, not supported")
refuse("metric", "compare_videos", "needs OpenCV: too heavy a dependency, not supported")
refuse("metric", "compare_image_text", "needs easyocr: too heavy a dependency, not supported")
