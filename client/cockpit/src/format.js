// Small formatting helpers shared by the views.

export function bytes(n) {
    const value = Number(n || 0);
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let v = value;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i += 1;
    }
    return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function mib(n) {
    const v = Number(n || 0);
    return v >= 1024 && v % 1024 === 0 ? `${v / 1024} GiB` : `${v} MiB`;
}

export function dateUsec(usec) {
    if (!usec)
        return "";
    return new Date(Number(usec) / 1000).toLocaleString();
}

export function dateSec(sec) {
    if (!sec)
        return "";
    return new Date(Number(sec) * 1000).toLocaleString();
}

// The colour of a VM state, also the card's class: running green, paused amber, stopped grey, trouble red.
export function stateColor(state) {
    switch (state) {
    case "running": return "green";
    case "paused": case "suspended": case "shutting-down": case "starting": return "orange";
    case "stopped": case "shutoff": return "grey";
    default: return "red";
    }
}

// What is left until a unix time, as "3h 12m", "2d 4h", "59m", "under a minute"; "" when it has passed.
export function remaining(untilSec, nowMs = Date.now()) {
    const left = Math.floor(Number(untilSec) - nowMs / 1000);
    if (left <= 0)
        return "";
    const days = Math.floor(left / 86400);
    const hours = Math.floor((left % 86400) / 3600);
    const minutes = Math.floor((left % 3600) / 60);
    if (days)
        return hours ? `${days}d ${hours}h` : `${days}d`;
    if (hours)
        return minutes ? `${hours}h ${minutes}m` : `${hours}h`;
    return minutes ? `${minutes}m` : "under a minute";
}
