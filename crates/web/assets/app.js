// twostep pages: small enhancements. Every page works without this file
// except sign-in, whose puzzle is solved by /assets/pow-worker.js.
(function () {
  'use strict';

  // A text of the page's language, from the element's data-text-<name>
  // attribute (the server fills it from its catalogues), with {name}
  // placeholders filled from `values`; `fallback` when the page has none.
  function say(el, name, fallback, values) {
    var text = (el && el.getAttribute('data-text-' + name)) || fallback;
    Object.keys(values || {}).forEach(function (k) { text = text.split('{' + k + '}').join(values[k]); });
    return text;
  }

  function duration(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (h > 0) return h + ' h ' + (m < 10 ? '0' : '') + m + ' min ' + (r < 10 ? '0' : '') + r + ' s';
    if (m > 0) return m + ' min ' + (r < 10 ? '0' : '') + r + ' s';
    return r + ' s';
  }

  // Times: the server writes UTC into <time datetime="RFC 3339">; show them
  // in the reader's own time zone, with the UTC text kept on hover.
  function two(n) { return (n < 10 ? '0' : '') + n; }
  function zoneName(d) {
    try {
      var part = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d)
        .filter(function (p) { return p.type === 'timeZoneName'; })[0];
      if (part) return part.value;
    } catch (e) { /* an old browser: the offset below */ }
    var off = -d.getTimezoneOffset();
    return 'UTC' + (off < 0 ? '-' : '+') + two(Math.floor(Math.abs(off) / 60)) + ':' + two(Math.abs(off) % 60);
  }
  document.querySelectorAll('time[datetime]').forEach(function (el) {
    var iso = el.getAttribute('datetime');
    if (iso.indexOf('T') < 0) return;
    var d = new Date(iso);
    if (isNaN(d.getTime())) return;
    if (!el.title) el.title = el.textContent.trim();
    el.textContent = d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + ' ' +
      two(d.getHours()) + ':' + two(d.getMinutes()) + ' ' + zoneName(d);
  });

  // A field the server refused gets the focus, so its message is read out.
  var invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();

  // Live countdown of a security hold, from the seconds left at render time
  // (not the browser's clock, which may be off).
  document.querySelectorAll('[data-remaining]').forEach(function (el) {
    var end = Date.now() + 1000 * Number(el.getAttribute('data-remaining'));
    function tick() {
      var left = (end - Date.now()) / 1000;
      el.textContent = duration(left);
      if (left <= 0) {
        el.textContent = '0 s';
        // The hold is over: a form it disabled works again.
        document.querySelectorAll('fieldset[data-hold-disabled]').forEach(function (f) { f.disabled = false; });
        return;
      }
      setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
    }
    tick();
  });

  // "Get a new code in 42 s": the server enforces the wait; this shows it.
  document.querySelectorAll('button[data-resend-after]').forEach(function (btn) {
    var label = btn.textContent, end = Date.now() + 1000 * Number(btn.getAttribute('data-resend-after'));
    function tick() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) { btn.disabled = false; btn.textContent = label; return; }
      btn.disabled = true;
      btn.textContent = say(document.body, 'resend-in', '{label} in {seconds} s', { label: label, seconds: left });
      setTimeout(tick, 500);
    }
    tick();
  });

  // Copy the backup key (without the spaces between its groups).
  document.querySelectorAll('button[data-copy]').forEach(function (btn) {
    var source = document.getElementById(btn.getAttribute('data-copy'));
    var status = document.getElementById('copied');
    if (!source) return;
    btn.hidden = false;
    btn.addEventListener('click', function () {
      var text = source.getAttribute('data-key') || source.textContent.replace(/\s+/g, '');
      function done(ok) {
        if (status) status.textContent = ok ? say(btn, 'copied', 'Copied. Now write it down.') : say(btn, 'copy-failed', 'Select the key and copy it by hand.');
      }
      function fallback() {
        var range = document.createRange();
        range.selectNodeContents(source);
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
        var ok = false;
        try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
        done(ok);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
      } else {
        fallback();
      }
    });
  });

  // Identity uploads: preview, and size and type checked before sending
  // (the server checks again, by content).
  document.querySelectorAll('input[type=file][data-max-bytes]').forEach(function (input) {
    var box = input.parentNode;
    var preview = box.querySelector('img.preview');
    var error = box.querySelector('.error');
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      var problem = '';
      if (file && !/^image\/(jpeg|png)$/.test(file.type)) problem = say(input, 'type', 'Choose a JPEG or PNG photo.');
      else if (file && file.size > Number(input.getAttribute('data-max-bytes'))) problem = say(input, 'size', 'This photo is over 10 MiB; choose a smaller one.');
      input.setCustomValidity(problem);
      if (problem) { input.setAttribute('aria-invalid', 'true'); } else { input.removeAttribute('aria-invalid'); }
      box.classList.toggle('invalid', !!problem);
      if (error) { error.textContent = problem; error.hidden = !problem; }
      if (preview) {
        if (preview.src) URL.revokeObjectURL(preview.src);
        if (file && !problem) { preview.src = URL.createObjectURL(file); preview.alt = say(input, 'preview', 'Preview of {name}', { name: file.name }); preview.hidden = false; }
        else { preview.removeAttribute('src'); preview.hidden = true; }
      }
    });
  });

  // Passkeys. A form with data-passkey="create" or "get" asks its
  // data-options address (same origin, with the form's CSRF token) for the
  // options, lets the browser create or use a passkey, and sends the answer
  // in its hidden fields. The sign-in page also offers the browser's saved
  // passkeys in the e-mail field's autofill, where the browser can, from
  // the person's first click or key in that field (not on every view of
  // the page: each offer is a ceremony the server keeps).
  var webauthn = !!(window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON &&
    PublicKeyCredential.parseCreationOptionsFromJSON);
  var conditional = null;
  function passkey(form, mediation) {
    var body = new URLSearchParams();
    body.set('csrf', form.elements.namedItem('csrf').value);
    return fetch(form.getAttribute('data-options'), { method: 'POST', body: body, credentials: 'same-origin' })
      .then(function (r) {
        // A refusal that is not ours in JSON (an expired form, say) is named by its status.
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) throw new Error(j.error || 'HTTP ' + r.status);
          return j;
        });
      })
      .then(function (o) {
        var ask;
        if (form.getAttribute('data-passkey') === 'create') {
          ask = navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(o.public_key) });
        } else {
          var request = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o.public_key) };
          if (mediation) { conditional = new AbortController(); request.mediation = mediation; request.signal = conditional.signal; }
          ask = navigator.credentials.get(request);
        }
        return ask.then(function (cred) {
          form.elements.namedItem('challenge_id').value = o.challenge_id;
          form.elements.namedItem('credential').value = JSON.stringify(cred.toJSON());
          form.submit();
        });
      });
  }
  document.querySelectorAll('form[data-passkey]').forEach(function (pk) {
    var status = pk.querySelector('[data-passkey-status]');
    if (!webauthn) { status.textContent = say(pk, 'unsupported', 'This browser cannot use passkeys here.'); return; }
    pk.addEventListener('submit', function (event) {
      if (pk.elements.namedItem('credential').value) return;
      event.preventDefault();
      if (!pk.checkValidity()) { pk.reportValidity(); return; }
      if (conditional) { conditional.abort(); conditional = null; }
      status.textContent = '';
      passkey(pk).catch(function (e) {
        status.textContent = say(pk, 'failed', 'The passkey did not answer ({reason}).', { reason: e.message || e.name });
      });
    });
  });
  var signIn = document.getElementById('passkey-login');
  var email = document.getElementById('f-email');
  if (webauthn && signIn && email && PublicKeyCredential.isConditionalMediationAvailable) {
    var offer = function () {
      email.removeEventListener('pointerdown', offer);
      email.removeEventListener('keydown', offer);
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (yes) passkey(signIn, 'conditional').catch(function () {});
      });
    };
    email.addEventListener('pointerdown', offer);
    email.addEventListener('keydown', offer);
  }

  // The sign-in puzzle: solved in a Web Worker with a visible progress bar.
  var form = document.getElementById('login-form');
  if (!form || !form.getAttribute('data-pow-salt')) return;
  var nonce = form.elements.namedItem('nonce');
  var challenge = form.elements.namedItem('challenge_id');
  var status = document.getElementById('pow-status');
  var bar = document.getElementById('pow-progress');
  var box = document.getElementById('pow');
  var solved = false, submitWhenSolved = false, worker = null;

  function solve(salt, bits) {
    solved = false;
    nonce.value = '';
    box.classList.remove('done');
    form.removeAttribute('data-pow-solved');
    bar.value = 0;
    if (worker) worker.terminate();
    if (!window.Worker) { status.textContent = say(form, 'unsupported', 'This browser cannot solve the sign-in puzzle.'); return; }
    worker = new Worker('/assets/pow-worker.js');
    var expected = Math.pow(2, bits);
    worker.onmessage = function (event) {
      var m = event.data;
      if (m.type === 'progress') {
        var pct = Math.min(99, Math.round(100 * (1 - Math.exp(-m.tries / expected))));
        bar.value = pct;
        status.textContent = say(form, 'solving', 'Solving the sign-in puzzle… {percent}%', { percent: pct });
      } else if (m.type === 'done') {
        nonce.value = m.nonce;
        solved = true;
        bar.value = 100;
        box.classList.add('done');
        form.setAttribute('data-pow-solved', '1');
        status.textContent = say(form, 'solved', 'Puzzle solved. You can sign in.');
        if (submitWhenSolved) form.submit();
      } else {
        status.textContent = say(form, 'failed', 'The puzzle failed ({reason}). Reload the page to try again.', { reason: m.message });
      }
    };
    worker.postMessage({ salt: salt, bits: bits });
  }

  form.addEventListener('submit', function (event) {
    if (solved) return;
    event.preventDefault();
    submitWhenSolved = true;
    status.textContent = say(form, 'finishing', 'Finishing the puzzle, then signing you in…');
  });

  // A challenge lives a few minutes; fetch a new one before it runs out.
  setInterval(function () {
    fetch('/api/v1/captcha', { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) { if (c) { challenge.value = c.challenge_id; solve(c.salt, c.difficulty_bits); } })
      .catch(function () {});
  }, 240000);

  solve(form.getAttribute('data-pow-salt'), Number(form.getAttribute('data-pow-bits')));
})();
