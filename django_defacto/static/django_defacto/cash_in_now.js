/*
 * "Cash in now": the seller's button and dialog rendered by {% cash_in_now_button %}.
 *
 * No framework and no inline script: load this file with
 *   <script src="{% static 'django_defacto/cash_in_now.js' %}" defer></script>
 * Every URL and every text comes from data attributes rendered (and translated) by the
 * server. One Idempotency-Key is made per opening of the dialog, so a double click or a
 * resubmit after a lost answer never requests a second loan.
 */
(function () {
  "use strict";

  var POLL_MILLISECONDS = 2000;
  // Stages after which the loan no longer changes by itself while the seller watches.
  var FINAL_STAGES = ["paid", "closed", "declined", "canceled", "failed"];
  var FOCUSABLE =
    "a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])";

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // Outside a secure context randomUUID is missing: an RFC 4122 version 4 UUID by hand.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function cookie(name) {
    var pairs = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < pairs.length; i++) {
      var pair = pairs[i].trim();
      if (pair.slice(0, name.length + 1) === name + "=") {
        return decodeURIComponent(pair.slice(name.length + 1));
      }
    }
    return "";
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : match;
    });
  }

  // A day such as "2026-12-24" in the page's language, as the server writes dates.
  function day(iso) {
    var lang = document.documentElement.lang || undefined;
    try {
      return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeZone: "UTC" }).format(
        new Date(iso + "T00:00:00Z")
      );
    } catch (error) {
      return iso;
    }
  }

  function money(cents, currency) {
    var lang = document.documentElement.lang || undefined;
    try {
      return new Intl.NumberFormat(lang, { style: "currency", currency: currency }).format(cents / 100);
    } catch (error) {
      return (cents / 100).toFixed(2) + " " + currency;
    }
  }

  function CashInNow(root) {
    this.root = root;
    this.strings = JSON.parse(root.getAttribute("data-strings") || "{}");
    this.button = root.querySelector("[data-defacto-button]");
    this.dialog = root.querySelector("[data-defacto-dialog]");
    this.offer = root.querySelector("[data-defacto-offer]");
    this.amount = root.querySelector("[data-defacto-amount]");
    this.cost = root.querySelector("[data-defacto-cost]");
    this.repayOn = root.querySelector("[data-defacto-repay-on]");
    this.consentText = root.querySelector("[data-defacto-consent-text]");
    this.consent = root.querySelector("[data-defacto-consent]");
    // Only for a seller with several financial products: which one finances the invoice.
    this.product = root.querySelector("[data-defacto-product]");
    // Only where the seller's financing offers it: how many installments, and their schedule.
    this.installments = root.querySelector("[data-defacto-installments]");
    this.schedule = root.querySelector("[data-defacto-schedule]");
    this.confirm = root.querySelector("[data-defacto-confirm]");
    this.status = root.querySelector("[data-defacto-status]");
    this.validate = root.querySelector("[data-defacto-validate]");
    this.closeButton = root.querySelector("[data-defacto-close]");
    this.loan = null;
    this.busy = false;
    this.offerOk = true;
    this.key = null;
    this.timer = null;
    this.offerRequest = 0;
    this.bind();
  }

  CashInNow.prototype.text = function (name, values) {
    return format(this.strings[name] || "", values || {});
  };

  CashInNow.prototype.bind = function () {
    var self = this;
    this.button.addEventListener("click", function () {
      self.open();
    });
    this.closeButton.addEventListener("click", function () {
      self.close();
    });
    if (this.product) {
      this.product.addEventListener("change", function () {
        self.updateConfirm();
      });
    }
    this.consent.addEventListener("change", function () {
      self.updateConfirm();
    });
    this.repayOn.addEventListener("change", function () {
      self.loadOffer();
    });
    if (this.installments) {
      this.installments.addEventListener("change", function () {
        self.loadOffer();
      });
    }
    this.confirm.addEventListener("click", function () {
      self.request();
    });
    this.validate.addEventListener("click", function () {
      self.validateLoan();
    });
    this.dialog.addEventListener("keydown", function (event) {
      self.onKeydown(event);
    });
    // Keep the focus inside the dialog: a focusable guard at each end sends Tab and
    // Shift+Tab round to the other end (controls such as a date input keep their own
    // Tab stops in between).
    var head = this.guard(function () {
      var nodes = self.focusables();
      if (nodes.length) {
        nodes[nodes.length - 1].focus();
      }
    });
    var tail = this.guard(function () {
      self.focusFirst();
    });
    this.dialog.insertBefore(head, this.dialog.firstChild);
    this.dialog.appendChild(tail);
    // The browser's own Escape handling of a modal <dialog>: close our way instead.
    this.dialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      self.close();
    });
  };

  CashInNow.prototype.guard = function (onFocus) {
    var node = document.createElement("span");
    node.tabIndex = 0;
    node.setAttribute("data-defacto-guard", "");
    node.className = "defacto-dialog__guard";
    node.addEventListener("focus", onFocus);
    return node;
  };

  CashInNow.prototype.isOpen = function () {
    return this.dialog.hasAttribute("open");
  };

  CashInNow.prototype.open = function () {
    if (this.isOpen()) {
      return;
    }
    // A new opening is a new intent: a new key, unless a loan was already requested.
    this.key = newKey();
    if (typeof this.dialog.showModal === "function") {
      this.dialog.showModal();
    } else {
      this.dialog.setAttribute("open", "");
    }
    if (this.loan) {
      this.showLoan(this.loan);
    } else {
      this.consent.checked = false;
      this.setStatus("");
      this.updateConfirm();
      this.loadOffer();
    }
    this.focusFirst();
  };

  CashInNow.prototype.close = function () {
    this.stopPolling();
    if (typeof this.dialog.close === "function" && this.isOpen()) {
      this.dialog.close();
    } else {
      this.dialog.removeAttribute("open");
    }
    this.button.focus();
  };

  CashInNow.prototype.focusables = function () {
    return Array.prototype.filter.call(this.dialog.querySelectorAll(FOCUSABLE), function (node) {
      return (
        !node.disabled &&
        !node.hasAttribute("data-defacto-guard") &&
        !node.closest("[hidden]") &&
        node.getClientRects().length > 0
      );
    });
  };

  CashInNow.prototype.focusFirst = function () {
    var nodes = this.focusables();
    if (nodes.length) {
      nodes[0].focus();
    }
  };

  CashInNow.prototype.onKeydown = function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      this.close();
    }
  };

  CashInNow.prototype.setStatus = function (message) {
    this.status.textContent = message;
  };

  CashInNow.prototype.updateConfirm = function () {
    var productChosen = !this.product || this.product.value !== "";
    this.confirm.disabled = this.busy || !this.offerOk || !this.consent.checked || !productChosen;
  };

  CashInNow.prototype.csrfToken = function () {
    return cookie("csrftoken") || this.root.getAttribute("data-csrf-token") || "";
  };

  CashInNow.prototype.call = function (method, url, body, extraHeaders) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = this.csrfToken();
    }
    Object.keys(extraHeaders || {}).forEach(function (name) {
      headers[name] = extraHeaders[name];
    });
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!response.ok) {
            var error = new Error(data.message || response.statusText);
            error.data = data;
            throw error;
          }
          return data;
        });
    });
  };

  CashInNow.prototype.errorText = function (error) {
    if (!error.data) {
      return this.text("network_error");
    }
    var words = [error.data.message || error.message];
    (error.data.reasons || []).forEach(function (reason) {
      if (reason.message && words.indexOf(reason.message) === -1) {
        words.push(reason.message);
      }
    });
    return this.text("error", { message: words.join(" ") });
  };

  CashInNow.prototype.loadOffer = function () {
    var self = this;
    var url = this.root.getAttribute("data-offer-url");
    var day = this.repayOn.value;
    var query = [];
    if (day) {
      query.push("to_repay_at=" + encodeURIComponent(day));
    }
    if (this.installments && this.installments.value) {
      query.push("installments=" + encodeURIComponent(this.installments.value));
    }
    if (query.length) {
      url += "?" + query.join("&");
    }
    var ticket = ++this.offerRequest;
    this.call("GET", url)
      .then(function (offer) {
        if (ticket !== self.offerRequest || self.loan) {
          return;
        }
        self.showOffer(offer);
      })
      .catch(function (error) {
        if (ticket === self.offerRequest && !self.loan) {
          self.offerOk = false;
          self.updateConfirm();
          self.setStatus(self.errorText(error));
        }
      });
  };

  CashInNow.prototype.showOffer = function (offer) {
    if (offer.loan) {
      this.showLoan(offer.loan);
      return;
    }
    var quote = offer.quote;
    if (quote) {
      this.amount.textContent = money(quote.amount, quote.currency);
      if (quote.cost === null || quote.cost === undefined) {
        this.cost.textContent = this.text("cost_unknown");
      } else if (quote.cost_is_estimate) {
        this.cost.textContent = this.text("estimate", { cost: money(quote.cost, quote.currency) });
      } else {
        this.cost.textContent = money(quote.cost, quote.currency);
      }
      this.showSchedule(quote);
      this.repayOn.min = quote.earliest_repay_at;
      this.repayOn.max = quote.latest_repay_at;
      if (!this.repayOn.value) {
        this.repayOn.value = quote.to_repay_at;
      }
    }
    if (offer.consent_text) {
      this.consentText.textContent = offer.consent_text;
    }
    if (this.installments) {
      // A later repayment date fits more installments, an earlier one fewer.
      Array.prototype.forEach.call(this.installments.options, function (option) {
        option.disabled = option.value !== "" && Number(option.value) > offer.max_installments;
      });
    }
    this.offerOk = Boolean(offer.eligible);
    this.updateConfirm();
    var reasons = (offer.reasons || []).map(function (reason) {
      return reason.message;
    });
    this.setStatus(reasons.join(" "));
  };

  CashInNow.prototype.showSchedule = function (quote) {
    if (!this.schedule) {
      return;
    }
    var rows = this.schedule.querySelector("[data-defacto-schedule-rows]");
    var steps = quote.installments || [];
    rows.textContent = "";
    steps.forEach(function (step) {
      var row = document.createElement("tr");
      [day(step.due_on), money(step.amount, quote.currency)].forEach(function (value) {
        var cell = document.createElement("td");
        cell.textContent = value;
        row.appendChild(cell);
      });
      rows.appendChild(row);
    });
    this.schedule.hidden = steps.length === 0;
  };

  CashInNow.prototype.request = function () {
    var self = this;
    if (this.busy || this.loan || !this.consent.checked || (this.product && !this.product.value)) {
      return;
    }
    this.busy = true;
    this.updateConfirm();
    this.setStatus(this.text("sending"));
    var body = { invoice: this.root.getAttribute("data-invoice-ref"), accept_terms: true };
    if (this.repayOn.value) {
      body.to_repay_at = this.repayOn.value;
    }
    if (this.product) {
      body.financial_product = this.product.value;
    }
    if (this.installments && this.installments.value) {
      body.installments = Number(this.installments.value);
    }
    this.call("POST", this.root.getAttribute("data-loans-url"), body, {
      "Idempotency-Key": this.key,
    })
      .then(function (loan) {
        self.busy = false;
        self.showLoan(loan);
      })
      .catch(function (error) {
        // The same key stays: sending again returns the loan if the first one was made.
        self.busy = false;
        self.updateConfirm();
        self.setStatus(self.errorText(error));
      });
  };

  CashInNow.prototype.loanUrl = function (suffix) {
    return this.root.getAttribute("data-loans-url") + encodeURIComponent(this.loan.id) + "/" + (suffix || "");
  };

  CashInNow.prototype.validateLoan = function () {
    var self = this;
    if (this.busy || !this.loan) {
      return;
    }
    this.busy = true;
    this.validate.disabled = true;
    this.setStatus(this.text("validating"));
    this.call("POST", this.loanUrl("validate/"), {})
      .then(function (loan) {
        self.busy = false;
        self.validate.disabled = false;
        self.showLoan(loan);
      })
      .catch(function (error) {
        self.busy = false;
        self.validate.disabled = false;
        self.setStatus(self.errorText(error));
        self.schedulePoll();
      });
  };

  CashInNow.prototype.loanMessage = function (loan) {
    if (loan.stage === "declined") {
      return loan.denial_reason_text
        ? this.text("declined_reason", { reason: loan.denial_reason_text })
        : this.text("declined");
    }
    return this.text(loan.stage) || loan.status_label || this.text("unknown");
  };

  CashInNow.prototype.showLoan = function (loan) {
    var hadFocus = this.dialog.contains(document.activeElement);
    this.loan = loan;
    this.offer.hidden = true;
    this.validate.hidden = !(loan.stage === "to_validate" && loan.can_validate !== false);
    var message = this.loanMessage(loan);
    if (this.status.textContent !== message) {
      this.setStatus(message);
    }
    // The control that had the focus may be hidden now: keep the focus in the dialog.
    var active = document.activeElement;
    if (this.isOpen() && (!hadFocus || !active || active.closest("[hidden]") || active === document.body)) {
      (this.validate.hidden ? this.closeButton : this.validate).focus();
    }
    if (FINAL_STAGES.indexOf(loan.stage) === -1) {
      this.schedulePoll();
    } else {
      this.stopPolling();
    }
  };

  CashInNow.prototype.schedulePoll = function () {
    var self = this;
    this.stopPolling();
    if (!this.isOpen() || !this.loan) {
      return;
    }
    this.timer = window.setTimeout(function () {
      self.timer = null;
      self
        .call("GET", self.loanUrl())
        .then(function (loan) {
          if (self.isOpen() && !self.busy) {
            self.showLoan(loan);
          }
        })
        .catch(function () {
          // A failed check is retried at the next tick; the status stays as it was.
          self.schedulePoll();
        });
    }, POLL_MILLISECONDS);
  };

  CashInNow.prototype.stopPolling = function () {
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
  };

  function start() {
    var roots = document.querySelectorAll("[data-defacto-cash-in]");
    Array.prototype.forEach.call(roots, function (root) {
      if (!root.hasAttribute("data-defacto-ready")) {
        root.setAttribute("data-defacto-ready", "");
        new CashInNow(root);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
