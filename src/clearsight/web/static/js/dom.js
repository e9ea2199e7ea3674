// Building DOM nodes without innerHTML: names come from devices, and none of them may become markup.

/**
 * Create an element. `props`: `class`, `text`, `dataset`, event handlers as `onclick` etc., and any other
 * key as an attribute (true → present and empty, false/null/undefined → absent).
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'text') element.textContent = String(value);
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

/** Append children: nodes, strings (as text), arrays of either; null and false are skipped. */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Remove every child of `element`. */
export function clear(element) {
  element.replaceChildren();
  return element;
}
