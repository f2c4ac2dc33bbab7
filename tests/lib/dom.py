"""dom.py - questions about a page's DOM as Chromium dumped it (browser.sh).

    python3 dom.py FILE QUERY [EXPECT]

QUERY is a small CSS-like selector: steps separated by spaces (a
descendant), each `tag`, `.class`, `#id`, `[attr]`, `[attr=value]` or `[attr^=prefix]`
combined (`svg.tl rect.span.black`). It prints how many elements match;
with EXPECT (N, >N, <N) it exits 1 when the count is not so. With
`--text` it prints the matches' text, one a line; with `--attr NAME` the
values of that attribute.
"""
import re
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids = tag, attrs, parent, []


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, {k: (v or "") for k, v in attrs}, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.kids.append(Node(tag, {k: (v or "") for k, v in attrs}, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.kids.append(data)


def text(n):
    return "".join(k if isinstance(k, str) else text(k) for k in n.kids)


STEP = re.compile(r"([a-zA-Z][\w-]*)|\.([\w-]+)|#([\w-]+)|\[([\w-]+)(\^?=)?([^\]]*)\]")


def parse_step(s):
    want = {"tag": None, "cls": [], "id": None, "attrs": []}
    for tag, cls, id_, attr, op, val in STEP.findall(s):
        if tag:
            want["tag"] = tag.lower()
        elif cls:
            want["cls"].append(cls)
        elif id_:
            want["id"] = id_
        else:
            want["attrs"].append((attr, op or None, val.strip("'\"")))
    return want


def matches(n, w):
    if w["tag"] and n.tag != w["tag"]:
        return False
    classes = n.attrs.get("class", "").split()
    if any(c not in classes for c in w["cls"]):
        return False
    if w["id"] and n.attrs.get("id") != w["id"]:
        return False
    for a, op, v in w["attrs"]:
        if a not in n.attrs:
            return False
        if op == "=" and n.attrs[a] != v:
            return False
        if op == "^=" and not n.attrs[a].startswith(v):
            return False
    return True


def descendants(n):
    for k in n.kids:
        if isinstance(k, str):
            continue
        yield k
        yield from descendants(k)


def select(root, query):
    found = [root]
    for step in query.split():
        w = parse_step(step)
        seen, nxt = set(), []
        for f in found:
            for d in descendants(f):
                if id(d) not in seen and matches(d, w):
                    seen.add(id(d))
                    nxt.append(d)
        found = nxt
    return found


def main(argv):
    show_text = "--text" in argv
    attr = None
    if "--attr" in argv:
        i = argv.index("--attr")
        attr = argv[i + 1]
        del argv[i:i + 2]
    argv = [a for a in argv if a != "--text"]
    t = Tree()
    t.feed(open(argv[1], encoding="utf-8").read())
    found = select(t.root, argv[2])
    if show_text or attr:
        for f in found:
            print(f.attrs.get(attr, "") if attr else " ".join(text(f).split()))
        return 0
    print(len(found))
    if len(argv) > 3:
        e = argv[3]
        n = int(e.lstrip("<>"))
        ok = len(found) > n if e[0] == ">" else len(found) < n if e[0] == "<" else len(found) == n
        if not ok:
            print("%s: %d matches, expected %s" % (argv[2], len(found), e), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
