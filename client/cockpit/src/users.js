// Users and groups, from /etc/passwd and /etc/group read through the bridge as the logged-in user (both are
// readable by everyone): uid -> name for display, and the members of Hangar's groups for the quota table.
import { useEffect, useState } from "react";

/* global cockpit */

function readLines(path) {
    const file = cockpit.file(path);
    return file.read()
            .then(text => (text || "").split("\n").filter(Boolean).map(line => line.split(":")))
            .finally(() => file.close());
}

export function useUserNames() {
    const [names, setNames] = useState({});
    useEffect(() => {
        readLines("/etc/passwd").then(rows => {
            const map = {};
            for (const [name, , uid] of rows)
                map[Number(uid)] = name;
            setNames(map);
        }).catch(() => {});
    }, []);
    return names;
}

// [{name, uid, groups: ["hangar"|"hangar-admin"]}] for every member of the two groups (supplementary or primary).
export function useHangarUsers() {
    const [users, setUsers] = useState([]);
    useEffect(() => {
        Promise.all([readLines("/etc/passwd"), readLines("/etc/group")]).then(([passwd, group]) => {
            const byName = new Map();
            const add = (name, uid, g) => {
                const entry = byName.get(name) || { name, uid, groups: [] };
                if (!entry.groups.includes(g))
                    entry.groups.push(g);
                byName.set(name, entry);
            };
            const uidOf = Object.fromEntries(passwd.map(([name, , uid]) => [name, Number(uid)]));
            for (const [g, , gid, members] of group) {
                if (g !== "hangar" && g !== "hangar-admin")
                    continue;
                for (const m of (members || "").split(",").filter(Boolean))
                    if (m in uidOf)
                        add(m, uidOf[m], g);
                for (const [name, , uid, pgid] of passwd)
                    if (pgid === gid)
                        add(name, Number(uid), g);
            }
            setUsers([...byName.values()].sort((a, b) => a.name.localeCompare(b.name)));
        }).catch(() => {});
    }, []);
    return users;
}
