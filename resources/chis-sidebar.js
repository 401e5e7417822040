/* The "CHIS" sidebar tab of @chis-interop/node-red-chis: outbox queues and dead letters (retry,
 * discard), and a search of the request log. Loaded by the outbox nodes' edit files. */
(function () {
  'use strict';
  if (window.CHIS_SIDEBAR_LOADED) return;
  window.CHIS_SIDEBAR_LOADED = true;

  function text(value) {
    return $('<span>').text(value === undefined || value === null ? '' : String(value));
  }

  function preview(value, max) {
    var json;
    try { json = JSON.stringify(value); } catch { json = String(value); }
    if (json === undefined) json = '';
    return json.length > max ? json.slice(0, max) + '…' : json;
  }

  function time(ms) {
    return ms ? new Date(ms).toLocaleString() : '';
  }

  function failure(xhr) {
    var body = xhr && xhr.responseJSON;
    return (body && body.error) || (xhr && xhr.status ? 'HTTP ' + xhr.status : 'no answer');
  }

  function build() {
    var $content = $('<div class="chis-sidebar" style="padding:8px;overflow-y:auto;height:100%;box-sizing:border-box;"></div>');

    // ---- Outbox -------------------------------------------------------------------------------
    var $outbox = $('<div class="chis-sidebar-outbox"></div>').appendTo($content);
    var $outboxHead = $('<div style="display:flex;justify-content:space-between;align-items:center;"><h4 style="margin:4px 0;">Outbox</h4></div>').appendTo($outbox);
    $('<button class="red-ui-button red-ui-button-small"><i class="fa fa-refresh"></i></button>')
      .attr('title', 'refresh').appendTo($outboxHead).on('click', refreshOutbox);
    var $queues = $('<table class="chis-sidebar-queues" style="width:100%;font-size:12px;border-collapse:collapse;"></table>').appendTo($outbox);
    var $deadHead = $('<h5 style="margin:10px 0 4px;">Dead letters</h5>').appendTo($outbox);
    var $queueFilter = $('<select style="width:100%;margin-bottom:4px;"><option value="">all queues</option></select>').insertAfter($deadHead);
    var $dead = $('<div class="chis-sidebar-dead"></div>').appendTo($outbox);
    $queueFilter.on('change', refreshDeadLetters);

    function refreshOutbox() {
      $.getJSON('chis/outbox').done(function (data) {
        $queues.empty();
        $('<tr><th style="text-align:left">queue</th><th>waiting</th><th>sending</th><th>dead</th><th>circuit</th></tr>').appendTo($queues);
        var selected = $queueFilter.val();
        $queueFilter.find('option:not(:first)').remove();
        (data.queues || []).forEach(function (queue) {
          var circuit = queue.circuit || 'no sender';
          if (queue.circuit === 'open') circuit += ' (retry in ' + Math.ceil((queue.retryInMs || 0) / 1000) + ' s)';
          $('<tr>')
            .append($('<td>').append(text(queue.queue)))
            .append($('<td style="text-align:center">').append(text(queue.ready)))
            .append($('<td style="text-align:center">').append(text(queue.inflight)))
            .append($('<td style="text-align:center">').append(text(queue.dead)))
            .append($('<td style="text-align:center">').append(text(circuit)))
            .appendTo($queues);
          $('<option>').val(queue.queue).text(queue.queue).appendTo($queueFilter);
        });
        if (!(data.queues || []).length) $('<tr><td colspan="5"><i>no queues yet</i></td></tr>').appendTo($queues);
        $queueFilter.val(selected || '');
        refreshDeadLetters();
      }).fail(function (xhr) {
        $queues.empty().append($('<tr><td></td></tr>').find('td').text('outbox not available: ' + failure(xhr)).end());
      });
    }

    function act(method, url) {
      $.ajax({ url: url, method: method }).done(refreshOutbox).fail(function (xhr) {
        RED.notify('CHIS outbox: ' + failure(xhr), 'error');
      });
    }

    function refreshDeadLetters() {
      $.getJSON('chis/outbox/dead-letters', { queue: $queueFilter.val() || '', limit: 50 }).done(function (data) {
        $dead.empty();
        var letters = data.deadLetters || [];
        if (!letters.length) $dead.append('<div><i>no dead letters</i></div>');
        letters.forEach(function (letter) {
          var error = letter.error || {};
          var $item = $('<div style="border:1px solid #ddd;border-radius:3px;padding:4px;margin-bottom:4px;font-size:12px;"></div>');
          $('<div>').append($('<b>').text('#' + letter.id + ' ' + letter.queue))
            .append(text(' · ' + letter.attempts + ' attempt(s) · ' + time(letter.updatedAt))).appendTo($item);
          if (letter.key) $('<div>').text('key: ' + letter.key).appendTo($item);
          $('<div style="color:#c00;">').text((error.code || 'error') + (error.status ? ' (' + error.status + ')' : '') + ': ' + (error.message || '')).appendTo($item);
          var payload = letter.msg ? letter.msg.payload : undefined;
          $('<pre style="white-space:pre-wrap;max-height:6em;overflow:auto;margin:4px 0;font-size:11px;">').text(preview(payload, 400)).appendTo($item);
          var $buttons = $('<div>').appendTo($item);
          $('<button class="red-ui-button red-ui-button-small">Retry</button>').appendTo($buttons).on('click', function () {
            act('POST', 'chis/outbox/dead-letters/' + letter.id + '/retry');
          });
          $('<button class="red-ui-button red-ui-button-small" style="margin-left:4px;">Discard</button>').appendTo($buttons).on('click', function () {
            act('DELETE', 'chis/outbox/dead-letters/' + letter.id);
          });
          $dead.append($item);
        });
      }).fail(function (xhr) {
        $dead.empty().append($('<div>').text('dead letters not available: ' + failure(xhr)));
      });
    }

    // ---- Request log --------------------------------------------------------------------------
    var $log = $('<div class="chis-sidebar-request-log" style="margin-top:14px;"><h4 style="margin:4px 0;">Request log</h4></div>').appendTo($content);
    var $form = $('<div style="display:flex;gap:4px;margin-bottom:4px;"></div>').appendTo($log);
    var $correlation = $('<input type="text" placeholder="correlation id (form, case or doc id)" style="flex:2;min-width:0;">').appendTo($form);
    var $status = $('<input type="text" placeholder="status" style="flex:1;min-width:0;">').appendTo($form);
    var $search = $('<button class="red-ui-button red-ui-button-small"><i class="fa fa-search"></i></button>').appendTo($form);
    var $entries = $('<div class="chis-sidebar-entries"></div>').appendTo($log);

    function searchLog() {
      var query = { limit: 50 };
      if ($correlation.val()) query.correlationId = $correlation.val();
      if ($status.val()) query.status = $status.val();
      $.getJSON('chis/request-log', query).done(function (data) {
        $entries.empty();
        var entries = (data && data.entries) || [];
        if (!entries.length) $entries.append('<div><i>no requests found</i></div>');
        entries.forEach(function (entry) {
          var $item = $('<div style="border:1px solid #ddd;border-radius:3px;padding:4px;margin-bottom:4px;font-size:12px;"></div>');
          var when = entry.time ? new Date(entry.time).toLocaleString() : '';
          $('<div>').append($('<b>').text((entry.status === undefined || entry.status === null ? '—' : entry.status) + ' ' + (entry.method || '') + ' '))
            .append(text(entry.url)).appendTo($item);
          $('<div style="color:#777;">').text([entry.system, when, entry.durationMs !== undefined ? entry.durationMs + ' ms' : '', entry.correlationId ? 'id ' + entry.correlationId : ''].filter(Boolean).join(' · ')).appendTo($item);
          if (entry.error) $('<div style="color:#c00;">').text(typeof entry.error === 'string' ? entry.error : preview(entry.error, 300)).appendTo($item);
          [['request', entry.requestBody], ['response', entry.responseBody]].forEach(function (part) {
            if (part[1] === undefined || part[1] === null || part[1] === '') return;
            var body = typeof part[1] === 'string' ? part[1] : preview(part[1], 2000);
            $('<details>').append($('<summary>').text(part[0])).append($('<pre style="white-space:pre-wrap;max-height:10em;overflow:auto;font-size:11px;">').text(body)).appendTo($item);
          });
          $entries.append($item);
        });
      }).fail(function (xhr) {
        $entries.empty().append($('<div>').text(xhr.status === 404 ? 'request log not available' : 'request log: ' + failure(xhr)));
      });
    }
    $search.on('click', searchLog);
    $correlation.add($status).on('keydown', function (event) { if (event.key === 'Enter') searchLog(); });

    return { content: $content, refresh: function () { refreshOutbox(); } };
  }

  function install() {
    var panel = build();
    RED.sidebar.addTab({
      id: 'chis',
      label: 'CHIS',
      name: 'CHIS',
      iconClass: 'fa fa-inbox',
      content: panel.content,
      enableOnEdit: true,
      onchange: panel.refresh,
    });
    panel.refresh();
    // Counts move while messages are sent: keep them current while the tab is on screen.
    window.setInterval(function () {
      if (panel.content.is(':visible')) panel.refresh();
    }, 5000);
  }

  if (window.RED && RED.sidebar) install();
  else $(install);
})();
