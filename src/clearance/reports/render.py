"""Writing the report: jinja2 templates (package data) into self-contained HTML files.

Safety rules, all enforced here rather than in each template:

* **autoescape on** for every template: model output is untrusted text, and
  ``<script>``, quotes and ``&`` come out as text, never as markup or attributes;
* **secrets are redacted** from every value written (``finalize``): provider keys
  and bearer tokens by pattern, and the values of ``*_API_KEY``/``*_TOKEN``/...
  environment variables;
* **no external assets**: CSS inline, charts inline SVG, and a Content-Security-
  Policy that forbids scripts and remote loads, so the files open from disk
  with no network and a leaked ``<script>`` could not run anyway.

A model's failing cases are paged (``page_size`` cases to a page, at most
``max_pages`` pages) so that a large run gives a report of sane size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from clearance.catalog.database import Catalog
from clearance.errors import InputError
from clearance.evaluation.scrub import Scrubber, redact_secrets
from clearance.reports.collect import CaseRef, ModelReport, ReportData, load_failing
from clearance.reports.figures import FLOWS

__all__ = [
    "MAX_PAGES",
    "MONEY_DIGITS",
    "PAGE_SIZE",
    "ReportFiles",
    "environment",
    "model_slug",
    "money_exact",
    "money_text",
    "render_common",
    "write_report",
]

PAGE_SIZE = 25
"""Failing cases per page of a model's drill-down."""
MAX_PAGES = 8
"""Pages of failing cases per model; the rest are counted, not shown."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def model_slug(model_id: str) -> str:
    """A file name for a model's page: readable, and unique by a short hash."""
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:8]
    return f"{_UNSAFE.sub('_', model_id).strip('_')[:80]}-{digest}"


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else str(value)


MONEY_DIGITS = 6
"""Significant digits of a USD amount as shown (the exact amount is in its ``title``)."""


def _decimal(value: Any) -> Decimal | None:
    """``value`` as a Decimal: a Decimal, an int, or a decimal string (never a float)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            return None
    return None


def _rounded(value: Decimal, digits: int) -> str:
    """``value`` to ``digits`` significant digits in plain notation, whole units kept."""
    places = max(0, digits - 1 - value.adjusted())
    with localcontext() as context:
        context.prec = max(digits, value.adjusted() + 1) + 2
        rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = format(rounded, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("0", "-0") else text


def money_text(value: Any, apart_from: Any = None) -> str:
    """USD as the report shows it: :data:`MONEY_DIGITS` significant digits in plain
    notation (``0.000513021``), never rounding away whole dollars, in Decimal arithmetic.

    With ``apart_from`` (a bound the amount is compared with), more digits are shown
    until the two read differently, so a breach never reads as its own bound. A value
    that is not a Decimal, an int or a decimal string is shown as it is.
    """
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        return str(value)
    if amount.is_zero():
        return "0"
    other = _decimal(apart_from)
    digits = MONEY_DIGITS
    if other is not None and other.is_finite() and other != amount:
        # the fewest digits at which both read differently (the same for both sides)
        while _rounded(amount, digits) == _rounded(other, digits) and digits < 80:
            digits += 1
    return _rounded(amount, digits)


def money_exact(value: Any) -> str:
    """The exact amount (plain notation, every digit), for the ``title`` of a shown one."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        return str(value)
    return "0" if amount.is_zero() else format(amount, "f")


def _figure(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        try:
            return money_text(Decimal(value))
        except ArithmeticError:
            return value
    return str(value)


_TEXT_LIMIT = 10_000
"""Characters of one transcript value shown; the rest is counted (a page stays readable)."""


def _text(value: Any, redact: Callable[[str], str]) -> str:
    """Untrusted text as shown: structures (content parts, arguments) as JSON, cut when long
    (after ``redact``: a cut must not leave half a secret behind)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = redact(text)
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + f"… [{len(text)} chars]"


_FIGURES = re.compile(
    r"(?P<interval>\[[-+]?\d+(?:\.\d+)?, [-+]?\d+(?:\.\d+)?\])"
    r"|(?<![\w.+\-])(?P<number>[-+]?\d+\.\d+)(?![\w.])"
)
"""An interval ``[0.709, 1.000]``, or a decimal number standing alone in a sentence."""


def _significant(number: str) -> int:
    return len(number.lstrip("+-").replace(".", "").lstrip("0"))


def _readable(value: Any, redact: Callable[[str], str]) -> Markup:
    """A sentence written by clearance (a check's detail, a reason) with its figures kept
    readable: an interval never wraps, and a number longer than :data:`MONEY_DIGITS`
    significant digits (an exact USD amount) is shown to that many, exact in its title.

    The whole text is redacted before it is cut up (a cut must not split a secret), and
    every piece is escaped here, since the result is markup.
    """
    text = redact("" if value is None else str(value))
    out: list[str] = []
    position = 0
    for match in _FIGURES.finditer(text):
        out.append(escape(text[position : match.start()]))
        position = match.end()
        interval, number = match.group("interval"), match.group("number")
        if interval is not None:
            low, high = interval[1:-1].split(", ")
            out.append(f'<span class="interval">[{escape(low)},&nbsp;{escape(high)}]</span>')
        elif _significant(number) > MONEY_DIGITS:
            out.append(
                f'<span class="money" title="{escape(money_exact(number))}">'
                f"{escape(money_text(number))}</span>"
            )
        else:
            out.append(escape(number))
    out.append(escape(text[position:]))
    return Markup("".join(out))


def _anchor(value: Any) -> str:
    """An id for ``value``: itself when safe, else sanitized and made unique by a short hash."""
    text = str(value)
    if not _UNSAFE.search(text):
        return text
    return f"{_UNSAFE.sub('-', text)}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def environment(secrets: Sequence[str] | None = None) -> Environment:
    """The report's jinja2 environment (autoescape on, secrets redacted from every value)."""
    scrubber = Scrubber(secrets) if secrets is not None else Scrubber.from_environ(os.environ)

    def redact(text: str) -> str:
        return redact_secrets(scrubber.text(text))

    def finalize(value: Any) -> Any:
        # Markup is a macro's or template's own output, whose values were finalized one by one
        if isinstance(value, str) and not isinstance(value, Markup):
            return redact(value)
        return value

    def text(value: Any) -> str:
        return _text(value, redact)

    def readable(value: Any) -> Markup:
        return _readable(value, redact)

    env = Environment(
        loader=PackageLoader("clearance.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=_when,
        money=money_text,
        money_exact=money_exact,
        figure=_figure,
        text=text,
        readable=readable,
        anchor=_anchor,
    )
    return env


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    index: Path
    pages: tuple[Path, ...]
    """Every file, the index included."""
    bytes: int


def render_common(generated_at: dt.datetime, **values: Any) -> dict[str, Any]:
    """What every page's base template reads (``values`` are added as they are)."""
    from clearance import __version__

    common = {
        "version": __version__,
        "generated_at": _when(generated_at),
        "run": None,
        "policy": None,
        "policy_error": None,
        "flows_row": FLOWS,
        "slo_page": None,
        "retrieval_page": None,
    }
    return common | values


def _common(data: ReportData) -> dict[str, Any]:
    return render_common(
        data.generated_at, run=data.run, policy=data.policy, policy_error=data.policy_error
    )


def _pages(refs: Sequence[CaseRef], page_size: int, max_pages: int) -> list[Sequence[CaseRef]]:
    shown = refs[: page_size * max_pages]
    return [shown[i : i + page_size] for i in range(0, len(shown), page_size)] or [()]


def _model_pages(
    env: Environment,
    data: ReportData,
    model: ModelReport,
    load: Callable[[str, Sequence[CaseRef]], list[Any]],
    slug: str,
    page_size: int,
    max_pages: int,
) -> dict[str, str]:
    chunks = _pages(model.failing, page_size, max_pages)
    names = [f"{slug}.html"] + [f"{slug}-failures-{n}.html" for n in range(2, len(chunks) + 1)]
    links = {}
    for name, chunk in zip(names, chunks, strict=True):
        for ref in chunk:
            links[ref.case_id] = f"{name}#case-{_anchor(ref.case_id)}"
    by_code: dict[str, list[CaseRef]] = {}
    for ref in (*model.failing, *model.flaky_failing):
        for code in ref.codes:
            by_code.setdefault(code, []).append(ref)
    flaky_failing = load(model.model_id, model.flaky_failing[:page_size])
    for ref in model.flaky_failing[:page_size]:
        links[ref.case_id] = f"{names[0]}#case-{_anchor(ref.case_id)}"
    template = env.get_template("model.html")
    out = {}
    for number, (name, chunk) in enumerate(zip(names, chunks, strict=True), start=1):
        out[name] = template.render(
            **_common(data),
            model=model,
            failing=load(model.model_id, chunk),
            flaky_failing=flaky_failing if number == 1 else [],
            pages=names,
            page_number=number,
            page_size=page_size,
            by_code=by_code,
            case_links=links,
            hidden=max(0, len(model.failing) - page_size * max_pages)
            if number == len(names)
            else 0,
        )
    return out


def _is_report(folder: Path) -> bool:
    """Whether ``folder`` is empty or holds a report :func:`write_report` wrote."""
    if not folder.is_dir():
        return False
    index = folder / "index.html"
    if index.is_file():
        with index.open(encoding="utf-8", errors="replace") as file:
            return '<meta name="generator" content="clearance ' in file.read(2000)
    return not any(folder.iterdir())


def _write_all(out: Path, files: Mapping[str, str]) -> ReportFiles:
    """Write every file into a fresh folder, then swap it in (no half-written report).

    Raises:
        InputError: ``out`` exists and is not a report (a file, or a folder of other files).
    """
    if out.exists() and not _is_report(out):
        raise InputError(
            f"{out} exists and is not a clearance report",
            fix="choose another --out (the report's folder is replaced whole), or remove it",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        written = []
        total = 0
        for name, text in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            data = text.encode("utf-8")
            path.write_bytes(data)
            written.append(out / name)
            total += len(data)
        if out.exists():
            old = out.with_name(f".{out.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out)
        out.chmod(0o755)  # mkdtemp made it private; a report is for reading
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ReportFiles(out / "index.html", tuple(written), total)


def write_report(
    data: ReportData,
    out: Path,
    *,
    catalog: Catalog | None = None,
    page_size: int = PAGE_SIZE,
    max_pages: int = MAX_PAGES,
    extra_pages: Mapping[str, str] | None = None,
    secrets: Sequence[str] | None = None,
) -> ReportFiles:
    """Render ``data`` into ``out`` (replaced whole): ``index.html`` and ``models/*.html``.

    Args:
        data: from :func:`clearance.reports.collect.collect_report`.
        out: the report's folder.
        catalog: where the failing cases' evidence is read (``None``: no drill-down).
        page_size: failing cases per page.
        max_pages: pages per model.
        extra_pages: more files to write beside (name -> HTML), e.g. the SLO page.
        secrets: values to redact (default: the secret-looking environment variables).
    """
    env = environment(secrets)
    files: dict[str, str] = dict(extra_pages or {})
    common = _common(data)
    if extra_pages and "slo.html" in extra_pages:
        common["slo_page"] = "slo.html"
    if extra_pages and "retrieval.html" in extra_pages:
        common["retrieval_page"] = "retrieval.html"
    if data.run is None or not data.models:
        files["index.html"] = env.get_template("empty.html").render(
            **common, catalog="" if catalog is None else catalog.display_url
        )
        return _write_all(out, files)

    def load(model_id: str, refs: Sequence[CaseRef]) -> list[Any]:
        return [] if catalog is None else load_failing(catalog, model_id, refs)

    pages = {}
    for model in data.models:
        slug = model_slug(model.model_id)
        pages[model.model_id] = f"models/{slug}.html"
        for name, html in _model_pages(env, data, model, load, slug, page_size, max_pages).items():
            files[f"models/{name}"] = html
    flow_rows = {model.model_id: {row.case_id: row for row in model.flows} for model in data.models}
    flow_names = sorted({name for rows in flow_rows.values() for name in rows})
    files["index.html"] = env.get_template("index.html").render(
        **common,
        models=data.models,
        tools=data.tools,
        pages=pages,
        notes=data.notes,
        any_simulated=any(model.simulated for model in data.models),
        ks=list(range(2, max((len(m.summary.pass_hat_k) for m in data.models), default=1) + 1)),
        any_flows=bool(flow_names),
        flow_names=flow_names,
        flow_rows=flow_rows,
        trend_runs=data.trend_runs,
        scoring=data.scoring,
    )
    return _write_all(out, files)
