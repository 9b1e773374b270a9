"""Figure to inline SVG: matplotlib draws, then the SVG is tidied so it can sit inside an HTML page.

matplotlib's SVG is a standalone document: an XML prolog and DOCTYPE, an RDF metadata block with links,
a global `*{...}` style rule, xlink references, ids that would clash between two plots on one page, six
decimals per coordinate and the full font-family list on every text. Here the SVG is parsed once and
rewritten: no prolog, no metadata, no external reference (only the SVG namespace), ids kept only where
something refers to them and prefixed per plot, coordinates rounded, tooltips added as <title>. Parsing
and serializing with ElementTree also guarantees that every name in the picture comes out escaped.
"""

from __future__ import annotations

import hashlib
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
FONT_FAMILY = "'DejaVu Sans', Verdana, Arial, Helvetica, sans-serif"
# Rendering settings every plot shares. The hash salt fixes matplotlib's generated ids, so the same
# figures give the same bytes; text stays text (fonttype none), and a `$` in a model name stays a `$`.
RC_PARAMS = {
    "svg.fonttype": "none",
    "svg.hashsalt": "bench-report",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.unicode_minus": True,
    "path.simplify": True,
}
_METADATA_OFF = {"Creator": None, "Date": None, "Format": None, "Type": None}
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PATH_TOKEN = re.compile(r"[A-Za-z]|-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_LOCAL_REFERENCE = re.compile(r"url\(#([^)]+)\)")
_ROUNDED_ATTRIBUTES = ("x", "y", "width", "height", "x1", "y1", "x2", "y2", "cx", "cy", "r")


@dataclass(frozen=True)
class Plot:
    """A rendered picture for the report.

    svg: one <svg> element, ready to be placed in an HTML page as it is (no prolog, no external
    reference). caption: one line of plain text saying what the picture shows and what it leaves out;
    escape it like any other text when writing HTML. marks: points, bars or cells drawn (0 when there
    was nothing to draw, and the caption says why).
    """

    kind: str
    svg: str
    caption: str
    marks: int


class Canvas:
    """One matplotlib figure being drawn, with the ids of its marks and the tooltips of its labels."""

    def __init__(self, figure) -> None:
        self.figure = figure
        self.marks = 0
        self.tooltips: dict[str, str] = {}
        self._labels = 0

    def mark(self, kind: str, tooltip: str | None = None) -> str:
        """An id for one counted mark (a point, a bar, a cell); its SVG group gets class "mark <kind>"."""
        gid = f"mark-{kind}-{self.marks}"
        self.marks += 1
        if tooltip:
            self.tooltips[gid] = tooltip
        return gid

    def label(self, tooltip: str) -> str:
        """An id for a text whose full wording is shown as a tooltip (a shortened model name)."""
        gid = f"label-{self._labels}"
        self._labels += 1
        self.tooltips[gid] = tooltip
        return gid

    def to_plot(self, kind: str, caption: str) -> Plot:
        buffer = io.StringIO()
        self.figure.savefig(buffer, format="svg", metadata=_METADATA_OFF)
        svg = inline_svg(buffer.getvalue(), kind, self.tooltips, caption)
        return Plot(kind=kind, svg=svg, caption=caption, marks=self.marks)


@contextmanager
def canvas(width_in: float, height_in: float) -> Iterator[Canvas]:
    """A fresh figure under the shared settings; matplotlib is imported here so the CLI starts fast."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC_PARAMS):
        figure = Figure(figsize=(width_in, height_in), layout="constrained")
        FigureCanvasAgg(figure)  # gives text measurement for label placement
        yield Canvas(figure)


def empty_plot(kind: str, caption: str, message: str) -> Plot:
    """A small picture that says why nothing is drawn."""
    with canvas(4.0, 0.6) as drawing:
        drawing.figure.text(0.5, 0.5, message, ha="center", va="center", color="#555555")
        return drawing.to_plot(kind, caption)


def inline_svg(raw: str, kind: str, tooltips: dict[str, str], caption: str) -> str:
    """matplotlib's SVG document rewritten as one self-contained element for an HTML page."""
    root = ET.fromstring(raw)
    for element in root.iter():
        element.tag = _local(element.tag)
        for name in [n for n in element.attrib if n.startswith("{")]:
            # xlink:href becomes the plain href every current browser reads in inline SVG.
            element.set(_local(name), element.attrib.pop(name))
    _drop_children(root, {"metadata"})
    for defs in root.iter("defs"):
        _drop_children(defs, {"style"})
    _tidy(root)
    _add_tooltips(root, tooltips)
    digest = hashlib.sha1(ET.tostring(root)).hexdigest()[:8]
    _rename_ids(root, f"{kind}-{digest}")
    _unwrap_plain_groups(root)

    root.attrib.pop("version", None)
    root.set("xmlns", SVG_NAMESPACE)
    root.set("class", f"plot plot-{kind}")
    root.set("role", "img")
    root.set("aria-label", caption)
    root.set("style", f"max-width:100%;height:auto;font-family:{FONT_FAMILY};"
                      "stroke-linejoin:round;stroke-linecap:butt")
    return ET.tostring(root, encoding="unicode")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _drop_children(parent: ET.Element, tags: set[str]) -> None:
    for child in [c for c in parent if c.tag in tags]:
        parent.remove(child)


def _tidy(root: ET.Element) -> None:
    """Round coordinates, drop per-text font lists and no-op rotations, drop layout whitespace."""
    for element in root.iter():
        if element.tag not in ("text", "title", "tspan"):
            element.text = None if element.text is None or not element.text.strip() else element.text
        element.tail = None
        if "d" in element.attrib:
            element.set("d", _compact_path(element.get("d")))
        for name in _ROUNDED_ATTRIBUTES:
            if name in element.attrib:
                element.set(name, _round_numbers(element.get(name), 2))
        if "style" in element.attrib:
            parts = [part.strip() for part in element.get("style").split(";")]
            # the font list is set once on the root; every text repeating it is most of a plot's bytes
            element.set("style", ";".join(part.replace(": ", ":") for part in parts
                                          if part and not part.startswith("font-family")))
        if element.tag == "text":
            if re.fullmatch(r"rotate\(-?0 [^)]*\)", element.get("transform", "")):
                del element.attrib["transform"]
            elif "transform" in element.attrib:
                element.set("transform", _round_numbers(element.get("transform"), 2))


def _unwrap_plain_groups(parent: ET.Element) -> None:
    """Replace each <g> without attributes by its children, and drop empty <defs>: neither changes the picture."""
    for child in list(parent):
        _unwrap_plain_groups(child)
    position = 0
    while position < len(parent):
        child = parent[position]
        if (child.tag == "g" and not child.attrib) or (child.tag == "defs" and len(child) == 0):
            parent.remove(child)
            for offset, grandchild in enumerate(list(child)):
                parent.insert(position + offset, grandchild)
            continue
        position += 1


def _compact_path(d: str) -> str:
    """`M 46.145455 192.24 \\nL 113.781818 192.24` -> `M46.1 192.2L113.8 192.2`."""
    parts: list[str] = []
    for token in _PATH_TOKEN.findall(d):
        if token.isalpha():
            parts.append(token)
        else:
            number = _format_number(float(token), 1)
            parts.append(number if not parts or parts[-1].isalpha() else " " + number)
    return "".join(parts)


def _round_numbers(text: str, digits: int) -> str:
    return _NUMBER.sub(lambda m: _format_number(float(m.group()), digits), text)


def _format_number(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _add_tooltips(root: ET.Element, tooltips: dict[str, str]) -> None:
    for element in root.iter("g"):
        tip = tooltips.get(element.get("id", ""))
        if tip is not None:
            title = ET.Element("title")
            title.text = tip
            element.insert(0, title)


def _rename_ids(root: ET.Element, prefix: str) -> None:
    """Keep only ids that are referred to or name a mark or label; prefix them so plots never clash."""
    referenced = set()
    for element in root.iter():
        for name, value in element.attrib.items():
            if name == "href" and value.startswith("#"):
                referenced.add(value[1:])
            referenced.update(_LOCAL_REFERENCE.findall(value))
    for element in root.iter():
        old = element.get("id")
        if old is None:
            continue
        if old.startswith("mark-"):
            element.set("class", "mark " + old.split("-")[1])
        if old in referenced or old.startswith(("mark-", "label-")):
            element.set("id", f"{prefix}-{old}")
        else:
            del element.attrib["id"]
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            if name == "href" and value.startswith("#"):
                element.set(name, f"#{prefix}-{value[1:]}")
            elif "url(#" in value:
                element.set(name, _LOCAL_REFERENCE.sub(lambda m: f"url(#{prefix}-{m.group(1)})", value))
