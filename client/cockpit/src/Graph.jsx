// A small line graph of the last samples, drawn as SVG (no charting library needed for two lines).
import React from "react";

export function Graph({ id, title, samples, max, unit }) {
    const width = 300;
    const height = 80;
    const top = Math.max(max || 0, ...samples, 1);
    const points = samples.map((v, i) => {
        const x = samples.length < 2 ? 0 : (i / (samples.length - 1)) * width;
        const y = height - (v / top) * height;
        return `${x.toFixed(1)},${y.toFixed(1)}`;
    }).join(" ");
    const last = samples.length ? samples[samples.length - 1] : null;
    return (
        <figure className="hangar-graph" id={id}>
            <figcaption>{title}: {last === null ? "no samples yet" : `${last.toFixed(1)} ${unit}`}</figcaption>
            <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={title}>
                <rect x="0" y="0" width={width} height={height} className="hangar-graph-bg" />
                {samples.length > 1 && <polyline points={points} className="hangar-graph-line" />}
            </svg>
        </figure>
    );
}
