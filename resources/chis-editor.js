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
          var message = (xhr.responseJSON && xhr.responseJSON.error) || 'Look-up failed (' + xhr.status + ').';
          $note.text(message + ' You can still type a value.').show();
        });
    }
    $input.on('focus', refresh).on('input', function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
    return { refresh: refresh };
  }

  window.CHIS = window.CHIS || {};
  window.CHIS.editor = { lookup: lookup };
})();
