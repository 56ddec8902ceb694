// What a reader cannot see in full: returns one line per problem ([] when all is visible).
// wide: on a wide screen even a table's scroll box must not have to scroll.
(wide) => {
  const problems = [];
  const name = (el) => {
    const id = el.closest("[data-testid]");
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return `<${el.tagName.toLowerCase()} class="${el.className.baseVal ?? el.className}">` +
      (id ? ` in [data-testid=${id.dataset.testid}]` : "") + ` "${text}"`;
  };
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) {
    problems.push(`the page is ${root.scrollWidth}px wide in a ${root.clientWidth}px window`);
  }
  for (const el of document.body.querySelectorAll("*")) {
    if (el instanceof SVGElement || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.display === "inline" || el.clientWidth === 0) continue;
    const over = el.scrollWidth - el.clientWidth;
    if (over <= 1) continue;
    if (style.overflowX === "visible") {
      problems.push(`${name(el)} spills ${over}px out of its box`);
    } else if (style.overflowX === "hidden" || style.overflowX === "clip") {
      problems.push(`${name(el)} is cut by ${over}px`);
    } else if (!el.matches(".scroll, .photos") || (wide && el.matches(".scroll"))) {
      // A table's scroll box may scroll on a phone; at 1280 px its table must fit.
      problems.push(`${name(el)} scrolls sideways by ${over}px`);
    }
  }
  for (const svg of document.querySelectorAll("svg[viewBox]")) {
    const box = svg.viewBox.baseVal;
    for (const text of svg.querySelectorAll("text")) {
      const b = text.getBBox();
      if (b.x < box.x - 0.5 || b.y < box.y - 0.5 ||
          b.x + b.width > box.x + box.width + 0.5 || b.y + b.height > box.y + box.height + 0.5) {
        problems.push(`chart label "${text.textContent}" lies outside the chart`);
      }
    }
  }
  return problems;
}
