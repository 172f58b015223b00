// funchost durable dashboard: an instance's history as a timeline (one bar
// per activity, timer, sub-orchestration, external event and suspension)
// beside its event list. Both render only the rows in view, so histories
// of tens of thousands of events stay responsive.
(function () {
  'use strict';

  const ROW = 26; // px, matches --row in dashboard.css
  const AXIS = 24;
  const OVERSCAN = 8;
  const KIND_ICON = { orchestration: '◆', activity: '⚙', suborchestration: '◇', timer: '◷', event: '✉', suspended: '‖' };
  const KIND_TEXT = { orchestration: 'orchestration', activity: 'activity', suborchestration: 'sub-orchestration', timer: 'timer', event: 'external event', suspended: 'suspension' };
  const OUTCOME_ICON = {
    completed: '✓', failed: '✗', running: '▶', waiting: '…', fired: '✓', received: '✓', abandoned: '–',
    resumed: '✓', terminated: '■', canceled: '⊘', suspended: '‖', pending: '…', continuedasnew: '↻', scheduled: '◷',
  };
  const LEGEND = [['completed', 'completed'], ['failed', 'failed'], ['running', 'running / waiting'], ['fired', 'timer fired'],
    ['scheduled', 'timer due'], ['received', 'event received'], ['suspended', 'suspended'], ['terminated', 'terminated'], ['abandoned', 'never finished']];
  const MINOR = new Set(['OrchestratorStarted', 'OrchestratorCompleted']);
  const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 15e6, 3e7, 6e7, 12e7, 3e8, 6e8, 9e8, 18e8,
    36e8, 72e8, 108e8, 216e8, 432e8, 864e8, 1728e8, 6048e8]; // µs

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  /** dur renders a duration in µs: 850 µs, 12 ms, 3.4 s, 2m05s, 3h02m. */
  function dur(us) {
    if (us < 1000) return Math.round(us) + ' µs';
    if (us < 1e6) return Math.round(us / 1000) + ' ms';
    if (us < 6e7) return (us / 1e6).toFixed(1) + ' s';
    const s = Math.floor(us / 1e6);
    if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
    if (s < 172800) return Math.floor(s / 3600) + 'h' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm';
    return Math.floor(s / 86400) + 'd' + String(Math.floor(s / 3600) % 24).padStart(2, '0') + 'h';
  }

  /** clock renders a time in µs as HH:MM:SS.mmm (UTC). */
  function clock(us) {
    return new Date(Math.floor(us / 1000)).toISOString().slice(11, 23);
  }

  /** shortType drops the "Instance" of the sub-orchestration event names
   *  so that they fit the list; the row's title has the full name. */
  function shortType(t) { return t.replace('SubOrchestrationInstance', 'SubOrchestration'); }

  class Timeline {
    constructor(root, opts) {
      this.root = root;
      this.opts = opts;
      this.zoom = 1;
      this.selSpan = -1;
      this.selEvent = -1;
      this.data = null;
      this.details = new Map();
      this.rows = [];
      this.evs = [];
    }

    isOpen() { return !!(this.data && this.data.open); }

    fail(msg) {
      this.root.textContent = '';
      this.root.append(el('p', 'form-error', 'The history could not be loaded: ' + msg));
    }

    async load() {
      const d = await this.opts.fetchJSON(this.opts.src);
      if (this.data && d.events.length < this.data.events.length) { this.selSpan = -1; this.selEvent = -1; } // rewound or restarted
      this.data = d;
      this.details.clear();
      const count = document.getElementById('history-count');
      if (count) count.textContent = d.events.length === 1 ? '1 event' : d.events.length + ' events';
      if (!this.chart) this.build();
      this.filter();
      this.layout();
    }

    build() {
      const root = this.root;
      root.textContent = '';
      const legend = el('ul', 'tl-legend');
      legend.setAttribute('aria-label', 'Bar colours');
      for (const [o, label] of LEGEND) {
        const li = el('li');
        li.append(el('i', 'b-' + o), label + ' ' + OUTCOME_ICON[o]);
        legend.append(li);
      }
      const grid = el('div', 'tl-grid');
      this.chart = el('div', 'tl-chart');
      this.chart.setAttribute('role', 'listbox');
      this.chart.setAttribute('aria-label', 'Timeline bars');
      this.inner = el('div', 'tl-inner');
      this.axis = el('div', 'tl-axis');
      this.axis.setAttribute('aria-hidden', 'true');
      this.bars = el('div');
      this.inner.append(this.axis, this.bars);
      this.chart.append(this.inner);

      const side = el('div', 'tl-events');
      this.list = el('div', 'ev-rows');
      this.list.setAttribute('role', 'listbox');
      this.list.setAttribute('aria-label', 'History events');
      const head = el('div', 'ev-head');
      head.setAttribute('aria-hidden', 'true');
      head.append(el('span', 'num', '#'), el('span', 'ts', 'Time (UTC)'), el('span', 'ty', 'Event'), el('span', 'nt', 'Name · details'));
      this.evInner = el('div', 'ev-inner');
      this.list.append(head, this.evInner);
      this.count = el('p', 'tl-count');
      this.detail = el('div', 'ev-detail');
      this.detail.setAttribute('aria-live', 'polite');
      this.detail.append(el('p', 'muted', 'Select a bar or an event to see it in full.'));
      side.append(this.list, this.count, this.detail);
      grid.append(this.chart, side);
      root.append(legend, grid);

      let queued = false;
      const redraw = () => {
        if (queued) return;
        queued = true;
        requestAnimationFrame(() => { queued = false; this.renderChart(); this.renderEvents(); });
      };
      this.chart.addEventListener('scroll', redraw, { passive: true });
      this.list.addEventListener('scroll', redraw, { passive: true });
      new ResizeObserver(() => this.layout()).observe(this.chart);
      this.chart.addEventListener('click', (e) => {
        const b = e.target.closest('[data-r]');
        if (b) this.selectSpan(+b.dataset.r, false);
      });
      this.list.addEventListener('click', (e) => {
        const b = e.target.closest('[data-e]');
        if (b) this.selectEvent(+b.dataset.e, false, true);
      });
      this.chart.addEventListener('keydown', (e) => this.key(e, this.rows, this.selSpan, (i) => this.selectSpan(i, true)));
      this.list.addEventListener('keydown', (e) => this.key(e, this.evs, this.selEvent, (i) => this.selectEvent(i, true, true)));

      const tools = document.getElementById('tl-tools');
      if (tools) {
        tools.hidden = false;
        const eps = document.getElementById('tl-episodes');
        const find = document.getElementById('tl-find');
        eps.addEventListener('change', () => { this.filter(); this.layout(); });
        let t = 0;
        find.addEventListener('input', () => { clearTimeout(t); t = setTimeout(() => { this.filter(); this.layout(); }, 150); });
        const zoomTo = (z) => {
          const c = this.chart;
          const mid = (c.scrollLeft + c.clientWidth / 2) / Math.max(1, this.innerWidth);
          this.zoom = Math.min(1024, Math.max(1, z));
          this.layout();
          c.scrollLeft = mid * this.innerWidth - c.clientWidth / 2;
        };
        document.getElementById('tl-zoom-in').addEventListener('click', () => zoomTo(this.zoom * 2));
        document.getElementById('tl-zoom-out').addEventListener('click', () => zoomTo(this.zoom / 2));
        document.getElementById('tl-zoom-reset').addEventListener('click', () => zoomTo(1));
      }
    }

    /** filter picks the bars and events that match the find box. */
    filter() {
      const d = this.data;
      const find = document.getElementById('tl-find');
      const eps = document.getElementById('tl-episodes');
      const term = find ? find.value.trim().toLowerCase() : '';
      const showMinor = eps ? eps.checked : false;
      const match = (...xs) => !term || xs.some((x) => x && String(x).toLowerCase().includes(term));
      this.rows = [];
      d.spans.forEach((s, i) => { if (i === 0 || match(s.n, s.k, s.o, s.c)) this.rows.push(i); });
      this.evs = [];
      d.events.forEach((e, i) => {
        if ((showMinor || !MINOR.has(e.t)) && match(e.t, e.n, e.x)) this.evs.push(i);
      });
    }

    layout() {
      if (!this.data) return;
      const d = this.data;
      const narrow = window.matchMedia('(max-width: 720px)').matches;
      this.labelW = narrow ? 130 : 210;
      this.trackW = Math.max(160, this.chart.clientWidth - this.labelW - 14) * this.zoom;
      this.innerWidth = this.labelW + this.trackW + 12;
      this.inner.style.width = this.innerWidth + 'px';
      this.inner.style.height = (AXIS + this.rows.length * ROW + 4) + 'px';
      this.evInner.style.height = (this.evs.length * ROW) + 'px';
      // Both panes are as tall as the longer needs, up to the CSS height.
      const want = AXIS + Math.max(this.rows.length, this.evs.length, 4) * ROW + 22;
      const h = Math.min(want, window.matchMedia('(max-width: 980px)').matches ? 380 : 460) + 'px';
      this.chart.style.height = h;
      this.list.style.height = h;
      this.range = Math.max(1, d.end - d.start);
      const bars = d.spans.length - 1;
      this.count.textContent = d.events.length + ' events, ' + bars + ' bars' +
        (this.evs.length !== d.events.length ? ' · ' + this.evs.length + ' events listed' : '') +
        (d.open ? ' · still running: open bars end now' : '');
      this.chart.setAttribute('aria-label', 'Timeline: ' + this.rows.length + ' bars');
      this.renderChart();
      this.renderEvents();
    }

    x(t) { return (t - this.data.start) / this.range * this.trackW; }

    renderAxis() {
      const c = this.chart;
      this.axis.textContent = '';
      const perPx = this.range / this.trackW;
      const step = STEPS.find((s) => s / perPx >= 90) || STEPS[STEPS.length - 1];
      const from = Math.max(0, (c.scrollLeft - this.labelW) * perPx);
      const to = (c.scrollLeft + c.clientWidth) * perPx;
      for (let t = Math.floor(from / step) * step; t <= Math.min(to, this.range); t += step) {
        const s = el('span', null, t === 0 ? clock(this.data.start) : '+' + dur(t));
        s.style.left = (this.labelW + t / perPx) + 'px';
        this.axis.append(s);
      }
    }

    renderChart() {
      const d = this.data;
      const c = this.chart;
      this.renderAxis();
      const first = Math.max(0, Math.floor((c.scrollTop - AXIS) / ROW) - OVERSCAN);
      const last = Math.min(this.rows.length, Math.ceil((c.scrollTop + c.clientHeight) / ROW) + OVERSCAN);
      const frag = document.createDocumentFragment();
      for (let r = first; r < last; r++) frag.append(this.barRow(d.spans[this.rows[r]], this.rows[r], r));
      this.replaceRows(this.bars, frag, 'r');
    }

    barRow(s, i, r) {
      const row = el('div', 'tl-row' + (i === this.selSpan ? ' sel' : ''));
      row.setAttribute('role', 'option');
      row.setAttribute('aria-selected', i === this.selSpan ? 'true' : 'false');
      row.dataset.r = i;
      row.tabIndex = (i === this.selSpan || (this.selSpan < 0 && r === 0)) ? 0 : -1;
      row.style.top = (AXIS + r * ROW) + 'px';
      const length = dur(s.e - s.s);
      row.setAttribute('aria-label', KIND_TEXT[s.k] + ' ' + s.n + ', ' + s.o + ', ' + length + (s.x ? ', ' + s.x : ''));
      row.title = KIND_TEXT[s.k] + ' ' + s.n + ' · ' + s.o + ' · ' + length + (s.x ? '\n' + s.x : '') + (s.c ? '\ninstance ' + s.c : '');
      const label = el('span', 'tl-label');
      label.append(el('span', 'k', KIND_ICON[s.k] || '•'), el('span', 't', s.n), el('span', 'o o-' + s.o, OUTCOME_ICON[s.o] || ''));
      const track = el('span', 'tl-track');
      const left = this.x(s.s);
      const width = Math.max(2, this.x(s.e) - left);
      const bar = el('span', 'bar b-' + s.o + ' k-' + s.k);
      bar.style.left = left + 'px';
      bar.style.width = width + 'px';
      track.append(bar);
      if (i === 0) this.episodes(track);
      if (this.data.open && this.data.now < this.data.end) {
        const now = el('span', 'tl-now');
        now.style.left = this.x(this.data.now) + 'px';
        track.append(now);
      }
      // The bar's text goes inside a wide bar, else beside it where there
      // is room.
      const text = el('span', 'bar-text', s.o + ' · ' + length);
      if (width >= 150) {
        text.classList.add('inside');
        text.style.left = (left + 6) + 'px';
      } else if (left + width + 150 < this.trackW || left < 150) {
        text.style.left = (left + width + 6) + 'px';
      } else {
        text.style.right = (this.trackW - left + 6) + 'px';
      }
      track.append(text);
      row.append(label, track);
      return row;
    }

    /** episodes draws the orchestrator's episodes under its bar, merged
     *  where they are closer than a pixel. */
    episodes(track) {
      let cur = null;
      const out = [];
      for (const [a, b] of this.data.episodes) {
        const l = this.x(a);
        const r = Math.max(l + 1, this.x(b));
        if (cur && l <= cur[1] + 1) cur[1] = Math.max(cur[1], r);
        else { cur = [l, r]; out.push(cur); }
      }
      for (const [l, r] of out) {
        const e = el('span', 'tl-ep');
        e.style.left = l + 'px';
        e.style.width = (r - l) + 'px';
        track.append(e);
      }
    }

    renderEvents() {
      const d = this.data;
      const l = this.list;
      const head = AXIS;
      const first = Math.max(0, Math.floor((l.scrollTop - head) / ROW) - OVERSCAN);
      const last = Math.min(this.evs.length, Math.ceil((l.scrollTop + l.clientHeight) / ROW) + OVERSCAN);
      const hl = this.selSpan >= 0 ? d.spans[this.selSpan] : null;
      const frag = document.createDocumentFragment();
      for (let r = first; r < last; r++) {
        const i = this.evs[r];
        const e = d.events[i];
        const row = el('div', 'ev-row' + (i === this.selEvent ? ' sel' : '') + (hl && (i === hl.a || i === hl.b) ? ' hl' : ''));
        row.setAttribute('role', 'option');
        row.setAttribute('aria-selected', i === this.selEvent ? 'true' : 'false');
        row.dataset.e = i;
        row.tabIndex = (i === this.selEvent || (this.selEvent < 0 && r === 0)) ? 0 : -1;
        row.style.top = (r * ROW) + 'px';
        const kind = /Failed$/.test(e.t) || (e.t === 'ExecutionCompleted' && e.n === 'Failed') ? ' failed'
          : /Completed$|Fired$|Raised$/.test(e.t) ? ' done' : MINOR.has(e.t) ? ' minor' : '';
        const note = [e.n, e.x].filter(Boolean).join(' · ');
        row.title = e.t + (note ? ' · ' + note : '');
        row.append(el('span', 'num', String(i)), el('span', 'ts', clock(e.ts)), el('span', 'ty' + kind, shortType(e.t)), el('span', 'nt', note));
        frag.append(row);
      }
      this.replaceRows(this.evInner, frag, 'e');
    }

    /** replaceRows swaps in freshly rendered rows, keeping keyboard focus
     *  on the same row when it is still in view. */
    replaceRows(container, frag, key) {
      const active = document.activeElement;
      const had = active && container.contains(active) ? active.dataset[key] : undefined;
      container.replaceChildren(frag);
      if (had !== undefined) this.focus(container, key, had);
    }

    /** key moves the selection in a list with the arrow, page, home and
     *  end keys. */
    key(e, list, selected, select) {
      const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: 15, PageUp: -15 };
      // Without a selection, moves start from the focused row.
      const focused = e.target.dataset ? (e.target.dataset.r || e.target.dataset.e) : undefined;
      let pos = list.indexOf(selected >= 0 || focused === undefined ? selected : +focused);
      if (e.key in moves) pos = Math.min(list.length - 1, Math.max(0, pos + moves[e.key]));
      else if (e.key === 'Home') pos = 0;
      else if (e.key === 'End') pos = list.length - 1;
      else if (e.key === 'Enter' || e.key === ' ') pos = Math.max(0, pos);
      else return;
      e.preventDefault();
      if (list.length) select(list[pos]);
    }

    scrollTo(container, pos, top) {
      const y = top + pos * ROW;
      if (y < container.scrollTop + top) container.scrollTop = y - top;
      else if (y + ROW > container.scrollTop + container.clientHeight) container.scrollTop = y + ROW - container.clientHeight + ROW;
    }

    selectSpan(i, focus) {
      const s = this.data.spans[i];
      this.selSpan = i;
      const pos = this.rows.indexOf(i);
      if (pos >= 0) this.scrollTo(this.chart, pos, AXIS);
      this.selectEvent(s.a, false, false);
      if (focus) this.focus(this.bars, 'r', i);
    }

    selectEvent(i, focus, fromList) {
      const e = this.data.events[i];
      if (!e) return;
      this.selEvent = i;
      if (fromList && e.sp >= 0) {
        this.selSpan = e.sp;
        const pos = this.rows.indexOf(e.sp);
        if (pos >= 0) this.scrollTo(this.chart, pos, AXIS);
      }
      const pos = this.evs.indexOf(i);
      if (pos >= 0) this.scrollTo(this.list, pos, AXIS);
      this.renderChart();
      this.renderEvents();
      if (focus) this.focus(this.evInner, 'e', i);
      this.showDetail(i);
    }

    focus(container, key, i) {
      const row = container.querySelector('[data-' + key + '="' + i + '"]');
      if (row) row.focus({ preventScroll: true });
    }

    async showDetail(i) {
      const d = this.data;
      const e = d.events[i];
      const box = this.detail;
      box.textContent = '';
      const h = el('h3', null, '#' + i + ' ' + e.t + (e.n ? ' · ' + e.n : ''));
      box.append(h, el('p', 'muted', new Date(Math.floor(e.ts / 1000)).toISOString().replace('T', ' ').replace('Z', ' UTC')));
      const s = e.sp >= 0 ? d.spans[e.sp] : null;
      if (s && s.k !== 'orchestration') {
        box.append(el('p', null, KIND_TEXT[s.k] + ' ' + s.n + ': ' + s.o + ' after ' + dur(s.e - s.s) + (s.x ? ' — ' + s.x : '')));
      }
      if (s && s.c) {
        const p = el('p');
        const a = el('a', null, 'Open sub-orchestration ' + s.c + ' →');
        a.href = this.opts.instance(s.c);
        p.append(a);
        box.append(p);
      }
      const pre = el('pre', 'json', 'Loading…');
      pre.tabIndex = 0;
      box.append(pre);
      try {
        let full = this.details.get(i);
        if (!full) {
          full = await this.opts.fetchJSON(this.opts.event(i));
          this.details.set(i, full);
        }
        if (this.selEvent === i) pre.textContent = JSON.stringify(full, null, 2);
      } catch (err) {
        pre.className = 'form-error';
        pre.textContent = 'Loading the event failed: ' + err.message;
      }
    }
  }

  window.FunchostTimeline = Timeline;
})();
