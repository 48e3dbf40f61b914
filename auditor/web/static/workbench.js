// The workbench's script: drag and drop on the upload page, progress polling on the audit page, the
// map and the facility panel on the results page. Every string from the server is set with
// textContent, never as markup; nothing is fetched from anywhere but this server.
(function () {
  "use strict";
  var csrf = document.body.getAttribute("data-csrf") || "";

  function words() {
    var out = {};
    var tpl = document.getElementById("words");
    if (!tpl) { return out; }
    tpl.content.querySelectorAll("[data-key]").forEach(function (el) { out[el.getAttribute("data-key")] = el.textContent; });
    return out;
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  // -- upload: drop files on the box ---------------------------------------------------------------
  var drop = document.getElementById("drop");
  if (drop && window.DataTransfer) {
    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      drop.addEventListener(type, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      var files = Array.prototype.slice.call(e.dataTransfer.files || []);
      var isProfile = function (f) { return /\.(ya?ml|toml)$/i.test(f.name) && !/waiver/i.test(f.name); };
      var isWaivers = function (f) { return /\.ya?ml$/i.test(f.name) && /waiver/i.test(f.name); };
      var put = function (name, file) {
        var dt = new DataTransfer();
        dt.items.add(file);
        document.querySelector("input[name='" + name + "']").files = dt.files;
      };
      var profile = files.filter(isProfile)[0];
      var waivers = files.filter(isWaivers)[0];
      var lists = files.filter(function (f) { return f !== profile && f !== waivers; });
      if (profile) { put("file", profile); if (lists[0]) { put("list_file", lists[0]); } }
      else if (lists[0]) { put("file", lists[0]); }
      if (waivers) { put("waivers", waivers); }
    });
  }

  // -- audit: poll the status, cancel ----------------------------------------------------------------
  var job = document.getElementById("job");
  if (job) {
    var w = words();
    var statusUrl = job.getAttribute("data-status");
    var resultsUrl = job.getAttribute("data-results");
    var poll = function () {
      fetch(statusUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          document.getElementById("state").textContent = w[s.state] || s.state;
          document.getElementById("step").textContent = w[s.step] || s.step || "";
          var count = (s.done === null || s.done === undefined) ? "" : String(s.done);
          if (s.total !== null && s.total !== undefined) { count += " / " + s.total; }
          document.getElementById("count").textContent = count;
          var bar = document.getElementById("bar");
          if (s.total) { bar.max = s.total; bar.value = s.done || 0; }
          if (s.state === "done") { window.location.assign(resultsUrl); return; }
          if (s.state === "failed" || s.state === "cancelled") {
            var live = document.getElementById("live-error");
            live.textContent = (s.state === "failed" ? w["failed-text"] + " " + (s.error || "") : w["cancelled-text"]);
            live.hidden = false;
            var form = document.getElementById("cancel-form");
            if (form) { form.hidden = true; }
            return;
          }
          window.setTimeout(poll, 700);
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    };
    poll();
    var cancel = document.getElementById("cancel-form");
    if (cancel) {
      cancel.addEventListener("submit", function (e) {
        e.preventDefault();
        fetch(cancel.action, { method: "POST", headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
                               credentials: "same-origin" });
      });
    }
  }

  // -- results: the map, the table, the facility panel ------------------------------------------
  var mapEl = document.getElementById("map");
  if (mapEl && window.L) {
    var w2 = words();
    var data = null;
    var markers = {};
    var map = L.map(mapEl, { zoomSnap: 0.25, attributionControl: true });
    map.attributionControl.setPrefix("Leaflet");
    var table = document.getElementById("facilities");

    var select = function (index) {
      if (!data) { return; }
      var f = data.facilities[index];
      if (!f) { return; }
      document.getElementById("panel-hint").hidden = true;
      document.getElementById("panel-body").hidden = false;
      document.getElementById("panel-title").textContent = f.id + (f.name ? " — " + f.name : "");
      var v = document.getElementById("panel-verdict");
      v.textContent = f.verdict_word;
      v.className = "verdict v-" + f.verdict;
      document.getElementById("panel-basis").textContent = f.basis_word || (f.basis || []).join(" + ");
      var where = [];
      if (f.lon !== null) { where.push(f.lon + ", " + f.lat); }
      if (f.distance_m !== null && f.distance_m !== undefined) { where.push(w2.distance + ": " + Math.round(f.distance_m)); }
      if (f.parts && f.parts.length) { where.push(f.parts.join(", ")); }
      document.getElementById("panel-where").textContent = where.join(" · ");
      var errors = document.getElementById("panel-errors");
      errors.replaceChildren();
      (f.errors || []).forEach(function (text) { errors.appendChild(el("li", text)); });
      var body = document.getElementById("panel-findings");
      body.replaceChildren();
      (f.findings || []).forEach(function (x) {
        var tr = el("tr");
        tr.appendChild(el("td", x.title || x.rule));
        var td = el("td");
        td.appendChild(el("span", data.verdict_words[x.status] || x.status, "verdict v-" + x.status));
        tr.appendChild(td);
        var msg = el("td", x.message);
        if (x.missing) { msg.appendChild(el("div", w2.settle + ": " + x.missing, "small")); }
        if (x.waiver) { msg.appendChild(el("div", w2.waiver + ": " + (x.waiver.owner || "") + " — " + (x.waiver.reason || "") + " (" + (x.waiver.expires || "") + ")", "small")); }
        tr.appendChild(msg);
        body.appendChild(tr);
      });
      if (table) {
        table.querySelectorAll("tbody tr").forEach(function (tr) {
          tr.classList.toggle("selected", tr.getAttribute("data-index") === String(index));
        });
      }
      var m = markers[index];
      if (m) { m.openPopup(); }
    };

    fetch(mapEl.getAttribute("data-geojson"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (doc) {
        data = doc;
        var regions = L.geoJSON({ type: "FeatureCollection", features: doc.features.filter(function (f) { return f.properties.layer === "region"; }) }, {
          style: function (f) { return { color: "#3182bd", weight: 1.5, fillColor: "#9ecae1", fillOpacity: f.properties.role === "core" ? 0.35 : 0.15 }; },
          onEachFeature: function (f, layer) { layer.bindTooltip(el("span", f.properties.id + " — " + (document.documentElement.lang === "zh-CN" ? f.properties.name_zh : f.properties.name_en))); }
        }).addTo(map);
        var points = L.featureGroup().addTo(map);
        doc.features.forEach(function (f) {
          var p = f.properties;
          if (p.layer !== "facility" && p.layer !== "discovered") { return; }
          var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
          var colour = p.layer === "facility" ? p.colour : "#000000";
          var m = L.circleMarker(ll, { radius: p.layer === "facility" ? 6 : 4, color: "#222", weight: 1, fillColor: colour, fillOpacity: 0.9 });
          m.bindPopup(el("span", (p.id || p.address || "") + (p.name ? " — " + p.name : "")));
          if (p.layer === "facility") {
            markers[p.index] = m;
            m.on("click", function () { select(p.index); });
          }
          m.addTo(points);
        });
        var bounds = regions.getBounds();
        if (points.getLayers().length) { bounds.extend(points.getBounds()); }
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); } else { map.setView([35, 110], 4); }
      });

    if (table) {
      table.addEventListener("click", function (e) {
        var tr = e.target.closest("tr[data-index]");
        if (!tr) { return; }
        if (e.target.closest("a")) { e.preventDefault(); }
        select(Number(tr.getAttribute("data-index")));
      });
    }
    var filters = document.getElementById("filters");
    if (filters && table) {
      var apply = function () {
        var verdict = filters.elements.verdict.value, rule = filters.elements.rule.value, kind = filters.elements.kind.value;
        var shown = 0, rows = table.querySelectorAll("tbody tr");
        rows.forEach(function (tr) {
          var ok = (!verdict || tr.getAttribute("data-verdict") === verdict) && (!kind || tr.getAttribute("data-kind") === kind)
            && (!rule || (" " + tr.getAttribute("data-rules") + " ").indexOf(" " + rule + " ") >= 0);
          tr.hidden = !ok;
          if (ok) { shown += 1; }
          var m = markers[tr.getAttribute("data-index")];
          if (m) { m.setStyle({ opacity: ok ? 1 : 0.15, fillOpacity: ok ? 0.9 : 0.1 }); }
        });
        document.getElementById("shown").textContent = shown + " / " + rows.length;
      };
      filters.addEventListener("change", apply);
    }
  }
}());
