// Teachers' attendance: typing late minutes selects "late"; choosing another mark clears them.
// The server checks the same (minutes only with "late"), so the form also works without this.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-teacher-attendance]").forEach(function (form) {
    var minutes = form.querySelector("input[name=late_minutes]");
    var late = form.querySelector("input[name=presence][data-late]");
    if (!minutes || !late) { return; }
    minutes.addEventListener("input", function () {
      if (minutes.value !== "") { late.checked = true; }
    });
    form.querySelectorAll("input[name=presence]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        if (radio !== late && radio.checked) { minutes.value = ""; }
      });
    });
  });
});
