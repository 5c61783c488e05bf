// The moderators' workspace: keyboard shortcuts on the queue pages. Every action is a plain
// form button as well, so the page works the same without this script.
(() => {
  const items = Array.from(document.querySelectorAll("ol.items > li"));
  const help = document.getElementById("help");
  let current = -1;

  const focusItem = (index) => {
    if (!items.length) return;
    current = Math.max(0, Math.min(items.length - 1, index));
    for (const [i, item] of items.entries()) item.classList.toggle("current", i === current);
    items[current].scrollIntoView({ block: "nearest" });
  };

  // The first of the actions the current comment offers: "a" restores from the spam folder.
  const press = (...actions) => {
    if (current < 0) return;
    for (const action of actions) {
      const button = items[current].querySelector(`button[data-action="${action}"]`);
      if (button) {
        button.click();
        return;
      }
    }
  };

  const keys = {
    j: () => focusItem(current + 1),
    k: () => focusItem(current - 1),
    a: () => press("approve", "ham"),
    r: () => press("reject"),
    s: () => press("spam"),
    x: () => {
      if (current < 0) return;
      const box = items[current].querySelector('input[type="checkbox"]');
      if (box) box.checked = !box.checked;
    },
    "?": () => {
      if (!help) return;
      if (help.open) help.close();
      else help.showModal();
    },
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLElement && target.closest("input, textarea, select")) return;
    const handler = keys[event.key];
    if (!handler) return;
    event.preventDefault();
    handler();
  });

  if (items.length) focusItem(0);
})();
