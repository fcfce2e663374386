/* The passkey buttons (sign-in, the second factor, adding one, confirming it is you)
   come disabled: allauth's scripts give them their work at DOMContentLoaded, and a click
   before that would do nothing (or send the sign-in form without a passkey). This
   listener is added after allauth's (the snippet loads it last), so it runs after it. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-passkey-button]").forEach(function (button) {
    button.disabled = false;
  });
});
