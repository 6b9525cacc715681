// tunerd status page: polls the JSON views and refreshes the page's text
// and plots in place. The formatting mirrors web/page.go, so the text is
// the same whoever wrote it. A new or removed study, a study whose status
// or state changed, or an objective that came or went reloads the page,
// which the server renders whole.
(function () {
  'use strict';

  var DASH = '\u2014';
  var texts = JSON.parse(document.getElementById('texts').textContent || '{}');
  var interval = Number(document.body.dataset.pollMs) || 2500;
  var polls = 0;

  // g formats x with p significant digits, as Go's %g does.
  function g(x, p) {
    if (!isFinite(x)) { return isNaN(x) ? 'NaN' : (x > 0 ? '+Inf' : '-Inf'); }
    if (x === 0) { return Object.is(x, -0) ? '-0' : '0'; }
    var s = x.toExponential(p - 1);
    var i = s.indexOf('e');
    var e = parseInt(s.slice(i + 1), 10);
    if (e < -4 || e >= p) {
      var a = Math.abs(e);
      return trimZeros(s.slice(0, i)) + 'e' + (e < 0 ? '-' : '+') + (a < 10 ? '0' : '') + a;
    }
    return trimZeros(x.toFixed(Math.max(0, p - 1 - e)));
  }
  function trimZeros(s) { return s.indexOf('.') < 0 ? s : s.replace(/\.?0+$/, ''); }

  function num(v) { return v == null ? DASH : g(v, 6); }
  function count(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function pad2(n) { return (n < 10 ? '0' : '') + n; }

  function progress(s) {
    if (s.max_evaluations <= 0) { return count(s.spent); }
    return count(s.spent) + ' of ' + count(s.max_evaluations) + ' (' + Math.floor(s.spent * 100 / s.max_evaluations) + '%)';
  }

  function rate(r) {
    if (!(r > 0) || !isFinite(r)) { return DASH; }
    if (r >= 1) { return g(r, 3) + '/s'; }
    if (r * 60 >= 1) { return g(r * 60, 3) + '/min'; }
    return g(r * 3600, 3) + '/h';
  }

  function dur(sec) {
    if (sec == null || !(sec >= 0) || !isFinite(sec)) { return DASH; }
    var s = Math.round(sec);
    if (s < 60) { return s + 's'; }
    if (s < 3600) { return Math.floor(s / 60) + 'm ' + pad2(s % 60) + 's'; }
    if (s < 86400) { return Math.floor(s / 3600) + 'h ' + pad2(Math.floor(s % 3600 / 60)) + 'm'; }
    return Math.floor(s / 86400) + 'd ' + pad2(Math.floor(s % 86400 / 3600)) + 'h';
  }

  function compare(est, pass, fail, name, bound, atLeast) {
    if (bound == null) { return est == null ? DASH : g(est, 3); }
    if (est == null) { return DASH + ' (' + name + ' = ' + g(bound, 3) + ')'; }
    var ok = atLeast ? est >= bound : est <= bound;
    return g(est, 3) + ' ' + (ok ? pass : fail) + ' ' + name + ' = ' + g(bound, 3);
  }

  function threshold(el, key) {
    var v = el.dataset[key];
    return v === undefined ? null : parseFloat(v);
  }

  function origin(s) {
    return 'objective ' + s.objective + ' \u00b7 from ' + s.origin + ' \u00b7 ' + s.state + (s.running ? ' \u00b7 running now' : '');
  }

  function verdict(status) {
    var v = texts.verdicts || {};
    return Object.prototype.hasOwnProperty.call(v, status) ? v[status] : v[''];
  }

  function plotURL(s) {
    return '/studies/' + encodeURIComponent(s.name) + '/convergence.svg?v=' + s.spent + '-' + encodeURIComponent(s.status);
  }

  // The text of each data-field of a study's article.
  function studyFields(s, el) {
    var eps = threshold(el, 'epsilon');
    var delta = threshold(el, 'delta');
    return {
      status: s.status,
      origin: origin(s),
      progress: progress(s),
      evaluations: count(s.evaluations),
      failures: count(s.failures),
      best: num(s.best),
      rate: rate(s.rate),
      eta: dur(s.eta_seconds),
      elapsed: dur(s.wall_seconds),
      escapes: count(s.escapes),
      pareto: s.pareto ? count(s.pareto) + ' points' : DASH,
      grad: compare(s.grad_norm, '\u2264', '>', '\u03b5', eps, false),
      lambda: compare(s.lambda_min, '\u2265', '<', '\u2212\u03b4', delta == null ? null : -delta, true),
      verdict: verdict(s.status),
      reason: s.reason || ''
    };
  }

  function setFields(el, fields) {
    Object.keys(fields).forEach(function (k) {
      var f = el.querySelector('[data-field="' + k + '"]');
      if (f && f.textContent !== String(fields[k])) { f.textContent = fields[k]; }
    });
  }

  function updateStudy(s) {
    var el = document.querySelector('article[data-study="' + CSS.escape(s.name) + '"]');
    setFields(el, studyFields(s, el));
    var bar = el.querySelector('progress');
    bar.max = Math.max(s.max_evaluations, 1);
    bar.value = Math.min(s.spent, s.max_evaluations);
    el.querySelector('.reason').hidden = !s.reason;
    el.querySelector('.verdict').classList.toggle('certified', s.status === 'converged');
    var img = el.querySelector('img[data-plot]');
    var src = plotURL(s);
    if (img.getAttribute('src') !== src) {
      img.dataset.plot = 'loading';
      img.setAttribute('src', src);
      img.parentNode.setAttribute('href', src);
    }
  }

  function updateObjective(o) {
    var row = document.querySelector('tr[data-objective="' + CSS.escape(o.name) + '"]');
    setFields(row, {
      evaluators: count(o.evaluators), slots: count(o.slots), busy: count(o.busy),
      in_flight: count(o.in_flight), waiting: count(o.waiting)
    });
  }

  // changed tells whether the page no longer has the studies and
  // objectives the server reports, or shows a study in another status or
  // state: then only a reload shows it right.
  function changed(studies, objectives) {
    var arts = document.querySelectorAll('article[data-study]');
    var rows = document.querySelectorAll('tr[data-objective]');
    if (arts.length !== studies.length || rows.length !== objectives.length) { return true; }
    for (var i = 0; i < studies.length; i++) {
      var d = arts[i].dataset, s = studies[i];
      if (d.study !== s.name || d.status !== s.status || d.state !== s.state) { return true; }
    }
    for (var j = 0; j < objectives.length; j++) {
      if (rows[j].dataset.objective !== objectives[j].name) { return true; }
    }
    return false;
  }

  function getJSON(url) {
    return fetch(url, { cache: 'no-store' }).then(function (r) {
      if (!r.ok) { throw new Error(url + ': ' + r.status); }
      return r.json();
    });
  }

  function getHealth() {
    return fetch('/healthz', { cache: 'no-store' }).then(function (r) {
      return r.text().then(function (t) { return r.ok ? '' : t.replace(/^unhealthy: /, '').trim(); });
    });
  }

  function setLive(text, lost) {
    var live = document.getElementById('live');
    live.textContent = text;
    live.classList.toggle('lost', !!lost);
  }

  function poll() {
    Promise.all([getJSON('/api/studies'), getJSON('/api/objectives'), getHealth()]).then(function (r) {
      var studies = r[0].studies || [], objectives = r[1].objectives || [];
      if (changed(studies, objectives)) { location.reload(); return; }
      studies.forEach(updateStudy);
      objectives.forEach(updateObjective);
      var health = document.getElementById('health');
      health.hidden = r[2] === '';
      setFields(health, { health: r[2] });
      polls++;
      document.body.dataset.polls = String(polls);
      setLive('Live: updated ' + new Date().toLocaleTimeString() + ', every ' + interval / 1000 + ' s.');
    }).catch(function (err) {
      setLive('Cannot reach tunerd (' + err.message + '); retrying every ' + interval / 1000 + ' s.', true);
    }).then(function () {
      setTimeout(poll, interval);
    });
  }

  // Each plot says whether it loaded: data-plot is "loaded" once the
  // image is decoded with a size, "error" if it failed.
  function watchPlot(img) {
    function mark() { img.dataset.plot = img.naturalWidth > 0 ? 'loaded' : 'error'; }
    img.addEventListener('load', mark);
    img.addEventListener('error', function () { img.dataset.plot = 'error'; });
    if (img.complete) { mark(); }
  }

  document.querySelectorAll('img[data-plot]').forEach(watchPlot);
  poll();
}());
