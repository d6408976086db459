// The text a person cannot read in full (tests/web/test_layout.py evaluates this in the page).
//
// Every rendered word's ink, per line it spans, is measured against the viewport (sideways
// only unless `kiosk`: documents may scroll down) and against each ancestor that clips it
// (overflow other than visible, on that axis). A word reports the innermost box it leaves, by
// how much; elements whose ellipsis hides text report too. Text inside `skip` is left out.
//
// Ink, not the text range's box: a range's box reaches from the font's ascent to its descent,
// and its top (above capitals and ascenders) is empty; the font's own measure of the word
// (canvas measureText) says where its glyphs are.
// Tolerance 1 px: sub-pixel layout and rounding. The burn-in drift (`.shift`, a translation of
// at most .25vw/.3vh, by design) is taken out: words are compared with boxes as if the board
// were at rest, so a result does not depend on the moment it is taken.
({kiosk, skip}) => {
  const TOLERANCE = 1;
  const root = document.documentElement;
  const rendered = (el) => el.checkVisibility({opacityProperty: true, visibilityProperty: true});
  const label = (el) => el ? el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      [...el.classList].map(c => '.' + c).join('') : 'viewport';
  const shorten = (text) => text.trim().replace(/\s+/g, ' ').slice(0, 40);

  const drifts = new Map();
  const drift = (el) => {  // the summed translation of el and its ancestors
    if (!el) return [0, 0];
    if (!drifts.has(el)) {
      const [x, y] = drift(el.parentElement);
      const t = getComputedStyle(el).transform;
      const m = t && t !== 'none' ? new DOMMatrixReadOnly(t) : null;
      drifts.set(el, m ? [x + m.m41, y + m.m42] : [x, y]);
    }
    return drifts.get(el);
  };

  // The ancestors whose overflow clips el, innermost first, with their padding boxes:
  // out-of-flow boxes escape the ancestors between them and their containing block. The
  // root's overflow is the viewport's, measured on its own.
  const containsAll = (s) => s.transform !== 'none' || s.filter !== 'none' ||
      s.perspective !== 'none' || /paint|layout|strict|content/.test(s.contain);
  const flow = (s) => s.position === 'absolute' || s.position === 'fixed' ? s.position : 'flow';
  const clippers = (el) => {
    const found = [];
    let needs = flow(getComputedStyle(el));
    for (let a = el.parentElement; a && a !== root; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (!(needs === 'flow' || containsAll(s) ||
            (needs === 'absolute' && s.position !== 'static'))) continue;
      const x = s.overflowX !== 'visible', y = s.overflowY !== 'visible';
      if (x || y) {
        const r = a.getBoundingClientRect();
        const left = r.left + a.clientLeft, top = r.top + a.clientTop;
        found.push({el: a, x, y, left, top, right: left + a.clientWidth,
                    bottom: top + a.clientHeight});
      }
      needs = flow(s);
    }
    return found;
  };

  const pen = document.createElement('canvas').getContext('2d');
  const inkOf = (node) => {  // one box per word and line
    const s = getComputedStyle(node.parentElement);
    pen.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    pen.letterSpacing = s.letterSpacing === 'normal' ? '0px' : s.letterSpacing;
    const range = document.createRange();
    const inks = [];
    for (const m of node.data.matchAll(/\S+/g)) {
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const rects = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
      const ink = pen.measureText(m[0]);
      // Sideways the glyphs' own extent when the word is on one line as measured (else the
      // range's box); a word broken over lines: each part at the word's height.
      const whole = rects.length === 1 && Math.abs(rects[0].width - ink.width) <= 1;
      for (const r of rects) {
        inks.push({top: r.top + ink.fontBoundingBoxAscent - ink.actualBoundingBoxAscent,
                   bottom: r.top + ink.fontBoundingBoxAscent + ink.actualBoundingBoxDescent,
                   left: whole ? r.left - ink.actualBoundingBoxLeft : r.left,
                   right: whole ? r.left + ink.actualBoundingBoxRight : r.right});
      }
    }
    return inks;
  };

  const overshoot = (inks, box, [dx, dy]) => {
    let worst = {px: 0, side: ''};
    for (const r of inks) {
      const sides = {right: r.right - dx - box.right, left: box.left - (r.left - dx)};
      if (box.y) Object.assign(sides, {bottom: r.bottom - dy - box.bottom,
                                       top: box.top - (r.top - dy)});
      for (const [side, px] of Object.entries(sides)) if (px > worst.px) worst = {px, side};
    }
    return worst;
  };

  const viewport = {el: null, x: true, y: kiosk, left: 0, top: 0, right: root.clientWidth,
                    bottom: root.clientHeight};
  const offenders = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    const el = node.parentElement;
    if (!node.data.trim() || el.closest(skip) || !rendered(el)) continue;
    const inks = inkOf(node);
    if (!inks.length) continue;
    const [ex, ey] = drift(el);
    for (const box of [...clippers(el), viewport]) {
      const [bx, by] = drift(box.el);
      const worst = overshoot(inks, box, [ex - bx, ey - by]);
      if (worst.px > TOLERANCE) {
        offenders.push(`"${shorten(node.data)}" leaves ${label(box.el)} by ` +
                       `${Math.round(worst.px)}px (${worst.side})`);
        break;  // the innermost box it leaves says where to fix it
      }
    }
  }
  for (const el of document.body.querySelectorAll('*')) {
    const s = getComputedStyle(el);
    if (s.textOverflow === 'ellipsis' && s.overflowX !== 'visible' && !el.closest(skip) &&
        rendered(el) && el.scrollWidth > el.clientWidth) {
      offenders.push(`"${shorten(el.textContent)}" ends in an ellipsis in ${label(el)} ` +
                     `(${el.scrollWidth - el.clientWidth}px hidden)`);
    }
  }
  return offenders;
}
