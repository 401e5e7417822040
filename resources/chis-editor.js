/* Shared editor helpers for @chis-interop/node-red-chis, loaded by the config nodes' edit dialogs. */
(function () {
  'use strict';
  if (window.CHIS && window.CHIS.editor) return;

  /**
   * Turns a text input into a look-up: a datalist filled from the deployed config node, with
   * free text always allowed. Shows a clear message when the server cannot be asked.
   * @param {string} input selector of the text input
   * @param {() => string} configId returns the selected config node id
   * @param {string} configType e.g. 'chis-openmrs-config'
   * @param {string} list look-up name, e.g. 'encountertypes'
   * @param {object} [params] extra query parameters, or a function returning them
   */
  function lookup(input, configId, configType, list, params) {
    var $input = $(input);
    var listId = ($input.attr('id') || 'chis') + '-options';
    var $list = $('<datalist>').attr('id', listId).insertAfter($input);
    var $note = $('<div class="form-tips chis-lookup-note" style="display:none;margin-top:4px;"></div>').insertAfter($list);
    $input.attr('list', listId).attr('autocomplete', 'off');
    var timer;
    function refresh() {
      var id = configId();
      if (!id || id === '_ADD_') {
        $note.text('Choose a server to list values, or type one.').show();
        return;
      }
      var query = typeof params === 'function' ? params() : params || {};
      query.q = $input.val() || '';
      $.getJSON('chis/lookup/' + configType + '/' + encodeURIComponent(id) + '/' + list, query)
        .done(function (options) {
          $list.empty();
          options.slice(0, 200).forEach(function (option) {
            $('<option>').attr('value', option.value).text(option.label).appendTo($list);
          });
          $note.hide();
        })
        .fail(function (xhr) {
          $note.text(failureText(xhr) + ' You can still type a value.').show();
        });
    }
    $input.on('focus', refresh).on('input', function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
    return { refresh: refresh };
  }

  var TYPED_INPUT_TYPES = ['str', 'msg', 'flow', 'global', 'env', 'jsonata'];

  /**
   * A setting that can come from the message: a TypedInput on `#node-input-<field>` (its type in
   * `#node-input-<field>Type`), with the server's look-up offered while the type is plain text.
   * Called either with positional arguments or as `typedLookup(field, options)`, options being
   * { configId, configType, list, params, default, types }; `default` and `types` are the
   * TypedInput's (else 'str' and text, msg, flow, global, env, JSONata).
   * @param {string} field the node property, e.g. 'location'
   * @param {(() => string)|object} configId returns the selected config node id; or the options
   * @param {string} [configType] e.g. 'chis-openmrs-config'
   * @param {string} [list] look-up name; none: a typed input only
   * @param {object} [params] extra query parameters, or a function returning them
   */
  function typedLookup(field, configId, configType, list, params) {
    var opts = configId && typeof configId === 'object' ? configId : { configId: configId, configType: configType, list: list, params: params };
    var $field = $('#node-input-' + field);
    $field.typedInput({ default: opts.default || 'str', typeField: '#node-input-' + field + 'Type', types: opts.types || TYPED_INPUT_TYPES });
    if (!opts.list) return;
    var $box = $field.next('.red-ui-typedInput-container');
    var $text = $box.find('input.red-ui-typedInput-input').attr('id', 'node-input-' + field + '-text');
    lookup($text, opts.configId, opts.configType, opts.list, opts.params);
    var listId = $text.attr('list');
    // The note belongs under the whole typed input, not inside its box.
    $text.siblings('.chis-lookup-note').insertAfter($box);
    $field.on('change', function () { $text.attr('list', $field.typedInput('type') === 'str' ? listId : null); }).trigger('change');
  }

  /**
   * `typedLookup` bound to one dialog's server: what each writer's dialog would otherwise define
   * for itself. The returned function takes (field, list, params) like `typedLookup`'s last ones.
   * @param {() => string} configId returns the selected config node id (read at each look-up)
   * @param {string} configType e.g. 'chis-openmrs-config'
   */
  function typedLookups(configId, configType) {
    return function (field, list, params) {
      typedLookup(field, configId, configType, list, params);
    };
  }

  /**
   * A source's checkpoint setting: the confirm-timeout row (`.chis-confirm-timeout-row`) only
   * matters, so only shows, while `#node-input-checkpointAfter` is 'confirm' (not 'emit').
   */
  function confirmTimeoutToggle() {
    var mode = $('#node-input-checkpointAfter');
    // A source saved before the setting existed runs with 'emit': show that, not a blank choice.
    if (!mode.val()) mode.val('emit');
    mode.on('change', function () {
      $('.chis-confirm-timeout-row').toggle($(this).val() === 'confirm');
    }).trigger('change');
  }

  // Strings the shared rows need beyond each system's own labels (English, French).
  var SHARED_TEXT = {
    en: {
      connection: 'Connection',
      selfSignedWarning: 'TLS certificates are NOT verified for this server. Use only for test servers.',
      testRunning: 'Testing...',
      testButton: 'Test connection',
      editorOffline: 'Node-RED did not answer: is it still running?',
    },
    fr: {
      connection: 'Connexion',
      selfSignedWarning: "Les certificats TLS de ce serveur ne sont PAS vérifiés. À n'utiliser que pour des serveurs de test.",
      testRunning: 'Test en cours...',
      testButton: 'Tester la connexion',
      editorOffline: "Node-RED n'a pas répondu : est-il toujours en marche ?",
    },
  };
  function sharedText(key) {
    var lang = (RED.i18n && RED.i18n.lang && RED.i18n.lang()) || 'en';
    var table = SHARED_TEXT[String(lang).slice(0, 2)] || SHARED_TEXT.en;
    return table[key] || SHARED_TEXT.en[key];
  }

  /** What a failed look-up or test says: the runtime's own explanation when it gave one. */
  function failureText(xhr) {
    if (xhr.responseJSON && xhr.responseJSON.error) return xhr.responseJSON.error;
    return xhr.status === 0 ? sharedText('editorOffline') : 'HTTP ' + xhr.status;
  }

  /** The node's own label for a field (`<i18n>.label.<field>`), else the fallback. */
  function label(node, i18n, key, fallback) {
    var full = i18n + '.' + key;
    var text = node && node._ ? node._(full) : full;
    return text && text !== full ? text : fallback;
  }

  /**
   * Inline validation for rows added in oneditprepare: Node-RED binds its own validation to the
   * template's inputs before oneditprepare runs, so these rows check the node's `defaults` here.
   */
  function markInvalid($input, node, field) {
    var definition = node._def && node._def.defaults && node._def.defaults[field];
    if (!definition) return;
    function check() {
      var value = $input.val();
      var valid = !(definition.required && (value === '' || value === null || value === undefined));
      if (valid && typeof definition.validate === 'function') {
        try { valid = definition.validate.call(node, value, {}) === true; } catch { valid = false; }
      }
      $input.toggleClass('input-error', !valid);
    }
    $input.on('change keyup paste', check);
    check();
  }

  var CONNECTION_ROWS = {
    baseUrl: { icon: 'fa-globe', fallback: 'Server URL', input: '<input type="text">' },
    timeoutMs: { icon: 'fa-hourglass', fallback: 'Timeout (ms)', input: '<input type="number" min="1000" step="1000" style="width:110px;">' },
    maxAttempts: { icon: 'fa-repeat', fallback: 'Attempts', input: '<input type="number" min="1" max="20" style="width:80px;">' },
    maxConcurrent: { icon: 'fa-tasks', fallback: 'Parallel requests', input: '<input type="number" min="1" max="64" style="width:80px;">' },
  };

  /**
   * The connection rows every server config node shares: base URL, timeout, attempts, parallel
   * requests, the explicit "allow self-signed TLS certificates" setting (with a visible warning
   * while it is on) and a "test connection" button. Call from `oneditprepare`: Node-RED filled
   * the template's inputs before, so these rows fill themselves from the node; Node-RED reads
   * them back on Done like any `node-config-input-<field>`.
   * @param {string} container selector of an empty element in the template
   * @param {object} node the config node (`this` in oneditprepare)
   * @param {object} options { type: 'chis-openmrs-config', i18n: 'openmrs-config',
   *   rows: ['baseUrl', 'timeoutMs', 'maxAttempts', 'maxConcurrent', 'allowSelfSigned', 'test'],
   *   placeholder: 'https://...' }
   */
  function connectionRows(container, node, options) {
    var opts = options || {};
    var i18n = opts.i18n || String(opts.type || '').replace(/^chis-/, '');
    var rows = opts.rows || ['baseUrl', 'timeoutMs', 'maxAttempts', 'maxConcurrent', 'allowSelfSigned', 'test'];
    var $container = $(container).empty().addClass('chis-connection');
    rows.forEach(function (field) {
      var $row = $('<div class="form-row">').appendTo($container);
      if (CONNECTION_ROWS[field]) {
        var spec = CONNECTION_ROWS[field];
        var id = 'node-config-input-' + field;
        $('<label>').attr('for', id).append($('<i class="fa">').addClass(spec.icon), ' ', $('<span>').text(label(node, i18n, 'label.' + field, spec.fallback))).appendTo($row);
        $row.append(' '); // the gap a template's line break leaves between label and input
        var $input = $(spec.input).attr('id', id).appendTo($row);
        if (field === 'baseUrl' && opts.placeholder) $input.attr('placeholder', opts.placeholder);
        $input.val(node[field] === undefined || node[field] === null ? '' : node[field]);
        markInvalid($input, node, field);
      } else if (field === 'allowSelfSigned') {
        $('<label>').html('&nbsp;').appendTo($row);
        var $box = $('<input type="checkbox" id="node-config-input-allowSelfSigned" style="width:auto;margin:0 6px 0 0;">').appendTo($row);
        $('<label for="node-config-input-allowSelfSigned" style="width:auto;">').text(label(node, i18n, 'label.allowSelfSigned', 'Allow self-signed TLS certificates (test servers only)')).appendTo($row);
        var $warning = $('<div class="form-tips chis-tls-warning" style="margin-top:6px;border-color:#c00;color:#c00;">')
          .append('<i class="fa fa-exclamation-triangle"></i> ', $('<span>').text(sharedText('selfSignedWarning')))
          .appendTo($row);
        $box.prop('checked', node.allowSelfSigned === true).on('change', function () {
          $warning.toggle($box.is(':checked'));
        });
        $warning.toggle(node.allowSelfSigned === true);
      } else if (field === 'test' && opts.type) {
        $('<label>').html('&nbsp;').appendTo($row);
        var $result = $('<span class="chis-test-result" style="margin-left:8px;">');
        $('<button class="red-ui-button chis-test-connection">')
          .append('<i class="fa fa-plug"></i> ', $('<span>').text(label(node, i18n, 'test.button', sharedText('testButton'))))
          .on('click', function (event) {
            event.preventDefault();
            $result.text(label(node, i18n, 'test.running', sharedText('testRunning')));
            $.getJSON('chis/lookup/' + opts.type + '/' + encodeURIComponent(node.id) + '/test')
              .done(function (answer) { $result.text(answer[0] ? answer[0].label : ''); })
              .fail(function (xhr) { $result.text(failureText(xhr)); });
          })
          .appendTo($row);
        $result.appendTo($row);
      } else {
        $row.remove();
      }
    });
    return $container;
  }

  /**
   * Applies a node type's config migrations (the same step literals as nodes/core/migrate.ts:
   * { to, why, rename, defaults, values }) to a node opened in the editor, and shows the result
   * in the dialog's inputs so Done saves the new shape. Old property names must stay listed in
   * the node's `defaults` (with no input) or the editor drops them when it loads the flow.
   * @returns {string[]} the `why` of each step applied
   */
  function migrate(node, steps) {
    var from = Number(node.configVersion);
    if (!(from > 0 && Math.floor(from) === from)) from = 0;
    var applied = [];
    var config = {};
    Object.keys(node._def ? node._def.defaults : node).forEach(function (key) { config[key] = node[key]; });
    steps.slice(from).forEach(function (step) {
      Object.keys(step.rename || {}).forEach(function (oldName) {
        var newName = step.rename[oldName];
        if (config[oldName] !== undefined && config[oldName] !== null && config[oldName] !== '') {
          if (config[newName] === undefined || config[newName] === '' || config[newName] === null || config[newName] === (node._def && node._def.defaults[newName] && node._def.defaults[newName].value)) {
            config[newName] = config[oldName];
          }
        }
        config[oldName] = undefined;
      });
      Object.keys(step.defaults || {}).forEach(function (name) {
        if (config[name] === undefined) config[name] = step.defaults[name];
      });
      Object.keys(step.values || {}).forEach(function (name) {
        var mapping = step.values[name];
        if (typeof config[name] === 'string' && Object.prototype.hasOwnProperty.call(mapping, config[name])) config[name] = mapping[config[name]];
      });
      applied.push(step.why);
    });
    if (applied.length === 0) return applied;
    Object.keys(config).forEach(function (key) {
      if (config[key] === node[key]) return;
      var $input = $('#node-input-' + key + ', #node-config-input-' + key);
      if ($input.length) {
        if ($input.is(':checkbox')) $input.prop('checked', config[key] === true);
        else $input.val(config[key]);
      } else {
        node[key] = config[key];
      }
    });
    node.configVersion = steps.length;
    return applied;
  }

  window.CHIS = window.CHIS || {};
  window.CHIS.editor = { lookup: lookup, typedLookup: typedLookup, typedLookups: typedLookups, confirmTimeoutToggle: confirmTimeoutToggle, connectionRows: connectionRows, migrate: migrate };
})();
