// Swagger UI for the Interdict API, initialised without inline script (CSP) and without any CDN.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  const csrf = document.body.dataset.csrf;
  window.SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: function (req) {
      // Calls made from this page use the session cookie; writes need the CSRF token.
      if (csrf) req.headers["X-CSRF-Token"] = csrf;
      return req;
    },
  });
});
