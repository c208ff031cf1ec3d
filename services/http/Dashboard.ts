/**
 * The dashboard: one page, with no build step and nothing loaded from anywhere, that lists the runs, starts a run
 * from a form (agent, JSONL pasted or uploaded, concurrency) and draws a selected run live from its event stream:
 * counters by outcome, in flight, throughput and tokens, the text each running task is writing, and the HTML
 * report's timeline growing as tasks end (drawn by the report's own code, `RunReportHtml.script`).
 *
 * @since 0.1.0
 */
import * as RunReportHtml from "../../src/RunReportHtml.js"

/**
 * The Content-Security-Policy the page is served with: its own inline script and styles, requests to its own
 * origin, nothing else.
 *
 * @category constructors
 * @since 0.1.0
 */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; " +
  "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const attribute = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/**
 * The page. `base` is the path the API is mounted under (`""` at the root).
 *
 * **Details**
 *
 * The page needs the server's token to call the API. It takes it from the address (`/#token=<token>`, which
 * `parallel-agents serve` prints and which never reaches the server), or asks for it, and keeps it in the tab's
 * `sessionStorage`; the selected run is in the address (`#run=<id>`), so a reload comes back to it. Event streams
 * are read with `fetch`, which can send the token (an `EventSource` cannot), and resumed with `Last-Event-ID`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const html = (options?: { readonly base?: string | undefined }): string =>
  `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>effect-parallel-agents</title>
<style>${RunReportHtml.styles}${css}</style>
</head>
<body data-base="${attribute(options?.base ?? "")}">
<header class="top"><h1>effect-parallel-agents</h1><span id="connection" class="muted"></span></header>
<main>
<section id="login" hidden>
<h2>Token</h2>
<p class="muted">The server printed its token when it started (or reads it from <code>AGENT_HTTP_TOKEN</code>).
It stays in this tab.</p>
<form id="login-form"><input id="token" type="password" autocomplete="off" placeholder="token" required>
<button type="submit">Use</button></form>
<p id="login-error" class="error" role="alert"></p>
</section>
<div id="app" hidden>
<aside>
<section class="card">
<h2>New run</h2>
<form id="start-form">
<label>Agent <select id="agent" required></select></label>
<label>Tasks, one JSON object per line
<textarea id="tasks" rows="6" spellcheck="false" placeholder='{"text": "The food was great 2"}' required></textarea>
</label>
<label class="file">or a JSONL file <input id="file" type="file" accept=".jsonl,.ndjson,.json,.txt"></label>
<label>Concurrency <input id="concurrency" type="number" min="1" value="8"></label>
<button id="start" type="submit">Start</button>
<p id="start-error" class="error" role="alert"></p>
</form>
</section>
<section class="card">
<h2>Runs</h2>
<ul id="runs" class="runs"></ul>
</section>
</aside>
<section id="run" class="card run" hidden>
<div class="run-head">
<h2 id="run-title"></h2>
<span id="run-state" class="state"></span>
<span class="actions">
<button id="cancel" type="button">Cancel</button>
<button id="results" type="button" class="link">Results</button>
<button id="report" type="button" class="link">Report</button>
</span>
</div>
<dl class="counters">
<div class="counter"><dt><i class="swatch swatch-succeeded"></i>succeeded</dt><dd id="c-succeeded">0</dd></div>
<div class="counter"><dt><i class="swatch swatch-failed"></i>failed</dt><dd id="c-failed">0</dd></div>
<div class="counter"><dt><i class="swatch swatch-timed-out"></i>timed out</dt><dd id="c-timed-out">0</dd></div>
<div class="counter"><dt><i class="swatch swatch-interrupted"></i>interrupted</dt><dd id="c-interrupted">0</dd></div>
<div class="counter"><dt><i class="swatch swatch-running"></i>in flight</dt><dd id="c-in-flight">0</dd></div>
<div class="counter"><dt>done</dt><dd id="c-done">0</dd></div>
<div class="counter"><dt>tasks / s</dt><dd id="c-rate">-</dd></div>
<div class="counter"><dt>tokens in / out</dt><dd id="c-tokens">0 / 0</dd></div>
</dl>
<div class="progress" aria-hidden="true"><i id="progress"></i></div>
<h3>Timeline</h3>
<div id="timeline" class="chart-scroll"></div>
<h3>Running now</h3>
<ul id="outputs" class="outputs"></ul>
</section>
</div>
</main>
<div id="tip" role="tooltip" hidden></div>
<script>${RunReportHtml.script}</script>
<script>${script}</script>
</body>
</html>
`

const css = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);
background:var(--bg)}
.top{display:flex;align-items:baseline;gap:16px;padding:12px 20px;border-bottom:1px solid var(--line);background:var(--card)}
.top h1{font-size:17px;margin:0}
main{padding:16px 20px 40px;max-width:1400px;margin:0 auto}
#app{display:grid;grid-template-columns:minmax(260px,340px) minmax(0,1fr);gap:16px;align-items:start}
#app[hidden],#login[hidden],.run[hidden]{display:none}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:14px;margin:16px 0 6px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin-bottom:16px;min-width:0}
label{display:block;margin:0 0 10px;color:var(--muted)}
label select,label textarea,label input[type=number],#token{display:block;width:100%;margin-top:4px;font:inherit;
color:var(--fg);padding:6px 8px;border:1px solid var(--line);border-radius:6px;background:#fff}
textarea{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;resize:vertical}
label.file input{display:block;margin-top:4px;max-width:100%}
button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid #2f5fb3;background:#2f5fb3;color:#fff;cursor:pointer}
button:disabled{opacity:.5;cursor:default}
button.link{background:#fff;color:#2f5fb3}
#cancel{background:#fff;color:var(--failed);border-color:var(--failed)}
.error{color:var(--failed);margin:6px 0 0;min-height:1em;overflow-wrap:anywhere}
.muted{color:var(--muted)}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
#login-form{display:flex;gap:8px}
#login-form input{margin:0}
.runs{list-style:none;margin:0;padding:0;max-height:420px;overflow:auto}
.runs li{padding:6px 8px;border-radius:6px;cursor:pointer;display:flex;justify-content:space-between;gap:8px}
.runs li:hover{background:var(--lane)}
.runs li.selected{background:#e4ecfa}
.runs .id{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.state{font-size:12px;padding:1px 8px;border-radius:10px;background:var(--lane);color:var(--muted);white-space:nowrap}
.state-running{background:#e4ecfa;color:#2f5fb3}.state-finished{background:#e2f3e8;color:#22784a}
.state-cancelled{background:#efeafa;color:#5d4aa8}.state-failed{background:#fbe6e6;color:#a83232}
.state-interrupted{background:#fbf0dc;color:#8a5a12}
.run-head{display:flex;flex-wrap:wrap;align-items:center;gap:8px 12px;margin-bottom:10px}
.run-head h2{margin:0;overflow-wrap:anywhere}
.actions{display:flex;gap:8px;margin-left:auto;flex-wrap:wrap}
.counters{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:8px;margin:0}
.counter{background:var(--lane);border-radius:6px;padding:6px 10px;min-width:0}
.counter dt{color:var(--muted);font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.counter dd{margin:0;font-size:18px;font-weight:600;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.progress{height:6px;border-radius:3px;background:var(--line);margin:10px 0 0;overflow:hidden}
.progress i{display:block;height:100%;width:0;background:var(--succeeded)}
.outputs{list-style:none;margin:0;padding:0;display:grid;gap:6px}
.outputs li{background:var(--lane);border-radius:6px;padding:6px 10px;min-width:0}
.outputs .task{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--muted)}
.outputs .text{white-space:pre-wrap;overflow-wrap:anywhere;max-height:7.5em;overflow:auto}
.outputs .empty{color:var(--muted)}
#tip{position:fixed;z-index:10;max-width:min(440px,calc(100vw - 16px));padding:8px 10px;border-radius:6px;
background:#1d2330;color:#fff;font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;
overflow-wrap:anywhere;pointer-events:none}
#tip[hidden]{display:none}
@media (max-width:800px){#app{grid-template-columns:1fr}#run{order:-1}.counters{grid-template-columns:repeat(2,minmax(0,1fr))}
main{padding:12px}.top{padding:10px 12px}}
`

// The page's own script, as plain ES2017 for the browser. Every text from the server goes into the page as text
// (`textContent`) or escaped (`RunReportCharts.escapeHtml`) in the timeline's markup.
const script = `
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base") || "";
  var Charts = RunReportCharts;
  var $ = function (id) { return document.getElementById(id); };
  var token = null;
  var selected = null;
  var listTimer = null;

  // ---------------------------------------------------------------------------
  // the token: from #token= (printed by the server; it never reaches the server), else asked for
  // ---------------------------------------------------------------------------
  function hashParams() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var i = part.indexOf("=");
      if (i > 0) out[decodeURIComponent(part.slice(0, i))] = decodeURIComponent(part.slice(i + 1));
    });
    return out;
  }
  function setHash(run) {
    history.replaceState(null, "", location.pathname + location.search + (run ? "#run=" + encodeURIComponent(run) : ""));
  }

  function api(path, init) {
    init = init || {};
    init.headers = Object.assign({ authorization: "Bearer " + token }, init.headers || {});
    return fetch(base + path, init).then(function (response) {
      if (response.status === 401) { logout("The token was refused."); throw new Error("unauthorized"); }
      return response;
    });
  }
  function json(path, init) {
    return api(path, init).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(errorText(body, response.status));
        return body;
      });
    });
  }
  function errorText(body, status) {
    if (body && body._tag === "HttpApiDecodeError") {
      var issue = body.issues && body.issues[0];
      return issue ? (issue.path.length ? issue.path.join(".") + ": " : "") + issue.message : body.message;
    }
    if (body && body._tag === "AgentNotFound") return "no agent " + body.agent + ": the known agents are " + body.known.join(", ");
    if (body && body._tag === "ConcurrencyTooHigh") return "a concurrency of " + body.concurrency + " is above this server's maximum, " + body.maximum;
    if (body && body._tag === "PayloadTooLarge") return "the tasks are larger than " + body.limit + " bytes";
    if (body && body._tag === "RunNotFound") return "no run " + body.runId;
    return "the server answered " + status;
  }

  function logout(message) {
    token = null;
    sessionStorage.removeItem("parallel-agents-token");
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    if (listTimer) clearInterval(listTimer);
    if (selected) selected.close();
    selected = null;
  }

  function login(value) {
    token = value;
    sessionStorage.setItem("parallel-agents-token", value);
    json("/agents").then(function (agents) {
      $("login").hidden = true;
      $("app").hidden = false;
      var select = $("agent");
      select.textContent = "";
      agents.forEach(function (agent) {
        var option = document.createElement("option");
        option.value = agent.name;
        option.textContent = agent.name + ": " + agent.description;
        select.appendChild(option);
      });
      refreshList();
      listTimer = setInterval(refreshList, 2000);
      var run = hashParams().run;
      if (run) select_(run);
    }).catch(function (error) {
      if (error.message !== "unauthorized") $("login-error").textContent = "The server cannot be reached: " + error.message;
    });
  }

  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    login($("token").value.trim());
  });

  // ---------------------------------------------------------------------------
  // the list of runs
  // ---------------------------------------------------------------------------
  function stateBadge(state) {
    var span = document.createElement("span");
    span.className = "state state-" + state;
    span.textContent = state;
    return span;
  }
  function refreshList() {
    if (!token) return;
    json("/runs").then(function (runs) {
      var list = $("runs");
      list.textContent = "";
      if (runs.length === 0) {
        var empty = document.createElement("li");
        empty.className = "muted";
        empty.textContent = "No run yet.";
        list.appendChild(empty);
      }
      runs.forEach(function (run) {
        var item = document.createElement("li");
        item.setAttribute("data-run-id", run.id);
        if (selected && selected.id === run.id) item.className = "selected";
        var label = document.createElement("span");
        var id = document.createElement("span");
        id.className = "id";
        id.textContent = run.id;
        label.appendChild(id);
        label.appendChild(document.createTextNode(" " + run.agent + ", " + Charts.formatCount(run.summary.total) +
          " / " + Charts.formatCount(run.tasks)));
        item.appendChild(label);
        item.appendChild(stateBadge(run.state));
        item.addEventListener("click", function () { select_(run.id); });
        list.appendChild(item);
      });
    }).catch(function () {});
  }

  // ---------------------------------------------------------------------------
  // starting a run
  // ---------------------------------------------------------------------------
  $("file").addEventListener("change", function () {
    var file = $("file").files[0];
    if (!file) return;
    file.text().then(function (text) { $("tasks").value = text; });
  });
  $("start-form").addEventListener("submit", function (e) {
    e.preventDefault();
    $("start-error").textContent = "";
    var query = "?agent=" + encodeURIComponent($("agent").value);
    var concurrency = $("concurrency").value;
    if (concurrency) query += "&concurrency=" + encodeURIComponent(concurrency);
    $("start").disabled = true;
    json("/runs" + query, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: $("tasks").value
    }).then(function (run) {
      refreshList();
      select_(run.id);
    }).catch(function (error) {
      if (error.message !== "unauthorized") $("start-error").textContent = error.message;
    }).then(function () { $("start").disabled = false; });
  });

  // ---------------------------------------------------------------------------
  // a run, drawn live from its events
  // ---------------------------------------------------------------------------
  var outcomeOf = { TaskSucceeded: "succeeded", TaskFailed: "failed", TaskTimedOut: "timed-out", TaskInterrupted: "interrupted" };
  var labelOf = { succeeded: "succeeded", failed: "failed", "timed-out": "timed out", interrupted: "interrupted" };

  function Run(id) {
    this.id = id;
    this.info = null;
    this.startedAt = null;
    this.concurrency = 1;
    this.total = 0;
    this.counts = { succeeded: 0, failed: 0, "timed-out": 0, interrupted: 0 };
    this.ended = {};
    this.done = 0;
    this.bars = [];
    this.running = {};
    this.tokensIn = 0;
    this.tokensOut = 0;
    this.lastId = 0;
    this.finished = false;
    this.closed = false;
    this.controller = null;
    this.scheduled = false;
    this.lastEventAt = null;
  }
  Run.prototype.close = function () {
    this.closed = true;
    if (this.controller) this.controller.abort();
  };
  Run.prototype.event = function (type, data) {
    if (data.at !== undefined) this.lastEventAt = data.at;
    switch (type) {
      case "RunStarted":
        this.startedAt = data.at;
        this.concurrency = data.concurrency;
        this.total = data.total || 0;
        break;
      case "TaskStarted":
        this.running[data.taskId] = { start: data.at, attempt: data.attempt, agent: data.agent, text: "" };
        break;
      case "TaskOutput": {
        var task = this.running[data.taskId];
        if (task && task.attempt === data.attempt) {
          task.text += data.delta;
          if (task.text.length > 4000) task.text = "…" + task.text.slice(-4000);
        }
        break;
      }
      case "TaskSucceeded":
      case "TaskFailed":
      case "TaskTimedOut":
      case "TaskInterrupted": {
        // The result leaves out what the event and the task's TaskStarted say: its id, its status, its agent.
        var last = this.running[data.taskId];
        delete this.running[data.taskId];
        if (this.ended[data.taskId]) break;
        this.ended[data.taskId] = true;
        var outcome = outcomeOf[type];
        var result = data.result;
        this.counts[outcome]++;
        this.done++;
        if (result.usage) {
          this.tokensIn += result.usage.inputTokens;
          this.tokensOut += result.usage.outputTokens;
        }
        if (result.startedAt != null && this.startedAt !== null) {
          var start = result.startedAt - this.startedAt;
          this.bars.push({
            taskId: data.taskId,
            lane: Math.max(0, result.slot),
            start: start,
            duration: result.durationMillis,
            outcome: outcome,
            details: Charts.barDetails({
              taskId: data.taskId,
              agent: result.agent || (last ? last.agent : undefined),
              outcome: labelOf[outcome],
              start: start,
              duration: result.durationMillis,
              error: result.error
            })
          });
        }
        break;
      }
      case "RunFinished":
        this.finished = true;
        this.running = {};
        break;
    }
    this.schedule();
  };
  Run.prototype.schedule = function () {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    var self = this;
    // A big run redraws less often: its timeline has many bars.
    var delay = this.bars.length > 2000 ? 1000 : this.bars.length > 500 ? 400 : 150;
    setTimeout(function () { self.scheduled = false; if (!self.closed) self.render(); }, delay);
  };
  Run.prototype.now = function () {
    if (this.finished && this.info && this.info.endedAt) return this.info.endedAt;
    return Math.max(Date.now(), this.lastEventAt || 0);
  };
  Run.prototype.render = function () {
    var info = this.info;
    $("run-title").textContent = "Run " + this.id + (info ? ": " + info.agent : "");
    var state = info ? info.state : "running";
    if (this.finished && state === "running") state = "finished";
    var badge = $("run-state");
    badge.className = "state state-" + state;
    badge.textContent = state;
    $("cancel").disabled = this.finished || state !== "running";
    var self = this;
    ["succeeded", "failed", "timed-out", "interrupted"].forEach(function (key) {
      $("c-" + key).textContent = Charts.formatCount(self.counts[key]);
    });
    var ids = Object.keys(this.running);
    $("c-in-flight").textContent = Charts.formatCount(ids.length);
    var total = this.total || (info ? info.tasks : 0);
    $("c-done").textContent = Charts.formatCount(this.done) + " / " + Charts.formatCount(total);
    $("progress").style.width = (total ? Math.min(100, (100 * this.done) / total) : 0) + "%";
    var elapsed = this.startedAt === null ? 0 : this.now() - this.startedAt;
    $("c-rate").textContent = elapsed > 0 ? (this.done / (elapsed / 1000)).toFixed(1) : "-";
    $("c-tokens").textContent = Charts.formatCount(this.tokensIn) + " / " + Charts.formatCount(this.tokensOut);

    // The timeline: ended tasks in their slot; a running one (whose slot is not known yet) growing in the lane
    // that was free when it started, the one freed last before it.
    var bars = this.bars.slice();
    var lanes = Math.max(1, this.concurrency);
    bars.forEach(function (bar) { if (bar.lane >= lanes) lanes = bar.lane + 1; });
    var freeAt = [];
    for (var l = 0; l < lanes; l++) freeAt.push(0);
    bars.forEach(function (bar) { freeAt[bar.lane] = Math.max(freeAt[bar.lane], bar.start + bar.duration); });
    var used = {};
    var span = Math.max(elapsed, 1);
    ids.sort(function (a, b) { return self.running[a].start - self.running[b].start; });
    ids.forEach(function (id) {
      var task = self.running[id];
      var start = self.startedAt === null ? 0 : task.start - self.startedAt;
      var lane = -1;
      for (var l = 0; l < freeAt.length; l++) {
        if (!used[l] && freeAt[l] <= start + 1 && (lane < 0 || freeAt[l] > freeAt[lane])) lane = l;
      }
      if (lane < 0) { lane = 0; while (used[lane]) lane++; }
      used[lane] = true;
      if (lane >= lanes) lanes = lane + 1;
      bars.push({
        taskId: id,
        lane: lane,
        start: start,
        duration: Math.max(0, elapsed - start),
        outcome: "running",
        details: id + "\\nagent: " + task.agent + "\\noutcome: running\\nstart: +" + Charts.formatMillis(start)
      });
    });
    bars.forEach(function (bar) { span = Math.max(span, bar.start + bar.duration); });
    $("timeline").innerHTML = Charts.timelineSvg(lanes, span, bars);

    // What each running task is writing.
    var list = $("outputs");
    list.textContent = "";
    if (ids.length === 0) {
      var none = document.createElement("li");
      none.className = "empty";
      none.textContent = this.finished ? "The run has ended." : "No task is running.";
      list.appendChild(none);
    }
    ids.slice(0, 50).forEach(function (id) {
      var task = self.running[id];
      var item = document.createElement("li");
      item.setAttribute("data-task-id", id);
      var head = document.createElement("div");
      head.className = "task";
      head.textContent = id + " (" + task.agent + ")";
      var text = document.createElement("div");
      text.className = "text";
      text.textContent = task.text || "…";
      item.appendChild(head);
      item.appendChild(text);
      list.appendChild(item);
    });
    if (!this.finished && !this.closed) this.schedule();
  };

  // The events, read with fetch (EventSource cannot send the token), resumed after a dropped connection.
  Run.prototype.follow = function () {
    var self = this;
    if (this.closed) return;
    this.controller = new AbortController();
    var headers = {};
    if (this.lastId > 0) headers["last-event-id"] = String(this.lastId);
    api("/runs/" + encodeURIComponent(this.id) + "/events", { headers: headers, signal: this.controller.signal })
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        $("connection").textContent = "";
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) return;
            buffer += decoder.decode(chunk.value, { stream: true });
            var blocks = buffer.split("\\n\\n");
            buffer = blocks.pop();
            blocks.forEach(function (block) { self.block(block); });
            return pump();
          });
        }
        return pump();
      })
      .then(function () {
        if (!self.finished && !self.closed) setTimeout(function () { self.follow(); }, 1000);
        else self.refresh();
      })
      .catch(function (error) {
        if (self.closed || error.name === "AbortError" || error.message === "unauthorized") return;
        $("connection").textContent = "Reconnecting…";
        setTimeout(function () { self.follow(); }, 2000);
      });
  };
  Run.prototype.block = function (block) {
    var id = null, type = "message", data = "";
    block.split("\\n").forEach(function (line) {
      if (line === "" || line.charAt(0) === ":") return;
      var i = line.indexOf(":");
      var field = i < 0 ? line : line.slice(0, i);
      var value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "id") id = Number(value);
      else if (field === "event") type = value;
      else if (field === "data") data += (data ? "\\n" : "") + value;
    });
    if (!data) return;
    if (id !== null) this.lastId = id;
    this.event(type, JSON.parse(data));
    if (type === "RunFinished") this.refresh();
  };
  Run.prototype.refresh = function () {
    var self = this;
    return json("/runs/" + encodeURIComponent(this.id)).then(function (info) {
      self.info = info;
      if (info.state !== "running") self.finished = true;
      self.render();
      refreshList();
    }).catch(function () {});
  };

  function select_(id) {
    if (selected) selected.close();
    selected = new Run(id);
    setHash(id);
    $("run").hidden = false;
    Array.prototype.forEach.call(document.querySelectorAll("#runs li"), function (item) {
      item.className = item.getAttribute("data-run-id") === id ? "selected" : "";
    });
    selected.refresh().then(function () { if (selected && selected.id === id) selected.follow(); });
    selected.render();
  }

  $("cancel").addEventListener("click", function () {
    if (!selected) return;
    var run = selected;
    $("cancel").disabled = true;
    json("/runs/" + encodeURIComponent(run.id), { method: "DELETE" }).then(function (info) {
      run.info = info;
      run.render();
      refreshList();
    }).catch(function () {});
  });

  // Results and report are fetched with the token, then opened from memory.
  function openBlob(path, type, download) {
    return api(path).then(function (response) { return response.blob(); }).then(function (blob) {
      var url = URL.createObjectURL(new Blob([blob], { type: type }));
      var link = document.createElement("a");
      link.href = url;
      if (download) link.download = download; else link.target = "_blank";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    });
  }
  $("results").addEventListener("click", function () {
    if (selected) openBlob("/runs/" + encodeURIComponent(selected.id) + "/results", "application/x-ndjson", "results-" + selected.id + ".jsonl").catch(function () {});
  });
  $("report").addEventListener("click", function () {
    if (selected) openBlob("/runs/" + encodeURIComponent(selected.id) + "/report", "text/html", null).catch(function () {});
  });

  // The timeline's tooltip, as in the report.
  var tip = $("tip"), active = null;
  function place(e) {
    var w = tip.offsetWidth, h = tip.offsetHeight, x = e.clientX + 14, y = e.clientY + 14;
    if (x + w > innerWidth - 8) x = Math.max(8, e.clientX - w - 14);
    if (y + h > innerHeight - 8) y = Math.max(8, e.clientY - h - 14);
    tip.style.left = x + "px"; tip.style.top = y + "px";
  }
  document.addEventListener("mouseover", function (e) {
    var bar = e.target && e.target.closest ? e.target.closest(".bar") : null;
    if (!bar) { tip.hidden = true; active = null; return; }
    var title = bar.querySelector("title");
    active = bar;
    tip.textContent = title ? title.textContent : "";
    tip.hidden = false; place(e);
  });
  document.addEventListener("mousemove", function (e) { if (active) place(e); });

  // Start: the token from the address (then taken out of it), or from this tab, or asked for.
  var params = hashParams();
  if (params.token) {
    sessionStorage.setItem("parallel-agents-token", params.token);
    setHash(params.run || null);
  }
  var saved = sessionStorage.getItem("parallel-agents-token");
  if (saved) login(saved); else logout();
})();
`
