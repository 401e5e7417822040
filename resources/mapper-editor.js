/*
 * Edit dialog of chis-mapper: one row per target field, a sample message and a live preview
 * computed by the runtime (POST chis/mapper/preview), so the editor runs the real engine.
 * Rows are built once when added; typing only schedules a preview, so 50+ rows stay fluid.
 */
(function () {
  'use strict';
  if (window.CHIS && window.CHIS.mapperEditor) return;

  var PREVIEW_DELAY_MS = 300;
  // Large forms (50+ rows): wait longer after the last keystroke, the preview maps every row.
  var PREVIEW_DELAY_LARGE_MS = 700;
  var LARGE_MAPPING_ROWS = 40;
  var SAMPLE_KEY = 'chis-mapper-sample:';
  // Remembered like the sample: whether the sample is the whole msg rather than msg.<Map from>.
  var WHOLE_MESSAGE = 'whole-msg:';
  var MAX_SUGGESTIONS = 200;
  var FORBIDDEN = ['__proto__', 'constructor', 'prototype'];
  var TYPES = ['auto', 'string', 'number', 'integer', 'boolean', 'date', 'datetime', 'json'];
  // Samples may hold patient data: kept for this browser tab's session (sessionStorage, so a
  // reload keeps it and closing the tab forgets it), never saved in the flow.
  var samples = {
    get: function (id) {
      try { return window.sessionStorage.getItem(SAMPLE_KEY + id) || ''; } catch { return ''; }
    },
    set: function (id, text) {
      try {
        if (text) window.sessionStorage.setItem(SAMPLE_KEY + id, text);
        else window.sessionStorage.removeItem(SAMPLE_KEY + id);
      } catch { /* storage full or disabled: the sample is simply not remembered */ }
    },
  };
  var pendingPreview;

  /** Values typed in a box: JSON when they parse as JSON (numbers, true, "quoted"), text otherwise. */
  function fromText(text) {
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  function toText(value) {
    if (value === undefined) return '';
    if (typeof value === 'string') {
      try {
        JSON.parse(value);
      } catch {
        return value;
      }
    }
    return JSON.stringify(value);
  }

  /** The same rules as the runtime's parser, for immediate feedback; the runtime has the last word. */
  function pathProblem(text, isTarget) {
    var path = text.trim();
    if (!path) return 'empty';
    var names = path.split(/[.[\]='"]/).map(function (part) { return part.trim(); });
    for (var i = 0; i < names.length; i += 1) {
      if (FORBIDDEN.indexOf(names[i]) !== -1) return '"' + names[i] + '" is not allowed';
    }
    if (/\.\.|^\.|\.$/.test(path)) return 'empty segment';
    if ((path.match(/\[/g) || []).length !== (path.match(/\]/g) || []).length) return 'unbalanced brackets';
    if (!isTarget && /\[\s*\]/.test(path)) return '[] only in targets';
    if (isTarget && /\[[^\]]*=[^\]]*\]$/.test(path)) return 'name a property after [key=value]';
    return '';
  }

  /** "form.case.@case_id", or form["odd.key"] for keys the dot notation cannot carry. */
  function joinPath(parent, key) {
    if (typeof key === 'number') return parent + '[' + key + ']';
    if (/^[^.[\]"'=]+$/.test(key)) return parent ? parent + '.' + key : key;
    return parent + '["' + key.replace(/"/g, '') + '"]';
  }

  function leaves(value, path, out) {
    if (out.length >= MAX_SUGGESTIONS) return out;
    if (Array.isArray(value)) {
      value.forEach(function (item, index) { leaves(item, joinPath(path, index), out); });
    } else if (value && typeof value === 'object' && Object.keys(value).length) {
      Object.keys(value).forEach(function (key) { leaves(value[key], joinPath(path, key), out); });
    } else if (path) {
      out.push(path);
    }
    return out;
  }

  function prepare(node) {
    var _ = function (key, options) { return node._('mapper.' + key, options); };
    // Labels added after the first release: English until the locale files carry them.
    var label = function (key, fallback, options) {
      var value = _(key, options);
      return value && value !== 'mapper.' + key ? value : fallback;
    };
    var mapping;
    try {
      mapping = JSON.parse($('#node-input-mapping').val() || '{}');
    } catch {
      mapping = {};
    }
    var fields = Array.isArray(mapping.fields) ? mapping.fields : [];
    var $list = $('#chis-mapper-rows');
    var $sample = $('#chis-mapper-sample');
    var $output = $('#chis-mapper-output');
    var $messages = $('#chis-mapper-messages');
    var requestSeq = 0;

    $('#node-input-sourceProperty').typedInput({ default: 'msg', types: ['msg'] });
    $('#node-input-outputProperty').typedInput({ default: 'msg', types: ['msg'] });
    $('#chis-mapper-keep').val(mapping.keep === 'source' ? 'source' : 'none');
    $sample.val(samples.get(node.id));
    var $wholeMessage = $('#chis-mapper-whole-msg').prop('checked', samples.get(WHOLE_MESSAGE + node.id) === '1');
    function sourceProperty() { return $('#node-input-sourceProperty').typedInput('value') || 'payload'; }

    var $target = $('#node-input-targetSchema');
    $.getJSON('chis/mapper/targets').done(function (targets) {
      targets.forEach(function (target) {
        $('<option>').val(target.name).text(target.title + ' (' + target.name + ')').appendTo($target);
      });
      var wanted = node.targetSchema || mapping.targetSchema || '';
      if (wanted && !$target.find('option').filter(function () { return this.value === wanted; }).length) {
        $('<option>').val(wanted).text(wanted + ' — ' + _('label.notRegistered')).appendTo($target);
      }
      $target.val(wanted);
    });

    function option(value, label) {
      return $('<option>').val(value).text(label);
    }

    function addValueMapEntry($entries, entry) {
      var $entry = $('<div class="chis-mapper-vm-entry">').appendTo($entries);
      $('<input type="text" class="chis-mapper-vm-from">').attr('placeholder', _('placeholder.from')).val(entry.from === undefined ? '' : String(entry.from)).appendTo($entry);
      $('<i class="fa fa-long-arrow-right"></i>').appendTo($entry);
      $('<input type="text" class="chis-mapper-vm-to">').attr('placeholder', _('placeholder.to')).val(toText(entry.to)).appendTo($entry);
      $('<button type="button" class="red-ui-button red-ui-button-small"><i class="fa fa-times"></i></button>')
        .on('click', function () {
          $entry.remove();
          $entries.trigger('chis-entries-changed');
          schedulePreview();
        })
        .appendTo($entry);
      $entries.trigger('chis-entries-changed');
    }

    function buildRow($row, _index, field) {
      field = field || {};
      var source = field.source || { kind: 'path', path: '' };
      var $main = $('<div class="chis-mapper-row-main">').appendTo($row);
      var $targetInput = $('<input type="text" class="chis-mapper-target">').attr('placeholder', _('placeholder.target')).val(field.target || '').appendTo($main);
      $('<i class="fa fa-long-arrow-left chis-mapper-arrow"></i>').appendTo($main);
      var $kind = $('<select class="chis-mapper-kind">')
        .append(option('path', _('kind.path')), option('jsonata', _('kind.jsonata')), option('constant', _('kind.constant')))
        .val(source.kind || 'path').appendTo($main);
      var sourceText = source.kind === 'jsonata' ? source.expression : source.kind === 'constant' ? toText(source.value) : source.path;
      var $source = $('<input type="text" class="chis-mapper-source">').val(sourceText || '').appendTo($main);
      var $type = $('<select class="chis-mapper-type">').appendTo($main);
      TYPES.forEach(function (type) { $type.append(option(type, _('type.' + type))); });
      $type.val(field.type || 'auto');
      var $requiredLabel = $('<label class="chis-mapper-required">').attr('title', _('label.required')).appendTo($main);
      var $required = $('<input type="checkbox">').prop('checked', field.required === true).appendTo($requiredLabel);
      $('<span>').text(_('label.requiredShort')).appendTo($requiredLabel);
      var $toggle = $('<button type="button" class="red-ui-button red-ui-button-small chis-mapper-more"><i class="fa fa-caret-right"></i></button>')
        .attr('title', _('label.more')).appendTo($main);

      var $message = $('<div class="chis-mapper-row-message">').appendTo($row);
      // Details are built now but hidden: building them on demand would complicate collecting.
      var $details = $('<div class="chis-mapper-details">').hide().appendTo($row);
      var $extras = $('<div class="chis-mapper-extras">').appendTo($details);
      var $default = $('<input type="text" class="chis-mapper-default">').attr('placeholder', _('placeholder.default')).val(toText(field.default)).appendTo($extras);
      var $timezone = $('<input type="text" class="chis-mapper-timezone">').attr('placeholder', _('placeholder.timezone')).val(field.timezone || '').appendTo($extras);
      var $omitLabel = $('<label class="chis-mapper-omit">').appendTo($extras);
      var $omit = $('<input type="checkbox">').prop('checked', field.omitIfEmpty !== false).appendTo($omitLabel);
      $('<span>').text(_('label.omitIfEmpty')).appendTo($omitLabel);
      var $note = $('<input type="text" class="chis-mapper-note">').attr('placeholder', _('placeholder.note')).val(field.note || '').appendTo($details);

      var valueMap = field.valueMap || { entries: [] };
      var $vm = $('<div class="chis-mapper-vm">').appendTo($details);
      $('<div class="chis-mapper-vm-title">').text(_('label.valueMap')).appendTo($vm);
      var $entries = $('<div class="chis-mapper-vm-entries">').appendTo($vm);
      (valueMap.entries || []).forEach(function (entry) { addValueMapEntry($entries, entry); });
      var $vmFooter = $('<div class="chis-mapper-vm-footer">').appendTo($vm);
      $('<button type="button" class="red-ui-button red-ui-button-small"><i class="fa fa-plus"></i> </button>')
        .append($('<span>').text(_('label.addEntry')))
        .on('click', function () { addValueMapEntry($entries, {}); })
        .appendTo($vmFooter);
      var $otherwise = $('<select class="chis-mapper-vm-otherwise">')
        .append(option('error', _('otherwise.error')), option('pass', _('otherwise.pass')), option('default', _('otherwise.default')))
        .val(valueMap.otherwise || 'error').appendTo($vmFooter);
      var $vmDefault = $('<input type="text" class="chis-mapper-vm-default">').attr('placeholder', _('placeholder.vmDefault')).val(toText(valueMap.default)).appendTo($vmFooter);

      function showDetails(open) {
        $details.toggle(open);
        $toggle.find('i').toggleClass('fa-caret-right', !open).toggleClass('fa-caret-down', open);
      }
      $toggle.on('click', function () { showDetails(!$details.is(':visible')); });
      // The collapsed row still says that a value map is there.
      var $vmSummary = $('<span class="chis-mapper-vm-badge">').appendTo($main);
      function refreshBadge() {
        var count = $entries.children().length;
        $vmSummary.text(count ? _('label.valueMapBadge', { count: count }) : '');
      }
      $entries.on('chis-entries-changed', refreshBadge);
      refreshBadge();

      function placeholderForKind() {
        $source.attr('placeholder', _('placeholder.' + $kind.val()));
        $timezone.toggle($type.val() === 'date' || $type.val() === 'datetime' || !!$timezone.val());
      }
      $kind.on('change', placeholderForKind);
      $type.on('change', placeholderForKind);
      placeholderForKind();

      function checkTarget() {
        var problem = pathProblem($targetInput.val(), true);
        $targetInput.toggleClass('input-error', !!problem).attr('title', problem);
      }
      function checkSource() {
        var problem = $kind.val() === 'path' ? pathProblem($source.val(), false) : '';
        $source.toggleClass('input-error', !!problem).attr('title', problem);
      }
      $targetInput.on('input', checkTarget);
      $source.on('input', checkSource);
      $kind.on('change', checkSource);
      checkTarget();
      checkSource();

      $row.data('chis-collect', function () {
        var kind = $kind.val();
        var text = $source.val();
        var result = { target: $targetInput.val().trim() };
        if (kind === 'jsonata') result.source = { kind: 'jsonata', expression: text };
        else if (kind === 'constant') result.source = { kind: 'constant', value: text === '' ? '' : fromText(text) };
        else result.source = { kind: 'path', path: text.trim() };
        if ($type.val() !== 'auto') result.type = $type.val();
        if ($timezone.val().trim()) result.timezone = $timezone.val().trim();
        if ($required.prop('checked')) result.required = true;
        if (!$omit.prop('checked')) result.omitIfEmpty = false;
        var fallback = fromText($default.val());
        if (fallback !== undefined) result.default = fallback;
        if ($note.val().trim()) result.note = $note.val().trim();
        var entries = [];
        $entries.children().each(function () {
          var from = $(this).find('.chis-mapper-vm-from').val();
          if (from !== '') entries.push({ from: from, to: fromText($(this).find('.chis-mapper-vm-to').val()) });
        });
        if (entries.length) {
          result.valueMap = { entries: entries };
          if ($otherwise.val() !== 'error') result.valueMap.otherwise = $otherwise.val();
          var vmDefault = fromText($vmDefault.val());
          if (vmDefault !== undefined) result.valueMap.default = vmDefault;
        }
        return result;
      });
      $row.data('chis-target', function () { return $targetInput.val().trim(); });
      $row.data('chis-source-path', function () { return $kind.val() === 'path' ? $source.val().trim() : ''; });
      $row.data('chis-show-error', function (text) {
        $row.toggleClass('chis-mapper-row-invalid', !!text);
        $message.text(text || '');
      });
      showDetails(false);
      // Marks rows whose collapsed settings are in use, so nothing is hidden by surprise.
      if (field.default !== undefined || field.timezone || field.note || field.omitIfEmpty === false) $toggle.addClass('chis-mapper-more-used');
    }

    $list.editableList({
      addItem: buildRow,
      removable: true,
      sortable: true,
      scrollOnAdd: true,
      addButton: _('label.addRow'),
      removeItem: function () { applyFilter(); schedulePreview(); },
      sortItems: function () { schedulePreview(); },
    });
    fields.forEach(function (field) { $list.editableList('addItem', field); });

    function rows() {
      return $list.editableList('items');
    }

    function showErrors(errors) {
      var byTarget = {};
      errors.forEach(function (error) {
        (byTarget[error.target] = byTarget[error.target] || []).push(error.message);
      });
      rows().each(function () {
        var messages = byTarget[$(this).data('chis-target')()];
        $(this).data('chis-show-error')(messages ? messages.join('; ') : '');
      });
      $messages.empty();
      errors.forEach(function (error) { $('<li>').text(error.message).appendTo($messages); });
      applyFilter();
    }

    var lastRequest;
    function preview() {
      var text = $sample.val().trim();
      var wholeMessage = $wholeMessage.is(':checked');
      remember(node);
      var request = JSON.stringify({ mapping: collectMapping(), sourceProperty: sourceProperty(), sample: text, wholeMessage: wholeMessage });
      if (request === lastRequest) return;
      lastRequest = request;
      if (!text) {
        $output.text(_('preview.noSample'));
        showErrors([]);
        return;
      }
      var sample;
      try {
        sample = JSON.parse(text);
      } catch (e) {
        $output.text(_('preview.badSample') + ' ' + e.message);
        return;
      }
      if (wholeMessage && !isObject(sample)) {
        $output.text(_('preview.notAMessage'));
        return;
      }
      var seq = ++requestSeq;
      $.ajax({
        url: 'chis/mapper/preview',
        method: 'POST',
        contentType: 'application/json',
        dataType: 'json',
        data: JSON.stringify({ mapping: collectMapping(), sample: sample, sourceProperty: sourceProperty(), wholeMessage: wholeMessage }),
      }).done(function (result) {
        if (seq !== requestSeq) return;
        $output.text(JSON.stringify(result.output, null, 2));
        showErrors(result.errors || []);
      }).fail(function (xhr) {
        if (seq !== requestSeq) return;
        var body = xhr.responseJSON || {};
        $output.text(_('preview.invalidMapping'));
        var row = /^mapping\.fields\[(\d+)\]/.exec(body.field || '');
        showErrors([]);
        if (row) $(rows()[Number(row[1])]).data('chis-show-error')(body.message);
        $('<li>').text(body.message || xhr.statusText).appendTo($messages);
      });
    }

    function schedulePreview() {
      clearTimeout(pendingPreview);
      pendingPreview = setTimeout(preview, rows().length > LARGE_MAPPING_ROWS ? PREVIEW_DELAY_LARGE_MS : PREVIEW_DELAY_MS);
    }

    // Filter over the rows: by any text in the row (target, source, note), or only rows in error.
    var $filter = $('#chis-mapper-filter').attr('placeholder', label('placeholder.filter', 'Filter fields, e.g. weight or case_id'));
    var $errorsOnly = $('#chis-mapper-errors-only');
    $('#chis-mapper-errors-only-label').text(label('label.errorsOnly', 'only fields with errors'));
    function applyFilter() {
      var words = String($filter.val() || '').toLowerCase().split(/\s+/).filter(Boolean);
      var errorsOnly = $errorsOnly.is(':checked');
      var total = 0;
      var shown = 0;
      rows().each(function () {
        var $row = $(this);
        var haystack = $row.find('input, select').map(function () { return String($(this).val() || ''); }).get().join(' ').toLowerCase();
        var visible = words.every(function (word) { return haystack.indexOf(word) !== -1; }) &&
          (!errorsOnly || $row.hasClass('chis-mapper-row-invalid') || $row.find('.chis-mapper-row-invalid').length > 0);
        $row.closest('li').toggle(visible);
        total += 1;
        if (visible) shown += 1;
      });
      $('#chis-mapper-count').text(shown === total ? label('label.fieldCount', total + ' fields', { count: total }) : label('label.fieldsShown', shown + ' of ' + total + ' fields', { shown: shown, count: total }));
    }
    $filter.on('input', applyFilter);
    $errorsOnly.on('change', applyFilter);
    applyFilter();

    $('#chis-mapper-editor').on('input change', 'input, select, textarea', function (event) {
      if (event.target === $filter[0] || event.target === $errorsOnly[0]) return;
      schedulePreview();
    });
    $target.on('change', schedulePreview);

    $('#chis-mapper-suggest').on('click', function () {
      var sample;
      try {
        sample = JSON.parse($sample.val());
      } catch {
        RED.notify(_('preview.badSample'), 'warning');
        return;
      }
      // Rows read paths inside msg.<Map from>: suggest from that part of a whole msg.
      if ($wholeMessage.is(':checked')) sample = isObject(sample) ? sourceOf(sample, sourceProperty()) : undefined;
      var usedSources = {};
      var usedTargets = {};
      rows().each(function () {
        usedSources[$(this).data('chis-source-path')()] = true;
        usedTargets[$(this).data('chis-target')()] = true;
      });
      var added = 0;
      leaves(sample, '', []).forEach(function (path) {
        if (usedSources[path]) return;
        // The last key without CommCare's @/# prefix is usually the name wanted; the full path when it clashes.
        var lastKey = path.replace(/^.*[.\]]/, '').replace(/^[@#]/, '').replace(/^\["?|"?\]$/g, '');
        var target = /^[^.[\]"'=]+$/.test(lastKey) && !usedTargets[lastKey] ? lastKey : path.replace(/(^|\.)[@#]/g, '$1');
        if (pathProblem(target, true)) return;
        usedTargets[target] = true;
        $list.editableList('addItem', { target: target, source: { kind: 'path', path: path } });
        added += 1;
      });
      RED.notify(_('label.suggested', { count: added }), added ? 'success' : 'compact');
      applyFilter();
      schedulePreview();
    });

    preview();
  }

  /** The mapping as the rows currently describe it. */
  function collectMapping() {
    var mapping = { version: 1, fields: [] };
    $('#chis-mapper-rows').editableList('items').each(function () { mapping.fields.push($(this).data('chis-collect')()); });
    if ($('#chis-mapper-keep').val() === 'source') mapping.keep = 'source';
    var schema = $('#node-input-targetSchema').val();
    if (schema) mapping.targetSchema = schema;
    return mapping;
  }

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  /** msg.<property> of a whole sample msg, as the runtime would read it (undefined when absent). */
  function sourceOf(msg, property) {
    try {
      return RED.utils.getMessageProperty(msg, property);
    } catch {
      return undefined;
    }
  }

  function remember(node) {
    samples.set(node.id, $('#chis-mapper-sample').val());
    samples.set(WHOLE_MESSAGE + node.id, $('#chis-mapper-whole-msg').is(':checked') ? '1' : '');
  }

  function save(node) {
    clearTimeout(pendingPreview);
    $('#node-input-mapping').val(JSON.stringify(collectMapping()));
    remember(node);
  }

  function cancel(node) {
    clearTimeout(pendingPreview);
    remember(node);
  }

  function resize(size) {
    // The rows list takes whatever height the other parts of the dialog leave.
    var $others = $('#dialog-form > div').not('#chis-mapper-editor').add('#chis-mapper-editor > div:not(.chis-mapper-rows-row)');
    var used = 0;
    $others.each(function () {
      if ($(this).is(':visible')) used += $(this).outerHeight(true);
    });
    $('#chis-mapper-rows').editableList('height', Math.max(180, size.height - used - 30));
  }

  window.CHIS = window.CHIS || {};
  window.CHIS.mapperEditor = { prepare: prepare, save: save, cancel: cancel, resize: resize, pathProblem: pathProblem };
})();
