"""The HTML report's stylesheet and script, inlined into every report.html (no file, no network).

The script is a constant: the page's Content-Security-Policy allows it by its sha256, so any
change here changes the hash the report states (tests check both).
"""

from __future__ import annotations

from auditor.report.plots import VERDICT_COLOURS

__all__ = ["CSS", "SCRIPT"]

CSS = """
:root{--pass:%(pass)s;--fail:%(fail)s;--ind:%(indeterminate)s;--err:%(error)s;--wvd:%(waived)s;--ink:#1d2330;--muted:#5b6472;--rule:#d9dde3;--bg:#f6f7f9}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1180px;padding:20px 28px 40px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;color:var(--ink);background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--ink)}h3{font-size:15px;margin:16px 0 6px}
.sub,.hint,.muted{color:var(--muted)}.hint{font-size:12.5px;margin:4px 0 8px}
nav{display:flex;gap:14px;margin:8px 0 0;font-size:13px}nav a{color:#2458a6;text-decoration:none}
code{font:12px/1.3 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
.verdict{display:flex;align-items:center;gap:16px;padding:12px 18px;border-radius:6px;color:#fff;margin:14px 0 10px}
.verdict .label{font-size:13px;text-transform:uppercase;letter-spacing:.08em;opacity:.9}.verdict .value{font-size:28px;font-weight:700;letter-spacing:.04em}.verdict .why{font-size:14px}
.verdict.v-fail{background:var(--fail)}.verdict.v-pass{background:var(--pass)}.verdict.v-indeterminate{background:var(--ind)}
.cards{display:flex;gap:10px;margin:0 0 12px}.card{flex:1;border:1px solid var(--rule);border-top:5px solid var(--muted);border-radius:4px;padding:6px 12px}
.card .count{font-size:24px;font-weight:700}.card.v-pass{border-top-color:var(--pass)}.card.v-fail{border-top-color:var(--fail)}.card.v-indeterminate{border-top-color:var(--ind)}.card.v-error{border-top-color:var(--err)}.card.v-waived{border-top-color:var(--wvd)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:8px 0}dl.facts dt{font-weight:600;color:var(--muted)}dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%%;margin:6px 0 10px;font-size:12.5px}
th,td{border-bottom:1px solid var(--rule);padding:4px 6px;text-align:left;vertical-align:top}th{background:var(--bg);font-weight:600;white-space:nowrap}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}td.hash{font:11px ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all}
table.counts td.num{width:4.5em}
td.note{font-size:12px;color:#333;min-width:18em}td.id{white-space:nowrap}
.rel{font-weight:600}.rel-inside{color:var(--pass)}.rel-outside{color:var(--fail)}.rel-indeterminate{color:#8a5a00}.rel-none{color:var(--muted)}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;font-size:11.5px;font-weight:600;white-space:nowrap;border:1px solid currentColor}
.s-pass{color:var(--pass)}.s-fail{color:#fff;background:var(--fail);border-color:var(--fail)}.s-indeterminate{color:#8a5a00;background:#fff3d6}.s-error{color:#fff;background:var(--err);border-color:var(--err)}.s-not_applicable{color:var(--muted)}.s-waived{color:var(--wvd)}
ul.evidence{margin:0;padding-left:16px;font-size:12px}.missing{font-size:12px;color:#8a5a00;margin-top:2px}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:center;background:var(--bg);border:1px solid var(--rule);border-radius:4px;padding:6px 10px;font-size:13px}
.filters select{font:inherit;padding:1px 4px}.filters button{font:inherit}.shown{margin-left:auto;color:var(--muted)}
tr[hidden]{display:none}tr.flash{background:#fff7c2}
.map-wrap{border:1px solid var(--rule);border-radius:4px;overflow:hidden;background:#fff}
#map{display:block;max-width:100%%;height:auto;margin:0 auto;font:11px system-ui,sans-serif}
#map .map-bg{fill:#f4f6f8}#map .band{fill:%(indeterminate)s;fill-opacity:.35;stroke:none}
#map .part-fill{fill:#dbe8f5;stroke:none}#map .part-fill.envelope{fill:none}#map .part{fill:none;stroke:#2f5d8a;stroke-width:1}#map .part.envelope{stroke-dasharray:5 3}
#map .part-label{font-size:12px;font-weight:600;fill:#2f5d8a;paint-order:stroke;stroke:#fff;stroke-width:3px;text-anchor:middle}
#map .marker{cursor:pointer;stroke:#fff;stroke-width:1.2}#map .marker:focus{outline:none}#map .marker:focus>*,#map .marker:hover>*{stroke:#000;stroke-width:2}
.v-pass>*:not(title){fill:var(--pass)}.v-fail>*:not(title){fill:var(--fail)}.v-indeterminate>*:not(title){fill:var(--ind)}
#map .marker.dim{opacity:.15}#map .marker-label{font-size:10.5px;fill:#222;paint-order:stroke;stroke:#fff;stroke-width:3px}
.registration{fill:#1d2330;stroke:#fff;stroke-width:1}
#map .scale path{fill:none;stroke:#222;stroke-width:1.5}#map .scale text,#map .north text{font-size:11px;fill:#222}#map .north path{fill:#222}
.legend{display:flex;flex-wrap:wrap;gap:16px;font-size:12.5px;margin:6px 0}.legend span{display:inline-flex;align-items:center;gap:5px}
.legend svg circle,.legend svg rect,.legend svg path{stroke:#fff}
.swatch{display:inline-block;width:14px;height:10px;border:1px solid #2f5d8a}.swatch.part{background:#dbe8f5}.swatch.band{background:rgba(217,140,0,.35);border-color:transparent}
figure.plot{margin:14px 0;break-inside:avoid}figure.plot svg{max-width:100%%;height:auto}figcaption{font-size:12.5px;color:var(--muted)}
ul.warnings li{color:#8a5a00}
.scroll{overflow-x:auto}table.wide{font-size:11.5px}table.wide td{word-break:break-word;min-width:5em}
.print-only{display:none}
#map .dots{fill:none;stroke-width:3.2;stroke-linecap:round}#map .dots.v-pass{stroke:var(--pass)}#map .dots.v-fail{stroke:var(--fail)}
#map .dots.v-indeterminate{stroke:var(--ind)}#map .dots.v-error{stroke:var(--err)}#map .dots.v-waived{stroke:var(--wvd)}
footer{margin-top:30px;font-size:11px;color:var(--muted);border-top:1px solid var(--rule);padding-top:6px}
@media print{
 @page{size:A4;margin:14mm 12mm}
 body{max-width:none;padding:0;font-size:10pt}
 .no-print,.filters,nav{display:none!important}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 h2{break-after:avoid}tr,figure,.verdict,.cards,.map-wrap{break-inside:avoid}
 .print-only{display:block;font-size:9pt;color:var(--muted)}
 .scroll{overflow:visible}table.wide{font-size:7.5pt}table.wide td{min-width:0}
 th{white-space:normal}th,td{padding:2px 4px}td.num.coord{white-space:normal}td.note{min-width:0}td.id{white-space:normal}
 thead{display:table-header-group}
 table{font-size:8.5pt}td.note{max-width:none}
 #map-section{break-before:page}
 tr.passing{display:none}
 #facilities,#findings{break-before:page}
 .evidence{font-size:7pt}
}
""" % VERDICT_COLOURS  # noqa: UP031 - a CSS template full of braces, filled with %

SCRIPT = """
(function(){
"use strict";
function apply(table){
  var sels=[].slice.call(document.querySelectorAll('select[data-filter-for="'+table+'"]'));
  var rows=[].slice.call(document.querySelectorAll('#'+table+' tbody tr'));
  var shown=0;
  rows.forEach(function(tr){
    var ok=sels.every(function(s){return !s.value||tr.getAttribute('data-'+s.getAttribute('data-key'))===s.value;});
    tr.hidden=!ok; if(ok){shown++;}
  });
  var c=document.querySelector('[data-count-for="'+table+'"]');
  function fill(el,f){return (el.getAttribute('data-template')||'').replace('{shown}',shown).replace('{total}',rows.length).replace('{filters}',f||'');}
  if(c){c.textContent=fill(c);}
  var p=document.querySelector('[data-state-for="'+table+'"]');
  if(p){
    var active=sels.filter(function(s){return s.value;}).map(function(s){return s.getAttribute('data-key')+' = '+s.value;});
    p.textContent=active.length?fill(p,active.join(', ')):'';
  }
  if(table==='finding-table'){
    var kind=document.getElementById('filter-finding-table-kind').value;
    var fac=document.getElementById('filter-finding-table-facility').value;
    [].slice.call(document.querySelectorAll('#map .marker')).forEach(function(m){
      var on=(!kind||m.getAttribute('data-kind')===kind)&&(!fac||m.getAttribute('data-id')===fac);
      m.classList.toggle('dim',!on);
    });
  }
}
[].slice.call(document.querySelectorAll('select[data-filter-for]')).forEach(function(s){
  s.addEventListener('change',function(){apply(s.getAttribute('data-filter-for'));});
});
['facility-table','finding-table'].forEach(apply);
var clear=document.getElementById('clear-filters');
if(clear){clear.addEventListener('click',function(){
  [].slice.call(document.querySelectorAll('select[data-filter-for="finding-table"]')).forEach(function(s){s.value='';});
  apply('finding-table');
});}
function pick(m){
  var id=m.getAttribute('data-id');
  var sel=document.getElementById('filter-finding-table-facility');
  var has=[].slice.call(sel.options).some(function(o){return o.value===id;});
  sel.value=has?id:'';
  apply('finding-table');
  [].slice.call(document.querySelectorAll('#facility-table tbody tr')).forEach(function(tr){
    tr.classList.toggle('flash',tr.getAttribute('data-facility')===id);
  });
  document.getElementById('findings').scrollIntoView({block:'start'});
}
[].slice.call(document.querySelectorAll('#map .marker')).forEach(function(m){
  m.addEventListener('click',function(){pick(m);});
  m.addEventListener('keydown',function(ev){if(ev.key==='Enter'||ev.key===' '){ev.preventDefault();pick(m);}});
});
})();
"""
