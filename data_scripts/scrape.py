"""Web image scraper (the GLCIC course study): search keywords in headless Chromium, collect, download, de-duplicate.

The GLCIC course study built its 528-face set from ~1000 images found with Selenium on Google image search for ten
Japanese keywords. This tool does that step reproducibly:

1. **Collect** — for each keyword open ``--search-url`` (``{query}`` is replaced by the URL-quoted
   keyword) in headless Chromium, scroll through the page step by step (so lazy images and infinite
   scroll load), click "show more results"-like buttons, and read image URLs from the live DOM
   (``src``/``currentSrc``, ``data-src``-style attributes, the largest ``srcset`` entry; so images
   inserted by JavaScript count too) until ``--per-keyword`` URLs or no progress.
   What counts as a result is decided by a **parser** (``--parser``), because search-engine markup
   changes: ``google`` (default; original-size URLs from ``imgurl=`` links and the page's embedded
   data, then thumbnails), ``generic`` (every ``<img>``/``<source>``). Add one with
   ``@register_parser("name")`` on a class with ``image_urls(driver)`` and ``load_more(driver)``.
2. **Download** — with timeouts, retries, a size limit, a ``Content-Type: image/*`` check and a full
   PIL decode (``data_scripts.download_urls.fetch_image``), politely: at most ``--per-host`` requests
   in flight and ``--host-delay`` seconds between requests per host, ``--page-delay`` between searches.
3. **De-duplicate** — identical bytes (sha256) and near-duplicates (perceptual hash, ``imagehash.phash``,
   Hamming distance <= ``--hash-distance``); the first one seen is kept.
4. **Resume** — ``OUT/scrape_state.json`` (written atomically) remembers the collected URLs per search
   page and the outcome of every URL; files are named after a hash of their URL, so even a run killed
   before it saved its state is resumed without downloading anything twice. Re-running is safe; it
   only does what is missing. Deleting a kept image by hand (the GLCIC course study filtered by hand) does not bring
   it back, nor its near-duplicates. ``--refresh`` re-collects the search pages.

Output: ``OUT/images/<hash>.<ext>`` and ``OUT/manifest.csv`` (``file, source, keyword, width, height,
bytes, sha256, phash``; ``source`` is the image URL) for the face filter that comes next. Nothing is
written outside ``OUT``.

Example (the GLCIC course study's keywords are the default)::

    python -m data_scripts.scrape --out data/scraped --per-keyword 100

Browser set-up. Default binaries: ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (Debian:
``apt-get install chromium chromium-driver``); override with ``--chrome-binary``/``--chromedriver`` or
the environment variables ``SCRAPE_CHROME_BINARY``/``SCRAPE_CHROMEDRIVER``. An empty ``--chromedriver ''``
lets Selenium Manager find or download a matching driver. In Google Colab (Ubuntu's chromium is a snap
there and does not work) install Google Chrome and let Selenium Manager fetch its driver::

    !wget -q https://dl.google.com/linux/direct/google-chrome-stable_current_amd64.deb
    !apt-get install -y -qq ./google-chrome-stable_current_amd64.deb
    !python -m data_scripts.scrape --out /content/scraped --chrome-binary /usr/bin/google-chrome --chromedriver ''

Respect the sites' terms of use and the photographed people's rights; the images are for your own
research, are not redistributed, and the tests never leave 127.0.0.1.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol
from urllib.parse import parse_qs, quote_plus, urlsplit

from helpers.core.runtime import bar as tqdm, set_progress

from .common import Summary, atomic_write_bytes, inside
from .download_urls import (R_DONE, FetchConfig, FetchError, HostLimiter, clean_stale_temps, existing_files,
                            fetch_image, file_name, short_url, url_key, verify_image)

DEFAULT_KEYWORDS = ("日本人", "日本人 顔", "日本人 女性", "日本人 男性", "顔", "芸能人", "女優", "俳優", "男", "女")
DEFAULT_SEARCH_URL = "https://www.google.com/search?tbm=isch&q={query}"
STATE_NAME = "scrape_state.json"
R_DUP_BYTES = "duplicate (same bytes)"
R_DUP_PHASH = "duplicate (perceptual hash)"
R_SEEN = "already processed (earlier run)"
MIN_DATA_URL = 1000  # shorter data: URLs are lazy-loading placeholders, not results


# ----------------------------------------------------------------------------------- parsers
class Parser(Protocol):
    """What a results-page parser provides. ``image_urls`` returns absolute URLs (http(s) or data:)
    in page order; ``load_more`` clicks a "more results" control and says whether it did."""
    name: str

    def image_urls(self, driver) -> list[str]: ...

    def load_more(self, driver) -> bool: ...


PARSERS: dict[str, Callable[[], Parser]] = {}


def register_parser(name: str):
    """Class decorator: make a parser available as ``--parser name``."""
    def deco(cls):
        cls.name = name
        PARSERS[name] = cls
        return cls
    return deco


def get_parser(name: str) -> Parser:
    if name not in PARSERS:
        raise ValueError(f"unknown parser {name!r}; expected one of {sorted(PARSERS)}")
    return PARSERS[name]()


_JS_IMAGES = r"""
const abs = v => { try { return v ? new URL(v.trim(), document.baseURI).href : null } catch (e) { return null } };
const best = ss => { let u = null, w = -1;
  for (const part of ss.split(/,\s+(?=\S)/)) { const b = part.trim().split(/\s+/);
    const d = b[1] ? parseFloat(b[1]) : 1; if (b[0] && d > w) { w = d; u = b[0] } } return u };
const out = [];
for (const el of document.querySelectorAll('img, picture source')) {
  const cands = [];
  const ss = el.getAttribute('data-srcset') || el.getAttribute('srcset');
  if (ss) cands.push(best(ss));
  for (const k of ['data-src', 'data-iurl', 'data-lazy-src', 'data-original']) cands.push(el.getAttribute(k));
  if (el.tagName === 'IMG') cands.push(el.currentSrc, el.getAttribute('src'));
  for (const c of cands) { const a = abs(c);
    if (a && !(a.startsWith('data:') && a.length < arguments[0])) { out.push(a); break } }
}
for (const a of document.querySelectorAll('a[href]')) {
  if (/\.(jpe?g|png|webp|gif|bmp)(\?|#|$)/i.test(a.href)) out.push(a.href);
}
return out;
"""

_JS_MORE = r"""
const re = new RegExp(arguments[0], 'i');
const els = [...document.querySelectorAll(arguments[1])];
for (const el of els) {
  const t = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim();
  const r = el.getBoundingClientRect(), st = getComputedStyle(el);
  if (r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && !el.disabled && re.test(t)) {
    el.scrollIntoView({block: 'center'}); el.click(); return true; }
}
return false;
"""
MORE_TEXT = r"show more|load more|more results|see more|もっと見る|さらに表示|結果をもっと表示|もっと表示"


@register_parser("generic")
class GenericParser:
    """Every ``<img>``/``<picture><source>`` (lazy attributes and srcset included) and every link to an
    image file; "load more" = a visible button whose text matches ``MORE_TEXT``."""
    button_selector = "button, input[type=button], input[type=submit], a[role=button], [role=button]"

    def image_urls(self, driver) -> list[str]:
        return list(driver.execute_script(_JS_IMAGES, MIN_DATA_URL) or [])

    def load_more(self, driver) -> bool:
        return bool(driver.execute_script(_JS_MORE, MORE_TEXT, self.button_selector))


_G_TRIPLE = re.compile(r'\["(https?://[^"\\]+(?:\\.[^"\\]*)*)",(\d+),(\d+)\]')
_G_SKIP = re.compile(r"/images/branding/|googlelogo|/logos/|gstatic\.com/ui/|/favicon|\.svg(\?|$)")


def google_urls_from_source(html: str) -> list[str]:
    """Original-size image URLs from Google Images' embedded result data (``["url",height,width]``
    triples), thumbnails from ``encrypted-tbn*.gstatic.com`` excluded; markup as of 2024."""
    out = []
    for m in _G_TRIPLE.finditer(html):
        url = m.group(1)
        try:
            url = json.loads(f'"{url}"')  # \u003d and friends
        except ValueError:
            continue
        if "gstatic.com/images?" not in url and not _G_SKIP.search(url):
            out.append(url)
    return out


@register_parser("google")
class GoogleImagesParser(GenericParser):
    """Google-Images-like pages: original-size URLs first (``imgurl=`` in result links, embedded
    ``["url",h,w]`` data), then thumbnails/other images as the generic parser finds them (minus logos).
    Its "more results" button had class ``mye4qd``; text matching is the fallback."""
    button_selector = "input.mye4qd, .mye4qd, " + GenericParser.button_selector

    def image_urls(self, driver) -> list[str]:
        out = []
        for href in driver.execute_script(
                "return [...document.querySelectorAll('a[href*=\"imgurl=\"]')].map(a => a.href)") or []:
            out += parse_qs(urlsplit(href).query).get("imgurl", [])
        out += google_urls_from_source(driver.page_source)
        out += [u for u in super().image_urls(driver) if not _G_SKIP.search(u)]
        return out


# ----------------------------------------------------------------------------------- browser
def _default_path(env: str, path: str) -> str | None:
    v = os.environ.get(env)
    if v is not None:
        return v or None
    return path if Path(path).exists() else None


@dataclass
class BrowserConfig:
    """How to start Chromium and how patiently to read a page."""
    binary: str | None = field(default_factory=lambda: _default_path("SCRAPE_CHROME_BINARY", "/usr/bin/chromium"))
    driver: str | None = field(default_factory=lambda: _default_path("SCRAPE_CHROMEDRIVER", "/usr/bin/chromedriver"))
    headless: bool = True
    extra_args: tuple[str, ...] = ()
    window: str = "1280,1000"
    page_timeout: float = 30.0
    scroll_pause: float = 1.0      # seconds to wait after scrolling through the page
    max_rounds: int = 30           # scroll/load-more rounds per page at most
    patience: int = 2              # stop after this many rounds without new URLs


BASE_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--mute-audio")


class Browser:
    """Context manager around a Selenium Chrome driver with a fresh, temporary profile folder."""

    def __init__(self, cfg: BrowserConfig):
        self.cfg, self.driver, self.profile = cfg, None, None

    def __enter__(self):
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError as e:
            raise RuntimeError("selenium is not installed: pip install selenium (or pip install -e .[scrape])") from e
        self.profile = tempfile.mkdtemp(prefix="scrape-chrome-")
        opts = webdriver.ChromeOptions()
        if self.cfg.binary:
            opts.binary_location = self.cfg.binary
        args = list(BASE_ARGS) + [f"--user-data-dir={self.profile}", f"--window-size={self.cfg.window}"]
        if self.cfg.headless:
            args.insert(0, "--headless")
        for a in args + list(self.cfg.extra_args):
            opts.add_argument(a)
        service = Service(executable_path=self.cfg.driver) if self.cfg.driver else Service()
        try:
            self.driver = webdriver.Chrome(options=opts, service=service)
        except Exception as e:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise RuntimeError(
                f"could not start Chromium (binary {self.cfg.binary or 'auto'}, driver {self.cfg.driver or 'auto'}): "
                f"{e}\nInstall it (Debian: apt-get install chromium chromium-driver) or pass --chrome-binary/"
                "--chromedriver; see `python -m data_scripts.scrape --help`.") from e
        self.driver.set_page_load_timeout(self.cfg.page_timeout)
        return self.driver

    def __exit__(self, *exc):
        try:
            if self.driver is not None:
                self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def scroll_through(driver, pause: float) -> None:
    """Scroll down one screen at a time to the bottom (so IntersectionObserver-based lazy loading
    and infinite scroll fire), then wait ``pause`` seconds for what that triggered."""
    step = min(0.15, pause / 4)
    for _ in range(300):
        y0, y1 = driver.execute_script(
            "const y = window.pageYOffset; window.scrollBy(0, Math.max(200, window.innerHeight * 0.8));"
            "return [y, window.pageYOffset];")
        time.sleep(step)
        if y1 <= y0:
            break
    time.sleep(pause)


def collect_page(driver, parser: Parser, page_url: str, want: int, cfg: BrowserConfig) -> list[str]:
    """Image URLs found on ``page_url`` (in page order, unique, at most ``want``)."""
    driver.get(page_url)
    seen: dict[str, None] = {}
    stale = 0
    for _ in range(cfg.max_rounds):
        before = len(seen)
        getattr(parser, "scroll", scroll_through)(driver, cfg.scroll_pause)
        for u in parser.image_urls(driver):
            if urlsplit(u).scheme.lower() in ("http", "https", "data"):
                seen.setdefault(u, None)
        if len(seen) >= want:
            break
        stale = stale + 1 if len(seen) == before else 0
        if stale >= cfg.patience:
            break
        parser.load_more(driver)
    return list(seen)[:want]


# ----------------------------------------------------------------------------------- state
class State:
    """``scrape_state.json``: collected URLs per search page and the outcome of every URL."""

    def __init__(self, out: Path):
        self.path = out / STATE_NAME
        self.data = {"version": 1, "pages": {}, "results": {}}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(data, dict) or data.get("version") != 1:
                    raise ValueError("unknown layout")
                data.setdefault("pages", {})
                data.setdefault("results", {})
                self.data = data
            except (ValueError, OSError) as e:
                bad = self.path.with_name(f"{STATE_NAME}.corrupt-{int(time.time())}")
                os.replace(self.path, bad)
                print(f"warning: {self.path} is unreadable ({e}); moved to {bad.name}, starting a fresh state "
                      "(finished downloads are still recognised from their file names)", file=sys.stderr)
        self._last = 0.0

    @property
    def pages(self) -> dict:
        return self.data["pages"]

    @property
    def results(self) -> dict:
        return self.data["results"]

    def save(self, force: bool = True) -> None:
        if force or time.monotonic() - self._last > 2.0:
            atomic_write_bytes(self.path, json.dumps(self.data, ensure_ascii=False, indent=0).encode("utf-8"))
            self._last = time.monotonic()


class Deduper:
    """First-seen-wins de-duplication by sha256 and perceptual hash."""

    def __init__(self, distance: int = 6):
        import imagehash  # noqa: F401  (fail early with a clear error)
        self.distance, self.sha, self.hashes = distance, set(), []

    def add(self, sha: str, phash_hex: str) -> None:
        import imagehash
        self.sha.add(sha)
        self.hashes.append(imagehash.hex_to_hash(phash_hex))

    def check(self, data: bytes, sha: str) -> tuple[str | None, str]:
        """(reason or None, phash hex) for a new image."""
        import imagehash
        from PIL import Image
        with Image.open(io.BytesIO(data)) as im:
            h = imagehash.phash(im.convert("RGB"))
        if sha in self.sha:
            return R_DUP_BYTES, str(h)
        if any(h - k <= self.distance for k in self.hashes):
            return R_DUP_PHASH, str(h)
        return None, str(h)


# ----------------------------------------------------------------------------------- main
def scrape(keywords=DEFAULT_KEYWORDS, out="data/scraped", *, search_url=DEFAULT_SEARCH_URL, parser="google",
           per_keyword=100, max_images=None, browser: BrowserConfig | None = None, fetch: FetchConfig | None = None,
           workers=4, per_host=2, host_delay=1.0, page_delay=2.0, hash_distance=6, keep_names=False,
           refresh=False, progress=True) -> Summary:
    """Collect, download and de-duplicate images for ``keywords`` into ``out``; returns the Summary.

    ``max_images`` bounds the kept images in ``out`` over all runs (None: no bound).
    """
    if "{query}" not in search_url:
        raise ValueError(f"expected '{{query}}' in the search URL template, got {search_url!r}")
    if per_keyword < 1 or workers < 1 or hash_distance < 0:
        raise ValueError(f"expected per_keyword >= 1, workers >= 1, hash_distance >= 0, got "
                         f"{per_keyword}, {workers}, {hash_distance}")
    keywords = [k.strip() for k in keywords if k and k.strip()]
    if not keywords:
        raise ValueError("expected at least one keyword")
    the_parser = get_parser(parser)
    browser = browser or BrowserConfig()
    fetch = fetch or FetchConfig()
    out = Path(out)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out)
    state = State(out)
    summary = Summary(f"scrape -> {out}")

    # 1. collect (the browser starts only if some page is not collected yet)
    pages = [(kw, search_url.format(query=quote_plus(kw))) for kw in keywords]
    todo = [(kw, u) for kw, u in pages if refresh or not state.pages.get(u, {}).get("complete")]
    if todo:
        with Browser(browser) as driver:
            for i, (kw, page_url) in enumerate(tqdm(todo, desc="search pages", disable=not progress)):
                if i:
                    time.sleep(page_delay * random.uniform(0.75, 1.25))
                try:
                    urls = collect_page(driver, the_parser, page_url, per_keyword, browser)
                except Exception as e:  # one bad page must not end the whole run
                    print(f"warning: could not read {page_url}: {type(e).__name__}: {e}", file=sys.stderr)
                    summary.skip("search page failed", page_url)
                    continue
                state.pages[page_url] = {"keyword": kw, "complete": True, "urls": urls}
                state.save()

    # 2. download + de-duplicate, in page order (deterministic whichever thread finishes first)
    cands, seen = [], set()
    for kw, page_url in pages:
        for u in state.pages.get(page_url, {}).get("urls", []):
            if u not in seen:
                seen.add(u)
                cands.append((kw, page_url, u))
    dedup = Deduper(hash_distance)
    for rec in state.results.values():
        if rec.get("status") == "kept":
            dedup.add(rec["sha256"], rec["phash"])
    on_disk = existing_files(images)
    kept_total = sum(r.get("status") == "kept" for r in state.results.values())

    def record_kept(kw, page_url, url, data, ext, w, h, sha, ph, path):
        nonlocal kept_total
        state.results[url] = {"status": "kept", "keyword": kw, "page": page_url,
                              "file": path.relative_to(out.resolve()).as_posix(), "width": w, "height": h,
                              "bytes": len(data), "sha256": sha, "phash": ph}
        dedup.add(sha, ph)
        kept_total += 1

    queue = []
    for kw, page_url, url in cands:
        if url in state.results:
            summary.skip(R_SEEN)
        elif url_key(url) in on_disk:  # downloaded by a run that died before saving its state
            p = on_disk[url_key(url)]
            data = p.read_bytes()
            try:
                _, w, h = verify_image(data)
            except FetchError:
                p.unlink()
                queue.append((kw, page_url, url))
                continue
            sha = hashlib.sha256(data).hexdigest()
            reason, ph = dedup.check(data, sha)
            record_kept(kw, page_url, url, data, p.suffix, w, h, sha, ph, p.resolve())
            summary.skip(R_DONE)
        else:
            queue.append((kw, page_url, url))

    limiter = HostLimiter(per_host, host_delay)
    window: deque = deque()
    it = iter(queue)

    def room() -> int:
        left = len(queue) if max_images is None else max_images - kept_total
        return min(workers, left) - len(window)

    try:
        with ThreadPoolExecutor(max_workers=workers) as ex, \
                tqdm(total=len(queue), desc="download", unit="img", disable=not progress) as bar:
            while True:
                while room() > 0:
                    nxt = next(it, None)
                    if nxt is None:
                        break
                    window.append((nxt, ex.submit(fetch_image, nxt[2], fetch, None, limiter, nxt[1])))
                if not window:
                    break
                (kw, page_url, url), fut = window.popleft()
                bar.update(1)
                try:
                    got = fut.result()
                except FetchError as e:
                    state.results[url] = {"status": "skipped", "reason": e.reason, "detail": e.detail[:200],
                                          "permanent": e.permanent, "keyword": kw}
                    summary.skip(e.reason, short_url(url, 80))
                    state.save(force=False)
                    continue
                reason, ph = dedup.check(got.data, got.sha256)
                if reason:
                    state.results[url] = {"status": "skipped", "reason": reason, "keyword": kw, "phash": ph}
                    summary.skip(reason, short_url(url, 80))
                else:
                    path = inside(out, images / file_name(url, got.ext, keep_names))
                    atomic_write_bytes(path, got.data)
                    record_kept(kw, page_url, url, got.data, got.ext, got.width, got.height, got.sha256, ph, path)
                    summary.keep()
                state.save(force=False)
    finally:
        state.save()
        write_manifest(out, state)
    if max_images is not None and kept_total >= max_images:
        print(f"stopped at --max-images {max_images}; re-run with a larger bound to continue", file=sys.stderr)
    return summary


def write_manifest(out: Path, state: State) -> Path:
    """``manifest.csv`` of the kept images that still exist (hand-deleted ones are left out)."""
    cols = ["file", "source", "keyword", "width", "height", "bytes", "sha256", "phash"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for url, rec in state.results.items():
        if rec.get("status") == "kept" and (out / rec["file"]).is_file():
            w.writerow({**rec, "source": short_url(url, 2000)})
    return atomic_write_bytes(out / "manifest.csv", buf.getvalue().encode("utf-8"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m data_scripts.scrape",
        description="Search images in headless Chromium, download them (checked, polite, resumable) and drop "
                    "duplicates. Default keywords: the GLCIC course study's ten Japanese keywords.",
        epilog=(__doc__ or "Browser set-up.Respect").split("Browser set-up.")[1].split("Respect")[0].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (images/, manifest.csv, scrape_state.json)")
    p.add_argument("-k", "--keyword", action="append", dest="keywords",
                   help="search keyword (repeat; default: %s)" % ", ".join(DEFAULT_KEYWORDS))
    p.add_argument("--search-url", default=DEFAULT_SEARCH_URL, help="results-page template with {query} (default %(default)s)")
    p.add_argument("--parser", default="google", choices=sorted(PARSERS), help="results-page parser (default %(default)s)")
    p.add_argument("--per-keyword", type=int, default=100, help="image URLs to collect per keyword (default %(default)s)")
    p.add_argument("--max-images", type=int, help="stop when the folder holds this many kept images")
    p.add_argument("--refresh", action="store_true", help="collect the search pages again")
    g = p.add_argument_group("download")
    g.add_argument("--workers", type=int, default=4, help="download threads (default %(default)s)")
    g.add_argument("--per-host", type=int, default=2, help="requests in flight per host (default %(default)s)")
    g.add_argument("--host-delay", type=float, default=1.0, help="seconds between requests per host (default %(default)s)")
    g.add_argument("--page-delay", type=float, default=2.0, help="seconds between two searches (default %(default)s)")
    g.add_argument("--timeout", type=float, default=15.0, help="connect/read timeout (default %(default)s)")
    g.add_argument("--retries", type=int, default=2, help="retries after transient errors (default %(default)s)")
    g.add_argument("--max-mb", type=float, default=20.0, help="largest accepted file in MB (default %(default)s)")
    g.add_argument("--min-side", type=int, default=32, help="smallest accepted width/height (default %(default)s)")
    g.add_argument("--hash-distance", type=int, default=6, help="phash Hamming distance counted as duplicate (default %(default)s)")
    g.add_argument("--keep-names", action="store_true", help="append the URL's sanitised file name to the hash")
    b = p.add_argument_group("browser")
    b.add_argument("--chrome-binary", help="Chromium/Chrome binary (default $SCRAPE_CHROME_BINARY or /usr/bin/chromium)")
    b.add_argument("--chromedriver", help="chromedriver ('' = Selenium Manager; default $SCRAPE_CHROMEDRIVER or /usr/bin/chromedriver)")
    b.add_argument("--show-browser", action="store_true", help="not headless (needs a display)")
    b.add_argument("--chrome-arg", action="append", default=[], help="extra Chromium flag (repeat)")
    b.add_argument("--scroll-pause", type=float, default=1.0, help="wait after each scroll-through (default %(default)s)")
    b.add_argument("--max-rounds", type=int, default=30, help="scroll/load-more rounds per page (default %(default)s)")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    if a.no_progress:
        set_progress(False)
    bcfg = BrowserConfig(headless=not a.show_browser, extra_args=tuple(a.chrome_arg), scroll_pause=a.scroll_pause,
                         max_rounds=a.max_rounds)
    if a.chrome_binary is not None:
        bcfg.binary = a.chrome_binary or None
    if a.chromedriver is not None:
        bcfg.driver = a.chromedriver or None
    fcfg = FetchConfig(timeout=a.timeout, retries=a.retries, max_bytes=int(a.max_mb * 2**20), min_side=a.min_side)
    s = scrape(a.keywords or DEFAULT_KEYWORDS, a.out, search_url=a.search_url, parser=a.parser,
               per_keyword=a.per_keyword, max_images=a.max_images, browser=bcfg, fetch=fcfg, workers=a.workers,
               per_host=a.per_host, host_delay=a.host_delay, page_delay=a.page_delay,
               hash_distance=a.hash_distance, keep_names=a.keep_names, refresh=a.refresh, progress=not a.no_progress)
    s.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
