// Line icons drawn as inline SVG (24×24, stroked with the current colour); nothing is loaded from elsewhere.

const SVG_NS = 'http://www.w3.org/2000/svg'; // the SVG namespace name: an identifier, never fetched

const CIRCLE = (cx, cy, r) => `M${cx - r} ${cy}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;

const PATHS = {
  alert: 'M12 3.5 21.5 20h-19z M12 10v4.5 M12 17.2v.1',
  arrow: 'M12 19V5 M6 11l6-6 6 6',
  camera: 'M3 7.5h12v9H3z M15 10.5l6-3v9l-6-3',
  chevron: 'M9 6l6 6-6 6',
  close: 'M6 6l12 12 M18 6 6 18',
  device: 'M3 5.5h18v5H3z M3 13.5h18v5H3z M7 8h.01 M7 16h.01 M11 8h6 M11 16h6',
  dome: 'M4 6h16v3H4z M6.5 9a5.5 5.5 0 0 0 11 0 M12 12.5v.01',
  download: 'M12 4v11 M7 10.5l5 5 5-5 M5 20h14',
  logout: 'M14 4h5v16h-5 M10 8l-4 4 4 4 M6 12h10',
  maximize: 'M4 9V4h5 M20 9V4h-5 M4 15v5h5 M20 15v5h-5',
  refresh: 'M19.5 12a7.5 7.5 0 1 1-2.2-5.3 M19.5 4.5v4h-4',
  region: 'M3 6.5h6l2 2h10v10H3z',
  search: `${CIRCLE(11, 11, 6.5)} M20 20l-4.4-4.4`,
  snapshot: `M4 8h3.2l1.8-2.5h6l1.8 2.5H20v11H4z ${CIRCLE(12, 13, 3.6)}`,
  stop: 'M8.5 8.5h7v7h-7z',
  'zoom-in': `${CIRCLE(11, 11, 6.5)} M20 20l-4.4-4.4 M8 11h6 M11 8v6`,
  'zoom-out': `${CIRCLE(11, 11, 6.5)} M20 20l-4.4-4.4 M8 11h6`,
};

function svg(pathData, className) {
  const element = document.createElementNS(SVG_NS, 'svg');
  element.setAttribute('viewBox', '0 0 24 24');
  element.setAttribute('class', className);
  element.setAttribute('aria-hidden', 'true');
  element.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', pathData);
  element.append(path);
  return element;
}

/** An icon by name (see PATHS); extra classes after the name. */
export function icon(name, extraClass = '') {
  const pathData = PATHS[name];
  if (pathData === undefined) throw new Error(`no icon ${name}`);
  return svg(pathData, `icon ${extraClass}`.trim());
}

/** A square grid of `cells` cells (1, 4, 9, 16): the picture on a layout button. */
export function gridIcon(cells) {
  const side = Math.round(Math.sqrt(cells));
  const gap = 1.5;
  const size = (18 - gap * (side - 1)) / side;
  const rects = [];
  for (let row = 0; row < side; row++) {
    for (let col = 0; col < side; col++) {
      const x = 3 + col * (size + gap);
      const y = 3 + row * (size + gap);
      rects.push(`M${x.toFixed(2)} ${y.toFixed(2)}h${size.toFixed(2)}v${size.toFixed(2)}h${(-size).toFixed(2)}z`);
    }
  }
  return svg(rects.join(' '), 'icon');
}

/** The Clearsight mark: a ring and its centre. */
export function brandMark() {
  const element = document.createElementNS(SVG_NS, 'svg');
  element.setAttribute('viewBox', '0 0 32 32');
  element.setAttribute('class', 'brand-mark');
  element.setAttribute('aria-hidden', 'true');
  const ring = document.createElementNS(SVG_NS, 'circle');
  for (const [name, value] of [['cx', 16], ['cy', 16], ['r', 11], ['class', 'brand-mark__ring']]) ring.setAttribute(name, value);
  const eye = document.createElementNS(SVG_NS, 'circle');
  for (const [name, value] of [['cx', 16], ['cy', 16], ['r', 4.2], ['class', 'brand-mark__eye']]) eye.setAttribute(name, value);
  element.append(ring, eye);
  return element;
}
