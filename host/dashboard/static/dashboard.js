// funchost durable dashboard: refreshes parts of the page in place, sends
// the actions, and starts the timeline (timeline.js) on instance pages.
// Plain browser JavaScript, no build step.
(function () {
  'use strict';

  const body = document.body;
  const base = body.dataset.base || '';
  // The key the page was opened with travels with every request.
  const code = (function () {
    for (const [k, v] of new URLSearchParams(location.search)) {
      if (k.toLowerCase() === 'code') return v;
    }
    return '';
  })();

  /** url builds a dashboard URL from a path below the base and parameters. */
  function url(path, params) {
    const u = new URL(base + path, location.origin);
    for (const [k, v] of Object.entries(params || {})) u.searchParams.set(k, v);
    if (code) u.searchParams.set('code', code);
    return u.pathname + u.search;
  }

  function withParam(href, k, v) {
    const u = new URL(href, location.origin);
    u.searchParams.set(k, v);
    return u.pathname + u.search;
  }

  /** errorOf turns a failed response into a message. */
  async function errorOf(res) {
    const text = await res.text();
    try {
      const j = JSON.parse(text);
      if (j && (j.error || j.Message)) return j.error || j.Message;
    } catch (e) { /* not JSON */ }
    if (res.status === 401) return 'Unauthorized: open the dashboard with the system or master key (?code=…).';
    return 'HTTP ' + res.status + ' ' + res.statusText;
  }

  /** fetchText loads an HTML fragment; null when the server answers 204
   *  (nothing changed). */
  async function fetchText(href) {
    const res = await fetch(href, { headers: { Accept: 'text/html' }, cache: 'no-store' });
    if (!res.ok) throw new Error(await errorOf(res));
    if (res.status === 204) return null;
    return res.text();
  }

  async function fetchJSON(href, init) {
    const res = await fetch(href, Object.assign({ cache: 'no-store' }, init || {},
      { headers: Object.assign({ Accept: 'application/json' }, (init && init.headers) || {}) }));
    if (!res.ok) throw new Error(await errorOf(res));
    return res.json();
  }

  // ---- Auto-refresh ----------------------------------------------------

  const auto = document.getElementById('auto-refresh');
  const stateLine = document.getElementById('refresh-state');
  const autoKey = 'funchost.dashboard.autoRefresh';
  if (auto) {
    auto.checked = localStorage.getItem(autoKey) !== 'off';
    auto.addEventListener('change', function () {
      localStorage.setItem(autoKey, auto.checked ? 'on' : 'off');
      if (auto.checked) refreshers.forEach((r) => r.run());
      stateLine.textContent = auto.checked ? '' : 'Auto-refresh is off.';
    });
  }
  const refreshers = [];

  /** every runs fn every ms while auto-refresh is on and the tab visible;
   *  never two at once. */
  function every(ms, fn) {
    let busy = false;
    const r = {
      async run(force) {
        if (busy || (!force && (!auto || !auto.checked || document.hidden))) return;
        busy = true;
        try {
          await fn();
          if (stateLine.dataset.failed) { stateLine.textContent = ''; delete stateLine.dataset.failed; }
        } catch (e) {
          stateLine.textContent = 'Refresh failed: ' + e.message;
          stateLine.dataset.failed = '1';
        } finally {
          busy = false;
        }
      },
    };
    setInterval(() => r.run(false), ms);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) r.run(false); });
    refreshers.push(r);
    return r;
  }

  /** swap replaces el's content with html, keeping keyboard focus on the
   *  element with the same link or id when there is one. */
  function swap(el, html) {
    const active = document.activeElement;
    let key = null;
    if (active && el.contains(active)) key = active.getAttribute('href') || (active.id && '#' + active.id);
    el.innerHTML = html;
    if (key) {
      const again = key.startsWith('#') ? document.getElementById(key.slice(1)) : el.querySelector('[href="' + CSS.escape(key) + '"]');
      if (again) again.focus({ preventScroll: true });
    }
  }

  function showMessage(el, text, isError) {
    el.textContent = text;
    el.classList.toggle('error', !!isError);
    el.hidden = false;
  }

  // ---- Instance list ---------------------------------------------------

  function initList() {
    const results = document.getElementById('results');
    const form = document.getElementById('filters');
    every(5000, async () => {
      swap(results, await fetchText(withParam(results.dataset.refresh, 'fragment', 'results')));
    });
    results.addEventListener('click', (e) => {
      if (e.target.closest('a')) return;
      const tr = e.target.closest('tr[data-href]');
      if (tr && !window.getSelection().toString()) location.href = tr.dataset.href;
    });
    // Status boxes and selects apply at once; text fields on Enter.
    form.addEventListener('change', (e) => {
      if (e.target.name === 'status' || e.target.tagName === 'SELECT') form.requestSubmit();
    });
    // Empty fields are left out of the URL.
    form.addEventListener('formdata', (e) => {
      for (const [k, v] of Array.from(e.formData.entries())) if (v === '') e.formData.delete(k);
    });
    const flash = sessionStorage.getItem('funchost.dashboard.flash');
    if (flash) {
      sessionStorage.removeItem('funchost.dashboard.flash');
      const p = document.createElement('p');
      p.className = 'message';
      p.setAttribute('role', 'status');
      p.id = 'flash';
      p.textContent = flash;
      form.before(p);
    }
  }

  // ---- Instance page ---------------------------------------------------

  const actionTexts = {
    raise: { title: 'Raise an event', confirm: 'Send event',
      text: 'Send an external event to this instance. An orchestrator waiting for that name receives it; otherwise the event is kept until one waits for it.' },
    suspend: { title: 'Suspend this instance?', confirm: 'Suspend',
      text: 'The orchestration pauses: new events and results are held until it is resumed.' },
    resume: { title: 'Resume this instance?', confirm: 'Resume', text: 'The orchestration continues with the events held while it was suspended.' },
    terminate: { title: 'Terminate this instance?', confirm: 'Terminate', danger: true,
      text: 'The orchestration ends now with status Terminated; running activities finish but their results are ignored.' },
    rewind: { title: 'Rewind this instance?', confirm: 'Rewind',
      text: 'The failed activities and sub-orchestrations run again and the orchestration continues from there.' },
    restart: { title: 'Restart this instance?', confirm: 'Restart',
      text: 'The orchestrator starts again from the beginning with the same input.' },
    purge: { title: 'Purge this instance?', confirm: 'Purge', danger: true,
      text: 'Its history and status are deleted from the task hub. This cannot be undone.' },
  };

  function initInstance() {
    const summary = document.getElementById('summary');
    const tlRoot = document.getElementById('timeline');
    const id = tlRoot.dataset.id;
    const message = document.getElementById('action-message');
    const timeline = new window.FunchostTimeline(tlRoot, {
      src: url('/instances/' + encodeURIComponent(id) + '/timeline'),
      event: (n) => url('/instances/' + encodeURIComponent(id) + '/events/' + n),
      instance: (child) => url('/instances/' + encodeURIComponent(child)),
      fetchJSON: fetchJSON,
    });
    timeline.load().catch((e) => timeline.fail(e.message));

    const updated = () => { const m = summary.querySelector('[data-updated]'); return m ? m.dataset.updated : ''; };
    let lastTimeline = Date.now();
    async function refresh() {
      const html = await fetchText(withParam(summary.dataset.refresh, 'since', updated()));
      let changed = false;
      if (html !== null) {
        const tmp = document.createElement('div');
        tmp.innerHTML = html;
        const marker = tmp.querySelector('[data-updated]');
        changed = !marker || marker.dataset.updated !== updated();
      }
      if (changed) {
        swap(summary, html);
        await timeline.load();
        lastTimeline = Date.now();
      } else if (timeline.isOpen() && Date.now() - lastTimeline > 5000) {
        // A running instance's history grows between status-row updates,
        // and its open bars grow with time.
        await timeline.load();
        lastTimeline = Date.now();
      }
      return changed;
    }
    const periodic = every(3000, refresh);

    // After an action, look often until the instance changes.
    async function watch() {
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, i < 10 ? 300 : 700));
        try {
          if (await refresh()) return;
        } catch (e) {
          showMessage(message, 'Refresh failed: ' + e.message, true);
          return;
        }
      }
    }

    const dialog = document.getElementById('action-dialog');
    const form = document.getElementById('action-form');
    const errorBox = document.getElementById('action-error');
    let current = null;
    let opener = null;

    document.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-action]');
      if (!b || b.disabled) return;
      current = b.dataset.action;
      opener = b;
      const t = actionTexts[current];
      dialog.dataset.kind = current;
      document.getElementById('action-title').textContent = t.title;
      document.getElementById('action-text').textContent = t.text;
      const confirm = document.getElementById('action-confirm');
      confirm.textContent = t.confirm;
      confirm.className = t.danger ? 'danger' : 'primary';
      confirm.disabled = false;
      errorBox.hidden = true;
      document.getElementById('action-reason').value = '';
      dialog.showModal();
      const first = current === 'raise' ? document.getElementById('event-name') : current === 'restart' ? document.getElementById('restart-new') : document.getElementById('action-reason');
      if (current === 'purge') confirm.focus(); else first.focus();
    });
    document.getElementById('action-cancel').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      if (opener && document.contains(opener)) opener.focus();
      else message.focus && message.focus();
    });

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      errorBox.hidden = true;
      const req = {};
      if (current === 'raise') {
        req.event = document.getElementById('event-name').value.trim();
        req.data = document.getElementById('event-data').value;
        if (!req.event) return formError('Give the event\'s name, for example Approval.', 'event-name');
        if (req.data.trim() !== '') {
          try { JSON.parse(req.data); } catch (err) {
            return formError('The payload is not valid JSON: ' + err.message + '. Strings need quotes, e.g. "yes".', 'event-data');
          }
        }
      } else if (current === 'restart') {
        req.newInstanceId = document.getElementById('restart-new').checked;
      } else if (current !== 'purge') {
        req.reason = document.getElementById('action-reason').value;
      }
      const confirm = document.getElementById('action-confirm');
      confirm.disabled = true;
      try {
        const res = await fetchJSON(url('/instances/' + encodeURIComponent(id) + '/' + current), {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req),
        });
        opener = null;
        dialog.close();
        if (res.location) {
          sessionStorage.setItem('funchost.dashboard.flash', res.message);
          location.href = res.location;
          return;
        }
        showMessage(message, res.message, false);
        message.tabIndex = -1;
        message.focus();
        watch();
      } catch (err) {
        formError(err.message);
      } finally {
        confirm.disabled = false;
      }
    });

    function formError(text, field) {
      errorBox.textContent = text;
      errorBox.hidden = false;
      if (field) document.getElementById(field).focus();
    }
    periodic.run(false);
  }

  if (body.dataset.view === 'instances' && document.getElementById('results')) initList();
  if (document.getElementById('timeline')) initInstance();
})();
