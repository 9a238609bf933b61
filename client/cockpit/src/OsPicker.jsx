// The images offered as the operating systems to start a VM from: one tile per ready image with its OS's name and
// version as libosinfo gives it (Image.OSName, "Debian 11"), falling back to the image's own name when the image has
// no OS; the image's name, format and size below. Picking an image with an OS leaves vCPUs, memory and disk to the
// daemon, which takes that OS's recommended figures for what the create call leaves out (docs/images.md).
import React from "react";

import { bytes } from "./format.js";

// What the tile of an image says first: its OS, or its own name when it has none.
export function osTitle(image) {
    return image.OSName || image.Name;
}

export function OsPicker({ images, value, onChange }) {
    const tile = (key, title, lines, os) => (
        <button type="button" key={key} className={`hangar-os${value === key ? " hangar-os-selected" : ""}`}
                data-image={key} data-os={os || ""} aria-pressed={value === key} onClick={() => onChange(key)}>
            <span className="hangar-os-title">{title}</span>
            {lines.filter(Boolean).map(line => <span key={line} className="hangar-muted">{line}</span>)}
        </button>
    );
    const sorted = [...images].sort((a, b) => osTitle(a).localeCompare(osTitle(b), undefined, { numeric: true }));
    return (
        <div className="hangar-os-list" id="create-image" role="group" aria-label="Operating system (image)">
            {sorted.map(i => tile(i.Name, osTitle(i), [
                i.OSName ? i.Name : null,
                `${i.Format}${i.VirtualSizeBytes ? `, ${bytes(i.VirtualSizeBytes)}` : ""}`,
                i.Description,
            ], i.OS))}
            {tile("", "Blank disk", ["no image"], "")}
        </div>
    );
}
