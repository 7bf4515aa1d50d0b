"""Download images from URL lists, EmotioNet style: resumable, parallel with a bound, failures logged.

The ConvNeXt GANimation thesis fetched 346,004 EmotioNet images from the data set's URL lists with a small crawler. Such a
crawl runs for days, dies half-way and meets every kind of broken link, so this tool:

* reads one or more lists: ``.txt`` (one URL per line; the first ``http(s)://`` token of a line is
  used, ``#`` starts a comment) or ``.csv`` / ``.tsv`` (the ``--column`` column, else a column called
  ``url``/``link``/``href``/``image``, else the first column whose cells start with ``http``; with or
  without a header). Other columns (e.g. EmotioNet's AU labels) are carried into ``index.csv``;
* names every file after a hash of its URL (``images/ab/ab12...jpg``), so a re-run recognises finished
  downloads from the files alone, even if it was killed before it could write any log;
* downloads with ``--workers`` threads at most, and at most ``--per-host`` requests in flight and
  ``--host-delay`` seconds between request starts per host (politeness);
* checks every answer: HTTP status, ``Content-Type: image/*``, a size limit, and that the bytes really
  decode as an image (PIL) of at least ``--min-side`` pixels; retries timeouts, connection errors,
  429 and 5xx with exponential back-off;
* writes files atomically, logs failures to ``failures.csv`` (permanent ones are not retried on a
  re-run unless ``--retry-failed``) and the kept files to ``index.csv``; prints a summary.

Example::

    python -m data_scripts.download_urls emotionet/*.txt --out data/emotionet_raw --workers 16

``fetch_image`` and ``HostLimiter`` are reused by ``data_scripts.scrape``.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import csv
import hashlib
import io
import re
import sys
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image
from helpers.core.runtime import bar as tqdm, set_progress

from .common import Summary, atomic_write_bytes, inside, safe_filename

# Reasons as they appear in summaries and failures.csv (tests compare against these).
R_HTTP = "http {code}"
R_CTYPE = "not an image (content-type)"
R_TOO_LARGE = "too large"
R_DECODE = "does not decode as an image"
R_SMALL = "too small"
R_TIMEOUT = "timeout"
R_CONN = "connection error"
R_SCHEME = "unsupported URL"
R_DONE = "already downloaded"
R_FAILED_BEFORE = "failed before (permanent; --retry-failed to retry)"

FORMAT_EXT = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp",
              "BMP": ".bmp", "TIFF": ".tif"}
DEFAULT_UA = "faces-gan-vae-course-downloader/0.1 (research; polite; +https://github.com/faces-course)"


class FetchError(Exception):
    """A download that did not give a usable image; ``reason`` is short and stable, ``permanent``
    says whether retrying later can help (404, wrong type) or not (timeouts, 5xx)."""

    def __init__(self, reason: str, detail: str = "", permanent: bool = True):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail, self.permanent = reason, detail, permanent


@dataclass
class FetchConfig:
    """Limits for one image download."""
    timeout: float = 15.0           # seconds for connect and for each read
    retries: int = 2                # extra attempts after transient failures
    backoff: float = 1.0            # first retry waits this long, then doubles
    max_bytes: int = 20 * 2**20     # larger answers are dropped while streaming
    min_side: int = 32              # smaller images (icons, spacer gifs) are dropped
    user_agent: str = DEFAULT_UA
    allow_data_urls: bool = True    # inline ``data:image/...;base64`` thumbnails
    allow_octet_stream: bool = False  # accept ``application/octet-stream`` (still decoded to check)

    def __post_init__(self):
        if self.timeout <= 0 or self.retries < 0 or self.max_bytes <= 0 or self.min_side < 0:
            raise ValueError(f"expected timeout > 0, retries >= 0, max_bytes > 0, min_side >= 0, got {self}")


@dataclass
class Fetched:
    """A downloaded, verified image."""
    url: str
    data: bytes
    ext: str
    width: int
    height: int
    sha256: str


class HostLimiter:
    """Per-host politeness: at most ``per_host`` requests in flight to one host and at least
    ``delay`` seconds between the starts of two requests to it. Thread-safe."""

    def __init__(self, per_host: int = 2, delay: float = 0.5):
        if per_host < 1 or delay < 0:
            raise ValueError(f"expected per_host >= 1 and delay >= 0, got {per_host}, {delay}")
        self.per_host, self.delay = per_host, delay
        self._lock = threading.Lock()
        self._sems: dict[str, threading.BoundedSemaphore] = {}
        self._next: dict[str, float] = {}

    @contextlib.contextmanager
    def slot(self, host: str):
        with self._lock:
            sem = self._sems.setdefault(host, threading.BoundedSemaphore(self.per_host))
        sem.acquire()
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next.get(host, 0.0))
                self._next[host] = start + self.delay
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            sem.release()


def url_key(url: str) -> str:
    """Stable 20-hex-digit name for a URL (files are named after it, so resume needs no log)."""
    return hashlib.sha1(url.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def short_url(url: str, n: int = 200) -> str:
    """URL for logs and tables: inline data URLs are replaced by their hash."""
    if url.startswith("data:"):
        return f"data:{url[5:url.find(',')][:40]}...sha1={url_key(url)}"
    return url if len(url) <= n else url[:n] + "..."


def verify_image(data: bytes, min_side: int = 0) -> tuple[str, int, int]:
    """Decode ``data`` fully with PIL; return (extension, width, height) or raise FetchError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                im.verify()
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                fmt, (w, h) = im.format, im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise FetchError(R_TOO_LARGE, f"too many pixels ({e})") from None
    except Exception as e:  # PIL raises many types for bad data
        raise FetchError(R_DECODE, f"{type(e).__name__}: {e}") from None
    if fmt not in FORMAT_EXT:
        raise FetchError(R_DECODE, f"unsupported image format {fmt}")
    if min(w, h) < min_side:
        raise FetchError(R_SMALL, f"{w}x{h} < {min_side} px")
    return FORMAT_EXT[fmt], w, h


def _decode_data_url(url: str, cfg: FetchConfig) -> bytes:
    head, _, payload = url.partition(",")
    if not head.startswith("data:image/"):
        raise FetchError(R_CTYPE, head[:60])
    if ";base64" not in head:
        raise FetchError(R_SCHEME, "data URL without base64")
    if len(payload) * 3 // 4 > cfg.max_bytes:
        raise FetchError(R_TOO_LARGE, f"> {cfg.max_bytes} bytes")
    try:
        return base64.b64decode(unquote(payload), validate=False)
    except (binascii.Error, ValueError) as e:
        raise FetchError(R_DECODE, f"bad base64: {e}") from None


def _get_once(url: str, cfg: FetchConfig, session, limiter: HostLimiter | None, referer: str | None) -> bytes:
    import requests  # imported lazily so --help works without it

    host = urlsplit(url).netloc.lower()
    headers = {"User-Agent": cfg.user_agent, "Accept": "image/avif,image/webp,image/*,*/*;q=0.8"}
    if referer:
        headers["Referer"] = referer
    ctx = limiter.slot(host) if limiter else contextlib.nullcontext()
    deadline = time.monotonic() + 4 * cfg.timeout
    with ctx:
        try:
            with session.get(url, headers=headers, stream=True, timeout=(cfg.timeout, cfg.timeout),
                             allow_redirects=True) as r:
                if r.status_code != 200:
                    transient = r.status_code == 429 or r.status_code >= 500
                    raise FetchError(R_HTTP.format(code=r.status_code), url, permanent=not transient)
                ctype = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if not (ctype.startswith("image/") or (cfg.allow_octet_stream and ctype == "application/octet-stream")):
                    raise FetchError(R_CTYPE, ctype or "missing")
                length = r.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > cfg.max_bytes:
                    raise FetchError(R_TOO_LARGE, f"Content-Length {length} > {cfg.max_bytes}")
                buf = bytearray()
                for chunk in r.iter_content(64 * 1024):
                    buf += chunk
                    if len(buf) > cfg.max_bytes:
                        raise FetchError(R_TOO_LARGE, f"> {cfg.max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise FetchError(R_TIMEOUT, "body took too long", permanent=False)
                return bytes(buf)
        except requests.Timeout as e:
            raise FetchError(R_TIMEOUT, str(e)[:200], permanent=False) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
            raise FetchError(R_CONN, str(e)[:200], permanent=False) from None
        except requests.RequestException as e:
            raise FetchError(R_SCHEME, str(e)[:200]) from None


_local = threading.local()


def thread_session():
    """One ``requests.Session`` per thread (sessions are not guaranteed to be thread-safe)."""
    if getattr(_local, "session", None) is None:
        import requests  # imported lazily so --help works without it
        _local.session = requests.Session()
    return _local.session


def fetch_image(url: str, cfg: FetchConfig | None = None, session=None, limiter: HostLimiter | None = None,
                referer: str | None = None) -> Fetched:
    """Download ``url`` and verify it is a usable image; raise FetchError (with a reason) otherwise.

    Transient failures (timeouts, connection errors, 429, 5xx) are retried ``cfg.retries`` times with
    exponential back-off; everything else fails at once.
    """
    cfg = cfg or FetchConfig()
    scheme = urlsplit(url).scheme.lower()
    if scheme == "data" and cfg.allow_data_urls:
        data = _decode_data_url(url, cfg)
    elif scheme in ("http", "https"):
        session = session or thread_session()
        attempt = 0
        while True:
            try:
                data = _get_once(url, cfg, session, limiter, referer)
                break
            except FetchError as e:
                if e.permanent or attempt >= cfg.retries:
                    raise
                time.sleep(cfg.backoff * 2 ** attempt)
                attempt += 1
    else:
        raise FetchError(R_SCHEME, url[:80])
    if len(data) > cfg.max_bytes:
        raise FetchError(R_TOO_LARGE, f"> {cfg.max_bytes} bytes")
    ext, w, h = verify_image(data, cfg.min_side)
    return Fetched(url, data, ext, w, h, hashlib.sha256(data).hexdigest())


def file_name(url: str, ext: str, keep_names: bool = False) -> str:
    """File name for a downloaded URL: its hash key, optionally followed by a sanitised version of
    the URL's own last path segment (which may be hostile: ``..%2F..%2Fx``, absolute paths, ...)."""
    key = url_key(url)
    if keep_names and not url.startswith("data:"):
        stem = Path(safe_filename(unquote(urlsplit(url).path.rsplit("/", 1)[-1]), 60)).stem
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", stem)[:60]
        if stem and stem != "file":
            return f"{key}_{stem}{ext}"
    return f"{key}{ext}"


def clean_stale_temps(folder: Path) -> int:
    """Remove ``.*.tmp`` files that a killed run left behind; returns how many."""
    n = 0
    if folder.is_dir():
        for p in folder.rglob(".*.tmp"):
            p.unlink(missing_ok=True)
            n += 1
    return n


def existing_files(folder: Path) -> dict[str, Path]:
    """Map URL key -> file for the finished downloads under ``folder``."""
    out = {}
    if folder.is_dir():
        for p in folder.rglob("*"):
            if p.is_file() and not p.name.startswith(".") and re.match(r"[0-9a-f]{20}", p.name):
                out[p.name[:20]] = p
    return out


# ----------------------------------------------------------------------------------- URL lists
_URL_RE = re.compile(r"^(https?://\S+)", re.I)


def read_url_lists(paths, column: str | None = None) -> list[dict]:
    """Rows ``{'url': ..., <extra columns>}`` from text/CSV/TSV lists, first occurrence of a URL wins."""
    rows, seen = [], set()
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"URL list {path} does not exist")
        for row in _read_one(path, column):
            url = row["url"].strip()
            if url and url not in seen:
                seen.add(url)
                rows.append(row)
    return rows


def _read_one(path: Path, column: str | None):
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv"):
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            for tok in re.split(r"[\s,]+", line):
                if _URL_RE.match(tok):
                    yield {"url": tok}
                    break
        return
    delim = "\t" if suffix == ".tsv" else ","
    if suffix == ".csv":
        try:
            delim = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
        except csv.Error:
            pass
    table = [r for r in csv.reader(io.StringIO(text), delimiter=delim) if any(c.strip() for c in r)]
    if not table:
        return
    has_header = not any(_URL_RE.match(c.strip()) for c in table[0])
    header = [h.strip() for h in table[0]] if has_header else [f"col{i}" for i in range(len(table[0]))]
    body = table[1:] if has_header else table
    if column is not None:
        if column not in header:
            raise ValueError(f"{path}: expected a column {column!r}, found {header}")
        idx = header.index(column)
    else:
        named = [i for i, h in enumerate(header) if h.lower() in ("url", "urls", "link", "href", "image", "image_url")]
        looks = [i for i in range(len(header)) if body and i < len(body[0]) and _URL_RE.match(body[0][i].strip())]
        if not (named or looks):
            raise ValueError(f"{path}: no URL column found (columns {header}); pass --column")
        idx = (named or looks)[0]
    for r in body:
        if idx < len(r) and _URL_RE.match(r[idx].strip()):
            extra = {("src_" + h if h in ("url", "file") else h): v for i, (h, v) in enumerate(zip(header, r)) if i != idx}
            yield {"url": r[idx].strip(), **extra}


# ----------------------------------------------------------------------------------- logs
FAIL_COLS = ["url", "reason", "detail", "permanent", "time"]


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        print(f"warning: could not read {path} ({e}); starting it afresh", file=sys.stderr)
        return []


def _write_csv(path: Path, rows: list[dict], cols: list[str]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))


def _image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:
        return (0, 0)


# ----------------------------------------------------------------------------------- main
def download(lists, out, *, column=None, workers=8, per_host=2, host_delay=0.5, cfg: FetchConfig | None = None,
             limit: int | None = None, retry_failed=False, shard=2, keep_names=False, progress=True) -> Summary:
    """Download every URL of ``lists`` into ``out`` (see module doc). Returns the Summary."""
    if workers < 1:
        raise ValueError(f"expected workers >= 1, got {workers}")
    cfg = cfg or FetchConfig()
    out = Path(out)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out)
    rows = read_url_lists(lists, column)
    extra_cols = sorted({k for r in rows for k in r if k != "url"})
    have = existing_files(images)
    failures = {r["url"]: r for r in _read_csv(out / "failures.csv")}
    old_index = {r["url"]: r for r in _read_csv(out / "index.csv")}
    summary = Summary(f"download_urls -> {out}")
    todo = []
    for row in rows:
        if url_key(row["url"]) in have:
            summary.skip(R_DONE)
        elif row["url"] in failures and failures[row["url"]].get("permanent") == "1" and not retry_failed:
            summary.skip(R_FAILED_BEFORE, short_url(row["url"]))
        else:
            todo.append(row)
    if limit is not None:
        todo = todo[:limit]
    limiter = HostLimiter(per_host, host_delay)
    lock = threading.Lock()
    new_index: dict[str, dict] = {}

    def work(row):
        url = row["url"]
        try:
            got = fetch_image(url, cfg, None, limiter)
        except FetchError as e:
            return row, None, e
        name = file_name(url, got.ext, keep_names)
        sub = images / name[:shard] if shard else images
        path = inside(out, sub / name)
        atomic_write_bytes(path, got.data)
        rec = {"file": path.relative_to(out.resolve()).as_posix(), "url": url, "bytes": len(got.data),
               "width": got.width, "height": got.height, "sha256": got.sha256}
        return row, rec, None

    def flush():
        with lock:
            index = []
            for row in rows:
                p = have.get(url_key(row["url"]))
                if p is None:
                    continue
                rec = new_index.get(row["url"]) or old_index.get(row["url"])
                if rec is None:  # downloaded by a run that died before writing the index
                    w, h = _image_size(p)
                    rec = {"file": p.resolve().relative_to(out.resolve()).as_posix(), "url": row["url"],
                           "bytes": p.stat().st_size, "width": w, "height": h, "sha256": ""}
                index.append({**{k: row.get(k, "") for k in extra_cols}, **rec})
            _write_csv(out / "index.csv", index, ["file", "url", "bytes", "width", "height", "sha256"] + extra_cols)
            _write_csv(out / "failures.csv", list(failures.values()), FAIL_COLS)

    last_flush = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=workers) as ex, \
                tqdm(total=len(todo), desc="download", unit="img", disable=not progress) as bar:
            it, pending = iter(todo), set()
            while True:
                while len(pending) < 2 * workers:
                    row = next(it, None)
                    if row is None:
                        break
                    pending.add(ex.submit(work, row))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    row, rec, err = fut.result()
                    bar.update(1)
                    with lock:
                        if err is None:
                            new_index[row["url"]] = rec
                            have[url_key(row["url"])] = out / rec["file"]
                            failures.pop(row["url"], None)
                            summary.keep()
                        else:
                            failures[row["url"]] = {"url": row["url"], "reason": err.reason, "detail": err.detail[:300],
                                                    "permanent": int(err.permanent), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
                            summary.skip(err.reason, short_url(row["url"]))
                if time.monotonic() - last_flush > 30:
                    flush()
                    last_flush = time.monotonic()
    finally:
        flush()
    return summary


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m data_scripts.download_urls",
        description="Download images from URL lists (EmotioNet style): resumable, bounded parallelism, "
                    "per-host politeness, verified images, failures logged to failures.csv.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("lists", nargs="+", help="URL lists: .txt (one URL a line) or .csv/.tsv")
    p.add_argument("--out", required=True, help="output folder (images/, index.csv, failures.csv)")
    p.add_argument("--column", help="CSV/TSV column holding the URL (default: guessed)")
    p.add_argument("--workers", type=int, default=8, help="download threads (the parallel bound)")
    p.add_argument("--per-host", type=int, default=2, help="requests in flight per host at most")
    p.add_argument("--host-delay", type=float, default=0.5, help="seconds between request starts per host")
    p.add_argument("--timeout", type=float, default=15.0, help="connect/read timeout in seconds")
    p.add_argument("--retries", type=int, default=2, help="retries after timeouts, connection errors, 429, 5xx")
    p.add_argument("--backoff", type=float, default=1.0, help="first retry delay in seconds (doubles)")
    p.add_argument("--max-mb", type=float, default=20.0, help="largest accepted file in MB")
    p.add_argument("--min-side", type=int, default=32, help="smallest accepted width/height in pixels")
    p.add_argument("--allow-octet-stream", action="store_true",
                   help="also accept Content-Type application/octet-stream (the bytes must still decode)")
    p.add_argument("--limit", type=int, help="attempt at most this many new URLs (for trials)")
    p.add_argument("--retry-failed", action="store_true", help="retry URLs that failed permanently before")
    p.add_argument("--shard", type=int, default=2, help="sub-folders named after the first N hex digits (0: flat)")
    p.add_argument("--keep-names", action="store_true", help="append the URL's (sanitised) file name")
    p.add_argument("--user-agent", default=DEFAULT_UA)
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    if a.no_progress:
        set_progress(False)
    cfg = FetchConfig(timeout=a.timeout, retries=a.retries, backoff=a.backoff, max_bytes=int(a.max_mb * 2**20),
                      min_side=a.min_side, user_agent=a.user_agent, allow_octet_stream=a.allow_octet_stream)
    s = download(a.lists, a.out, column=a.column, workers=a.workers, per_host=a.per_host, host_delay=a.host_delay,
                 cfg=cfg, limit=a.limit, retry_failed=a.retry_failed, shard=a.shard, keep_names=a.keep_names,
                 progress=not a.no_progress)
    s.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
