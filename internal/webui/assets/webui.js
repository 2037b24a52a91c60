// Keyboard shortcuts for the held messages page (progressive enhancement:
// every action is also a plain form button).
//   j / k  move to the next / previous message
//   x      select or unselect the current message
//   a r d  approve / reject / discard the selected messages, or the current one
(function () {
  "use strict";
  var form = document.getElementById("held-form");
  if (!form) { return; }
  var rows = Array.prototype.slice.call(form.querySelectorAll("tr[data-id]"));
  if (rows.length === 0) { return; }
  var help = document.getElementById("keys-help");
  if (help) { help.hidden = false; }
  var cur = -1;

  function move(i) {
    if (i < 0 || i >= rows.length) { return; }
    if (cur >= 0) { rows[cur].classList.remove("current"); rows[cur].removeAttribute("aria-current"); }
    cur = i;
    rows[cur].classList.add("current");
    rows[cur].setAttribute("aria-current", "true");
    var box = rows[cur].querySelector("input[type=checkbox]");
    if (box) { box.focus(); }
    rows[cur].scrollIntoView({block: "nearest"});
  }

  function decide(key) {
    var action = {a: "approve", r: "reject", d: "discard"}[key];
    var selected = form.querySelectorAll("input[name=ids]:checked");
    if (selected.length > 0) {
      form.querySelector("#held-action").value = action;
      if (action === "reject" && !form.querySelector("#held-reason").value) {
        form.querySelector("#held-reason").focus();
        return;
      }
      form.querySelector("#held-bulk").click();
      return;
    }
    if (cur < 0) { return; }
    var btn = rows[cur].querySelector("button[data-key=" + key + "]");
    if (btn) { btn.click(); }
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target;
    if (t && (t.tagName === "INPUT" && t.type !== "checkbox" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) { return; }
    switch (e.key) {
    case "j": move(cur + 1); break;
    case "k": move(cur < 0 ? 0 : cur - 1); break;
    case "x":
      if (cur >= 0) {
        var box = rows[cur].querySelector("input[type=checkbox]");
        if (box) { box.checked = !box.checked; }
      }
      break;
    case "a": case "r": case "d": decide(e.key); break;
    default: return;
    }
    e.preventDefault();
  });
})();
