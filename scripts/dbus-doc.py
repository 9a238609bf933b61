#!/usr/bin/env python3
"""The reference of Hangar's D-Bus API, generated from the comments in dbus/*.xml (issue 15, item 7).

sd-bus carries no free text into runtime introspection, so, as systemd does with org.freedesktop.systemd1(5), the
XML comments are rendered into an org.hangar.Hangar1(5) man page (scdoc source) and docs/api.md. The comments stay
the single source: a comment right before a <method>, <signal> or <property> documents it (a property without one
shares the comment of the one before it that names it), the comment before <node> documents the interface.

Every interface file in the directory is read, in the order Manager, VM, Image, Job, then any other by name, so a
new interface or member is documented without a change here.

Usage:
  dbus-doc.py --markdown OUT.md DBUS_DIR
  dbus-doc.py --scdoc OUT.scd DBUS_DIR
  dbus-doc.py --keys DBUS_DIR          # JSON: {"Interface.Method": {"arg": {"key": "type", ...}}, "*": {...}}
"""

import argparse
import json
import pathlib
import re
import sys
import textwrap
import xml.etree.ElementTree as ET

ORDER = ["Manager", "VM", "Image", "Job"]
# The D-Bus types the comments use for a{sv} keys.
TYPE = r"(?:aa\{sv\}|a\{sv\}|a\([a-z]+\)|as|ao|at|au|ay|[bsutdxiynqoh])"
KEY = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*"
# "  options  force  b  text", "              memory_mib   t  text", "  disk_read_bytes_per_sec, disk_write...  d"
KEY_LINE = re.compile(r"^\s+(?:(?P<arg>[a-z_]+)\s{2,})?(?P<keys>" + KEY + r"(?:,\s*" + KEY + r")*)\s+(?P<type>" + TYPE +
                      r")(?:\s{2,}|:|$)(?P<text>.*)$")
# "limits  max_vms u, max_running u, max_vcpus u  set that limit": key and type pairs inside a line.
KEY_PAIR = re.compile(r"(?<![\w.])(" + KEY + r") (" + TYPE + r")(?=[,;)]|\s\(|\s{2}|$)")


def read_interfaces(directory):
    files = sorted(pathlib.Path(directory).glob("*.xml"))

    def rank(path):
        suffix = path.stem.rsplit(".", 1)[-1]
        return (ORDER.index(suffix) if suffix in ORDER else len(ORDER), path.name)

    return [parse_file(path) for path in sorted(files, key=rank)]


def dedent(comment):
    return textwrap.dedent(comment.strip("\n")).rstrip()


def parse_file(path):
    text = path.read_text(encoding="utf-8")
    # The comment before <node> is outside the root element, where ElementTree keeps none.
    head = text[: text.index("<node")]
    header = re.findall(r"<!--(.*?)-->", head, re.S)
    root = ET.fromstring(text, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    interfaces = []
    for iface in root.iter("interface"):
        members = []
        comment = None
        for child in iface:
            if child.tag is ET.Comment:
                comment = dedent(child.text or "")
                continue
            if child.tag not in ("method", "signal", "property"):
                continue
            name = child.get("name")
            doc = comment
            if doc is None and members and re.match(r"^[A-Za-z, /]*\b" + re.escape(name) + r"\b", members[-1]["doc"]):
                doc = members[-1]["doc"]  # "ProvisionedUsers, ProvisionedPackages: ..." documents both
            members.append({"kind": child.tag, "name": name, "doc": doc or "", "element": child})
            comment = None
        interfaces.append({"name": iface.get("name"), "file": path.name,
                           "doc": dedent(header[-1]) if header else "", "members": members})
    return interfaces


def signature(member):
    element = member["element"]
    if member["kind"] == "property":
        return f'{member["name"]}  {element.get("type")}  {element.get("access")}'
    args = []
    for arg in element.findall("arg"):
        direction = arg.get("direction", "in" if member["kind"] == "method" else "")
        args.append(" ".join(part for part in (direction if member["kind"] == "method" else "", arg.get("type"),
                                                 arg.get("name")) if part))
    return f'{member["name"]}({", ".join(args)})'


def summary_body(member):
    """The comment without its leading "Name:" (the heading says it)."""
    doc = member["doc"]
    return re.sub(r"^[A-Za-z, /]+:\s*", "", doc, count=1) if doc.startswith(member["name"]) else doc


def documented_keys(doc):
    """{key: type} for every a{sv} key the comment documents, by the argument it belongs to ("" when not said)."""
    keys = {}
    current = ""
    for line in doc.splitlines():
        match = KEY_LINE.match(line)
        if match:
            if match.group("arg"):
                current = match.group("arg")
            for key in re.split(r",\s*", match.group("keys")):
                keys.setdefault(current, {})[key] = match.group("type")
            line = match.group("text")  # nested keys: "users  aa{sv}  at most 32, each: name s (required), ..."
        for key, type_ in KEY_PAIR.findall(line):
            keys.setdefault(current, {})[key] = type_
    return keys


def key_rows(doc):
    """(key, type, description) for the key lines of a comment, continuation lines joined."""
    rows = []
    for line in doc.splitlines():
        match = KEY_LINE.match(line)
        if match:
            rows.append([match.group("keys"), match.group("type"), match.group("text").strip()])
        elif rows and rows[-1] and line.startswith(" " * 8) and line.strip():
            rows[-1][2] = (rows[-1][2] + " " + line.strip()).strip()
        elif line.strip() and not line.startswith(" "):
            rows.append(None)  # a paragraph ends the table
    return [row for row in rows if row]


def errors(interfaces):
    found = []
    for ifaces in interfaces:
        for iface in ifaces:
            for name, text in re.findall(r"(org\.hangar\.Hangar1\.Error\.\w+)\s+(.*)", iface["doc"]):
                if name not in [n for n, _ in found]:
                    found.append((name, text.strip()))
    return found


def all_keys(interfaces):
    """For the test that the daemon accepts no undocumented key: every method with its in-arguments and the keys
    its comment documents (all dictionaries of the method together, nested ones too), and under "*" the keys an
    interface's header documents for every method (auth.no_user_interaction)."""
    out = {"*": {}}
    for ifaces in interfaces:
        for iface in ifaces:
            for keys in documented_keys(iface["doc"]).values():
                out["*"].update(keys)
            for member in iface["members"]:
                if member["kind"] != "method":
                    continue
                keys = {}
                for by_arg in documented_keys(member["doc"]).values():
                    keys.update(by_arg)
                args = [[arg.get("type"), arg.get("name")] for arg in member["element"].findall("arg")
                        if arg.get("direction", "in") == "in"]
                out[iface["name"] + "." + member["name"]] = {"in": args, "keys": keys}
    return out


KINDS = [("method", "Methods"), ("signal", "Signals"), ("property", "Properties")]


def markdown_cell(text):
    return text.replace("|", "&#124;").replace("*", "\\*").replace("_", "\\_")


def markdown(interfaces):
    out = ["# The org.hangar.Hangar1 D-Bus API", "",
           "<!-- Generated by scripts/dbus-doc.py from the comments in dbus/*.xml: edit those, then run",
           "     `cmake --build build --target hangar_api_doc` (ctest api_doc fails while this file is stale). -->", "",
           "The reference of hangard's D-Bus interfaces, made from the comments of their introspection XML "
           "(installed to `/usr/share/dbus-1/interfaces/`), which `busctl introspect` cannot show. The same text is "
           "the man page `org.hangar.Hangar1(5)`. How to use the API from a program: see the README.", ""]
    out += ["## Errors", "", "| error | meaning |", "| --- | --- |"]
    out += [f"| `{name}` | {text} |" for name, text in errors(interfaces)]
    out.append("")
    for ifaces in interfaces:
        for iface in ifaces:
            out += [f'## {iface["name"]}', "", f'From `dbus/{iface["file"]}`.', "", "```", iface["doc"], "```", ""]
            for kind, title in KINDS:
                members = [m for m in iface["members"] if m["kind"] == kind]
                if not members:
                    continue
                out += [f"### {title}", ""]
                for member in members:
                    out += [f'#### {iface["name"].rsplit(".", 1)[-1]}.{member["name"]}', "",
                            f"`{signature(member)}`", ""]
                    rows = key_rows(member["doc"]) if kind != "property" else []
                    if rows:
                        out += ["| key | type | meaning |", "| --- | --- | --- |"]
                        out += [f"| `{k}` | `{t}` | {markdown_cell(d)} |" for k, t, d in rows]
                        out.append("")
                    body = summary_body(member)
                    if body:
                        out += ["```", body, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def scdoc_escape(text):
    # Outside literal blocks scdoc treats * and _ as emphasis and \ as an escape.
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def scdoc(interfaces):
    out = ["org.hangar.Hangar1(5)", "", "# NAME", "",
           "org.hangar.Hangar1 - the D-Bus API of hangard(8)", "", "# DESCRIPTION", "",
           "hangard(8) serves the bus name *org.hangar.Hangar1* on the system bus. This page is generated from the "
           "comments in the interfaces' introspection XML (installed to /usr/share/dbus-1/interfaces/), which "
           "*busctl introspect* does not show; it is the same text as docs/api.md. Signatures are in D-Bus type "
           "notation; options dictionaries (a{sv}) are checked strictly: an unknown key or a value of another "
           "type is *org.hangar.Hangar1.Error.InvalidArgument*.", "", "# ERRORS", ""]
    for name, text in errors(interfaces):
        out += [f"*{name}*", f"\t{scdoc_escape(text)}", ""]
    for ifaces in interfaces:
        for iface in ifaces:
            out += [f'# INTERFACE {iface["name"]}', "", "```", iface["doc"], "```", ""]
            for kind, title in KINDS:
                members = [m for m in iface["members"] if m["kind"] == kind]
                if not members:
                    continue
                out += [f"## {title.upper()}", ""]
                for member in members:
                    out += [f"*{scdoc_escape(signature(member))}*", ""]
                    body = summary_body(member)
                    if body:
                        out += ["```", body, "```", ""]
    out += ["# SEE ALSO", "", "*hangard*(8), *hangarctl*(1), *busctl*(1), *gdbus*(1)", ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", metavar="OUT")
    group.add_argument("--scdoc", metavar="OUT")
    group.add_argument("--keys", action="store_true")
    parser.add_argument("dbus_dir")
    args = parser.parse_args()
    interfaces = read_interfaces(args.dbus_dir)
    if not interfaces:
        sys.exit(f"no interface XML in {args.dbus_dir}")
    if args.keys:
        json.dump(all_keys(interfaces), sys.stdout, indent=1, sort_keys=True)
        print()
        return
    text = markdown(interfaces) if args.markdown else scdoc(interfaces)
    target = pathlib.Path(args.markdown or args.scdoc)
    # Only rewritten when it changes, so a build does not touch a committed file for nothing.
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
