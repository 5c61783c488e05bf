"""The article id of an imported page: its URL, in the form its live page's widget sends.

The widget's default `data-article` is the page's canonical URL as the browser resolves it
(`link[rel=canonical].href`, else origin + path). Exports hold the same pages in whatever form
the old system saw them (http and https, with and without a trailing slash, upper-case hosts,
Isso's bare paths), so every URL is brought to one form:

- scheme: `https` (COMMENTS_IMPORT_SCHEME=https, the default), `http`, or kept as it is;
- host: lower case, internationalised names in their ASCII (`xn--`) form, as browsers give
  them; credentials and the default port (80, 443) dropped;
- path: "/" when empty; non-ASCII characters percent-encoded as UTF-8 (existing escapes stay);
  trailing slash added (COMMENTS_IMPORT_TRAILING_SLASH=add, the default, WordPress's form)
  unless the last segment names a file (`story.html`), removed (`strip`), or kept;
- query: only `p` and `page_id` (WordPress's plain permalinks, `/?p=123`); fragment dropped;
- a path alone (Isso keeps only the path) is joined to the site given with `--site`.

Files this service exported carry their article ids, which are used unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import idna

from service.core.records import page_url
from service.core.validation import MAX_ARTICLE

SCHEMES = ("https", "http", "keep")
TRAILING_SLASH = ("add", "strip", "keep")
DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 characters a path keeps as they are; "%" so existing escapes are not escaped again.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


@dataclass(frozen=True, slots=True)
class ArticleForm:
    scheme: str = "https"
    trailing_slash: str = "add"
    site: str | None = None  # base URL for bare paths


class ArticleError(ValueError):
    """A page URL that names no article (its reason, never the URL: it may carry anything)."""


class NeedsSite(ArticleError):
    """A page named by its path alone, and no --site to say where it is."""


def article_id(url: str, form: ArticleForm) -> str:
    raw = url.strip()
    if raw.startswith("/") and not raw.startswith("//"):
        if not form.site:
            raise NeedsSite("a page path without a site: give the site's URL with --site")
        raw = urljoin(form.site, raw)  # the path is from the site's root, as Isso keeps it
    elif raw.startswith("//"):
        raw = "https:" + raw
    page = page_url(raw)
    if not page:
        raise ArticleError("not an http(s) URL")
    parts = urlsplit(page)
    scheme = parts.scheme if form.scheme == "keep" else form.scheme
    host = _ascii_host(parts.hostname or "")
    if parts.port and parts.port != DEFAULT_PORTS.get(parts.scheme):
        host += f":{parts.port}"
    path = _trailing_slash(quote(parts.path, safe=_PATH_SAFE) or "/", form.trailing_slash)
    article = urlunsplit((scheme, host, path, parts.query, ""))
    if len(article) > MAX_ARTICLE:
        raise ArticleError(f"longer than {MAX_ARTICLE} characters")
    return article


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise ArticleError("not a valid host name") from None


def _trailing_slash(path: str, rule: str) -> str:
    if rule == "strip" and path != "/":
        return path.rstrip("/") or "/"
    if rule == "add" and not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]:
        return path + "/"
    return path


def explicit(article: str) -> str:
    """An article id carried by the file itself, checked as intake checks one."""
    value = article.strip()
    if not 0 < len(value) <= MAX_ARTICLE or not value.isprintable():
        raise ArticleError("not a usable article id")
    return value
