"""Small helpers over dogtail/pyatspi for hangar-gtk's widgets: tables read as rows of named cells, buttons
pressed through their accessible action (no synthesized mouse), text set through the editable-text interface."""
from harness import wait_for


def find(parent, name, role=None, timeout=10.0):
    def look():
        for node in parent.findChildren(lambda n: n.name == name and (role is None or n.roleName == role)):
            return node
        return None
    return wait_for(f"a {role or 'widget'} named {name!r}", look, timeout=timeout)


def find_showing(parent, name, role=None, timeout=10.0):
    def look():
        for node in parent.findChildren(lambda n: n.name == name and (role is None or n.roleName == role)):
            if node.showing:
                return node
        return None
    return wait_for(f"a showing {role or 'widget'} named {name!r}", look, timeout=timeout)


def press(parent, name, timeout=10.0):
    button = find_showing(parent, name, "push button", timeout)
    wait_for(f"button {name!r} to be enabled", lambda: button.sensitive, timeout=timeout)
    button.doActionNamed("click")
    return button


def rows(table):
    """The table's rows as dicts: column title -> cell text."""
    t = table.queryTable()
    titles = [t.getColumnHeader(c).name if t.getColumnHeader(c) else str(c) for c in range(t.nColumns)]
    out = []
    for r in range(t.nRows):
        out.append({titles[c]: cell_text(t.getAccessibleAt(r, c)) for c in range(t.nColumns)})
    return out


def cell_text(cell):
    """A cell's text; a column of several renderers (picture + text) is a cell whose children carry the text."""
    if cell.name:
        return cell.name
    return " ".join(child.name for child in cell if child.name)


def row(table, name):
    for r in rows(table):
        if r.get("Name") == name:
            return r
    return None


def select(table, name):
    t = table.queryTable()
    for r in range(t.nRows):
        if t.getAccessibleAt(r, 0).name == name:
            t.addRowSelection(r)
            return
    raise AssertionError(f"no row {name!r} in {rows(table)}")
