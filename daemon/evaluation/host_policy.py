"""What a task may touch on the host: task files, uploads, URLs, and how big a file from the VM may unpack.

Task files come from the cluster and are untrusted. Every host path a task names (a getter's `dest`, execute's
`stdout`/`stderr`, `cache_file.path`) is a plain file name inside that task's cache folder; `upload_file`
reads only below `evaluation.upload_roots`; a URL the host fetches is http(s), or file:// below
`evaluation.file_url_roots` (the address checks are in downloads.py, at connect time). Refusals say "refused
by policy: <reason>", naming the task key when there is one. Files from the VM are sized up before any library
opens them: a zip (xlsx, docx, pptx, odf) by its member count and declared total size, an image by its pixel
count.
"""
from __future__ import annotations

import ipaddress
import os
import re
import stat
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from ..config import DEFAULTS
from .errors import SetupError

TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_NAME_BYTES = 255
URL_SCHEMES = ("http", "https", "file")
MAX_IMAGE_PIXELS = 25_000_000          # 3x a 4K screenshot; a 6000x6000 PNG (3 GiB in a metric) is refused
MAX_ZIP_MEMBERS = 10_000
MAX_ZIP_BYTES = 512 * 1024 * 1024      # declared uncompressed total of one zip (xlsx/docx/pptx/odf/archive)
ZIP_MAGIC = b"PK\x03\x04"


class PolicyError(SetupError):
    """A task asked for something outside what the configuration allows on the host."""

    def __init__(self, reason: str):
        super().__init__(f"refused by policy: {reason}")


@dataclass(frozen=True)
class HostPolicy:
    """The evaluation.* keys that bound what a task reaches on the host (defaults: config.DEFAULTS)."""

    upload_roots: tuple[str, ...] = ()
    file_url_roots: tuple[str, ...] = ()
    allow_all_private: bool = False                # allow_private_urls: true
    private_networks: tuple = ()                   # allow_private_urls: [CIDR, ...]
    download_max_bytes: int = DEFAULTS["evaluation"]["download_max_bytes"]

    @classmethod
    def from_settings(cls, evaluation: dict) -> "HostPolicy":
        allowed = evaluation["allow_private_urls"]
        networks = allowed if isinstance(allowed, list) else []
        return cls(tuple(_real(p) for p in evaluation["upload_roots"]),
                   tuple(_real(p) for p in evaluation["file_url_roots"]), allowed is True,
                   tuple(ipaddress.ip_network(n, strict=False) for n in networks),
                   evaluation["download_max_bytes"])

    def address_allowed(self, address: str) -> bool:
        """A public address, or a private one the configuration opens (all of them with allow_private_urls:
        true)."""
        ip = _embedded_ipv4(ipaddress.ip_address(address.split("%", 1)[0]))
        if ip.is_global and not ip.is_multicast:
            return True
        return self.allow_all_private or any(ip.version == n.version and ip in n
                                             for n in self.private_networks)


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip):
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, Teredo client), which is where it leads."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.teredo[1] if ip.teredo else ip


def default_policy() -> HostPolicy:
    return HostPolicy.from_settings(DEFAULTS["evaluation"])


def _real(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def _below(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


# --- host paths ---------------------------------------------------------------------------------------------
def name_problem(name) -> str | None:
    """Why `name` is not a plain file name for the task folder (None: it is one)."""
    if not isinstance(name, str):
        return f"must be a file name (a string), got {type(name).__name__}"
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        return f"must be a plain file name inside the task's cache folder, got {name!r}"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"must be a file name of at most {MAX_NAME_BYTES} bytes"
    return None


def task_id_problem(task_id) -> str | None:
    if task_id is None:
        return None
    if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id):
        return "must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
    return None


def task_file(task_dir: Path, name, key: str) -> Path:
    """The path of file `name` in the task folder; PolicyError naming `key` when it would lie anywhere
    else."""
    problem = name_problem(name)
    if problem:
        raise PolicyError(f"{key} {problem}")
    path = task_dir / name
    if os.path.realpath(path) != os.path.join(os.path.realpath(task_dir), name):
        raise PolicyError(f"{key} {name!r} resolves outside the task's cache folder")
    return path


def names_host_file_outside(value, roots: tuple[str, ...]) -> bool:
    """Whether `value` (a metric's arguments, walked through lists and dicts) holds a string naming an
    existing host file outside `roots`. A metric opens any string it is given as a path, and a `rule` getter
    or a guest's command output can hand it any string. A bare name counts only as a file of the worker's
    folder (rule keys such as "scripts" name folders there); a string with a separator or a leading ~ counts
    whatever it names."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, str) and _names_outside(item, roots):
            return True
    return False


def _names_outside(text: str, roots: tuple[str, ...]) -> bool:
    if not text or len(text) > 4096 or "\0" in text:
        return False
    path = os.path.expanduser(text)
    try:
        if not os.path.lexists(path) or (os.sep not in text and not text.startswith("~")
                                         and os.path.isdir(path)):
            return False
    except (OSError, ValueError):
        return False
    return not _below(os.path.realpath(path), roots)


# --- uploads ------------------------------------------------------------------------------------------------
def upload_problem(local_path, policy: HostPolicy) -> str | None:
    if not isinstance(local_path, str) or not local_path:
        return "must be a path (a string)"
    if not policy.upload_roots:
        return "upload_file is off: evaluation.upload_roots is empty"
    if not _below(_real(local_path), policy.upload_roots):
        return "is not below evaluation.upload_roots"
    return None


def read_upload(local_path: str, policy: HostPolicy, key: str) -> bytes:
    problem = upload_problem(local_path, policy)
    if problem:
        raise PolicyError(f"{key} {problem}")
    return _read_regular(_real(local_path), policy.download_max_bytes, key)


def _read_regular(path: str, max_bytes: int, key: str) -> bytes:
    """A regular file's bytes (no device, fifo or folder), at most max_bytes; PolicyError otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        raise PolicyError(f"{key} cannot be read") from None
    with os.fdopen(fd, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise PolicyError(f"{key} is not a regular file")
        if status.st_size > max_bytes:
            raise PolicyError(f"{key} is larger than evaluation.download_max_bytes ({max_bytes})")
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PolicyError(f"{key} is larger than evaluation.download_max_bytes ({max_bytes})")
    return data


# --- URLs ---------------------------------------------------------------------------------------------------
def url_problem(url, policy: HostPolicy) -> str | None:
    """What is wrong with a URL the host would fetch, judged without the network (None: fetch may try it;
    downloads.py checks the addresses it resolves to)."""
    if not isinstance(url, str) or not url:
        return "must be a URL (a string)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in URL_SCHEMES:
        return (f"has scheme {parts.scheme!r}; only http, https and file (below evaluation.file_url_roots)"
                " are allowed")
    if parts.scheme == "file":
        return _file_url_problem(parts, policy)
    if not parts.hostname or port == 0:
        return "names no host"
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None                                  # a name: its addresses are checked when it is fetched
    if not policy.address_allowed(str(literal)):
        return ("names a loopback, private, link-local, multicast or reserved address"
                " (evaluation.allow_private_urls)")
    return None


def _file_url_problem(parts, policy: HostPolicy) -> str | None:
    if parts.netloc not in ("", "localhost"):
        return "file URLs must name a local path"
    if not _below(file_url_path(parts), policy.file_url_roots):
        return "is a file URL outside evaluation.file_url_roots"
    return None


def file_url_path(parts) -> str:
    return _real(url2pathname(parts.path))


def read_file_url(url: str, policy: HostPolicy) -> bytes:
    parts = urlsplit(url)
    problem = _file_url_problem(parts, policy)
    if problem:
        raise PolicyError(f"URL {url!r} {problem}")
    return _read_regular(file_url_path(parts), policy.download_max_bytes, f"URL {url!r}")


# --- what a file from the VM may unpack to ------------------------------------------------------------------
def check_unpacked_size(path: Path | str, key: str) -> None:
    """PolicyError when a zip holds too many members or declares too much data, or an image has too many
    pixels; cheap (headers only), before any library opens the file."""
    if not os.path.isfile(path):
        return
    with open(path, "rb") as file:
        head = file.read(16)
    if head.startswith(ZIP_MAGIC) or zipfile.is_zipfile(path):
        check_zip(path, key)
    elif _image_pixels(path) > MAX_IMAGE_PIXELS:
        raise PolicyError(f"{key} is an image of more than {MAX_IMAGE_PIXELS} pixels")


def check_zip(path: Path | str, key: str) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip a library could open either: the metric scores it
    if len(members) > MAX_ZIP_MEMBERS:
        raise PolicyError(f"{key} is a zip of more than {MAX_ZIP_MEMBERS} members")
    if sum(member.file_size for member in members) > MAX_ZIP_BYTES:
        raise PolicyError(f"{key} is a zip that unpacks to more than {MAX_ZIP_BYTES} bytes")


def _image_pixels(path) -> int:
    Image = pillow()
    if Image is None:
        return 0
    try:
        with Image.open(path) as image:          # lazy: reads the header only
            return image.width * image.height
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return MAX_IMAGE_PIXELS + 1
    except Exception:                            # noqa: BLE001  (not an image Pillow reads: nothing to bound)
        return 0


def pillow():
    """Pillow's Image module with the decompression-bomb bound set (over it, opening raises), or None."""
    try:
        from PIL import Image  # a dependency; without it only image bounds are skipped
    except ImportError:
        return None
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    return Image
