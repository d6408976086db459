// The contrast (WCAG 2) of each piece of row text on a board (tests/web/test_layout.py
// evaluates this in the page): its colour, with its and its ancestors' opacity, over the
// background behind it (the first opaque one up the tree, the translucent ones above it laid
// on top). Icons (aria-hidden) are left out: they are coloured glyphs beside the words.
() => {
  const rgba = (c) => {
    const v = c.match(/[\d.]+/g).map(Number);
    return v.length > 3 ? v : [...v, 1];
  };
  const over = (top, below) => [0, 1, 2].map(i => top[i] * top[3] + below[i] * (1 - top[3]))
      .concat(1);
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map(v => v / 255)
        .map(v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((below, c) => over(c, below), [255, 255, 255, 1]);
  };
  const opacity = (el) => el ? Number(getComputedStyle(el).opacity) * opacity(el.parentElement)
                             : 1;
  const ownText = (el) => [...el.childNodes].some(n => n.nodeType === 3 && n.data.trim());
  return [...document.querySelectorAll('.row span, .row del')]
    .filter(el => !el.closest('[aria-hidden=true]') && el.checkVisibility() && ownText(el))
    .map(el => {
      const bg = background(el);
      const color = getComputedStyle(el).color;
      const c = rgba(color);
      const dimmed = opacity(el);
      const fg = over([c[0], c[1], c[2], c[3] * dimmed], bg);
      const [light, dark] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      const where = [el.closest('.row'), el].map(e => e.tagName.toLowerCase() +
          [...e.classList].map(c => '.' + c).join('')).join(' ');
      return {text: el.textContent.trim().slice(0, 40), where,
              ratio: (light + 0.05) / (dark + 0.05), color, opacity: dimmed,
              background: `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})`};
    });
}
