// Roll-call: live counts in the bottom bar and the "全部出勤" button. The form works without this
// script (every child starts on a saved or sensible mark, and the counts are rendered by the server).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-rollcall]");
  if (!form) { return; }

  function updateCounts() {
    var counts = {};
    form.querySelectorAll("[data-count]").forEach(function (output) { counts[output.dataset.count] = 0; });
    form.querySelectorAll("input[data-mark]:checked").forEach(function (input) {
      counts[input.value] = (counts[input.value] || 0) + 1;
    });
    form.querySelectorAll("[data-count]").forEach(function (output) {
      output.textContent = counts[output.dataset.count];
    });
  }

  var allPresent = form.querySelector("[data-all-present]");
  if (allPresent) {
    allPresent.hidden = false;
    allPresent.addEventListener("click", function () {
      // Children on leave keep 请假: the teacher changes them one by one if they came after all.
      form.querySelectorAll("[data-child]:not([data-on-leave])").forEach(function (row) {
        var present = row.querySelector("input[data-mark][value=present]");
        if (present && !present.disabled) { present.checked = true; }
      });
      updateCounts();
    });
  }
  form.addEventListener("change", updateCounts);
  updateCounts();
});
