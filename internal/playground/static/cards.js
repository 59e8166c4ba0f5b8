// cards.js renders Google Workspace add-on cards (google.apps.card.v1 as
// proto JSON, the cards our server returns inside RenderActions) as DOM, the
// way Gmail's add-on sidebar shows them. It is a plain script with no
// dependencies; it defines window.PostfachCards:
//
//   PostfachCards.render(card, options) -> HTMLElement (class "pf-card")
//     options.onAction(action, formInputs)         a widget's Action fired
//     options.onOpenLink(openLink)                 {url, openAs, onClose}
//     options.onCard(card)                         onClick.card: push it
//     options.onOpenDynamicLink(action, formInputs)
//   PostfachCards.formInputs(cardElement) -> {name: FormInput}, in the shape
//     of Google's commonEventObject.formInputs
//   PostfachCards.sanitize(html) -> string: the card text-formatting subset
//     Google allows, everything else escaped so that it shows as text
//   PostfachCards.clearLoading(cardElement): removes an action's spinner
//   PostfachCards.lang: the language the renderer's own words are in ("en",
//     "de"); PostfachCards.t(id, args) words a catalog message in it, from
//     window.PostfachMessages (the server's /playground/messages.js)
//
// Card text is never assigned through innerHTML: formatted text is parsed by
// a small tokenizer that builds DOM nodes for the allowed tags only. A widget
// or field this renderer does not draw shows a visible placeholder naming it.
(function () {
  'use strict';

  // ---------------------------------------------------------------- helpers

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function isObj(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }

  // tr words message id of the catalogs in api.lang (English when the
  // language lacks it; the id itself when no catalog has it). args fills
  // its {{.Name}} placeholders; args.Count picks a plural form.
  function tr(id, args) {
    var all = window.PostfachMessages || {};
    var m = (all[api.lang] || {})[id];
    if (m === undefined) m = (all.en || {})[id];
    if (m === undefined) return id;
    if (isObj(m)) m = args && args.Count === 1 ? m.one : m.other;
    return String(m).replace(/\{\{\s*\.(\w+)\s*\}\}/g, function (_, k) {
      return args && args[k] !== undefined ? String(args[k]) : '';
    });
  }

  // normalize turns proto field names written in snake_case (which Google's
  // proto JSON parser accepts as well) into the camelCase used below.
  function normalize(v) {
    if (Array.isArray(v)) return v.map(normalize);
    if (!isObj(v)) return v;
    var out = {};
    Object.keys(v).forEach(function (k) {
      var ck = k.replace(/_([a-z0-9])/g, function (_, c) { return c.toUpperCase(); });
      out[ck] = normalize(v[k]);
    });
    return out;
  }

  function placeholder(what) {
    var p = el('div', 'pf-unsupported', tr('renderer.unsupported', { What: what }));
    p.setAttribute('data-unsupported', what);
    return p;
  }

  // unknownFields returns placeholders for the keys of obj not in known, so
  // that a field the renderer ignores is visible rather than silently lost.
  function unknownFields(obj, known, path) {
    if (!isObj(obj)) return [];
    return Object.keys(obj).filter(function (k) { return known.indexOf(k) < 0; })
      .map(function (k) { return placeholder('field: ' + path + '.' + k); });
  }

  function appendAll(parent, nodes) { nodes.forEach(function (n) { parent.appendChild(n); }); }

  // ------------------------------------------------------- text formatting

  var ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

  function decodeEntities(s) {
    return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]+);/g, function (m, name) {
      if (name[0] === '#') {
        var code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        if (code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) return String.fromCodePoint(code);
        return m;
      }
      var v = ENTITIES[name.toLowerCase()];
      return v === undefined ? m : v;
    });
  }

  var SIMPLE_TAGS = { b: 'b', i: 'i', u: 'u', s: 's', strike: 's' };
  var SAFE_COLOR = /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$/;
  var SAFE_HREF = /^(https?:\/\/|mailto:)/i;

  // parseAttrs reads name="value" pairs; it returns null when the attribute
  // text is not a plain list of them.
  function parseAttrs(s) {
    var attrs = {};
    var re = /\s*([a-zA-Z][a-zA-Z0-9-]*)\s*=\s*("([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/y;
    var i = 0;
    s = s.replace(/\s+$/, '');
    while (i < s.length) {
      re.lastIndex = i;
      var m = re.exec(s);
      if (!m) return null;
      var name = m[1].toLowerCase();
      if (Object.prototype.hasOwnProperty.call(attrs, name)) return null;
      attrs[name] = decodeEntities(m[3] !== undefined ? m[3] : m[4] !== undefined ? m[4] : m[5]);
      i = re.lastIndex;
    }
    return attrs;
  }

  // openTag returns the element for an allowed opening tag, or null if the
  // tag is not in Google's subset (then it is shown as text).
  function openTag(name, attrText) {
    var attrs = parseAttrs(attrText || '');
    if (!attrs) return null;
    var keys = Object.keys(attrs);
    if (SIMPLE_TAGS[name]) return keys.length === 0 ? document.createElement(SIMPLE_TAGS[name]) : null;
    if (name === 'font') {
      if (keys.length !== 1 || keys[0] !== 'color' || !SAFE_COLOR.test(attrs.color)) return null;
      var f = el('span', 'pf-font');
      f.style.color = attrs.color;
      return f;
    }
    if (name === 'a') {
      if (keys.length !== 1 || keys[0] !== 'href' || !SAFE_HREF.test(attrs.href.trim())) return null;
      var a = el('a', 'pf-link');
      a.href = attrs.href.trim();
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      return a;
    }
    return null;
  }

  var TAG = /<(\/?)([a-zA-Z]+)((?:\s[^<>]*)?)\s*(\/?)>/y;

  // formatText builds a fragment from card text: allowed tags become
  // elements, anything else (including the text of a disallowed tag) is text.
  function formatText(html) {
    var frag = document.createDocumentFragment();
    var stack = [{ node: frag, name: '' }];
    var buf = '';
    function top() { return stack[stack.length - 1].node; }
    function flush() {
      if (buf) top().appendChild(document.createTextNode(decodeEntities(buf)));
      buf = '';
    }
    html = html === undefined || html === null ? '' : String(html);
    var i = 0;
    while (i < html.length) {
      var lt = html.indexOf('<', i);
      if (lt < 0) { buf += html.slice(i); break; }
      buf += html.slice(i, lt);
      TAG.lastIndex = lt;
      var m = TAG.exec(html);
      if (!m) { buf += '<'; i = lt + 1; continue; }
      var closing = m[1] === '/', name = m[2].toLowerCase(), attrs = m[3], selfClose = m[4] === '/';
      var handled = false;
      if (name === 'br' && !closing && !attrs.trim()) {
        flush();
        top().appendChild(document.createElement('br'));
        handled = true;
      } else if (closing && !attrs.trim() && !selfClose) {
        for (var j = stack.length - 1; j > 0; j--) {
          if (stack[j].name === (name === 'strike' ? 's' : name)) {
            flush();
            stack.length = j;
            handled = true;
            break;
          }
        }
      } else if (!closing && !selfClose) {
        var node = openTag(name, attrs);
        if (node) {
          flush();
          top().appendChild(node);
          stack.push({ node: node, name: name === 'strike' ? 's' : name });
          handled = true;
        }
      }
      if (!handled) buf += m[0];
      i = TAG.lastIndex;
    }
    flush();
    return frag;
  }

  function sanitize(html) {
    var d = document.createElement('div');
    d.appendChild(formatText(html));
    return d.innerHTML;
  }

  function textNode(cls, html) {
    var d = el('div', cls);
    d.appendChild(formatText(html));
    return d;
  }

  // ---------------------------------------------------------------- icons

  // Offline glyphs for Google's knownIcon names (fonts present everywhere).
  var KNOWN_ICONS = {
    AIRPLANE: '\u2708', BOOKMARK: '\u2691', BUS: '\u25a3', CAR: '\u25a3', CLOCK: '\u25f7',
    CONFIRMATION_NUMBER_ICON: '#', DOLLAR: '$', DESCRIPTION: '\u2630', EMAIL: '\u2709',
    EVENT_PERFORMER: '\u263a', EVENT_SEAT: '\u2616', FLIGHT_ARRIVAL: '\u2708', FLIGHT_DEPARTURE: '\u2708',
    HOTEL: '\u2302', HOTEL_ROOM_TYPE: '\u2302', INVITE: '\u2709', MAP_PIN: '\u2316', MEMBERSHIP: '\u2617',
    MULTIPLE_PEOPLE: '\u263a\u263a', OFFER: '%', PERSON: '\u263a', PHONE: '\u260e', RESTAURANT_ICON: '\u2668',
    SHOPPING_CART: '\u2302', STAR: '\u2605', STORE: '\u2302', TICKET: '\u2617', TRAIN: '\u25a3',
    VIDEO_CAMERA: '\u25b6', VIDEO_PLAY: '\u25b6'
  };
  // A few Material Symbols names, for icon.materialIcon.
  var MATERIAL_ICONS = {
    add: '+', check: '\u2713', done: '\u2713', close: '\u2715', clear: '\u2715', delete: '\u2716',
    edit: '\u270e', person: '\u263a', group: '\u263a\u263a', mail: '\u2709', email: '\u2709', inbox: '\u2709',
    search: '\u2315', settings: '\u2699', star: '\u2605', schedule: '\u25f7', label: '\u2691', flag: '\u2691',
    send: '\u27a4', reply: '\u21a9', arrow_back: '\u2190', more_vert: '\u22ee', refresh: '\u21bb',
    info: '\u2139', warning: '\u26a0', error: '\u26a0', phone: '\u260e', call: '\u260e', note: '\u270e',
    description: '\u2630', attach_file: '\u2702', link: '\u2197', lock: '\u26bf', event: '\u25a6',
    calendar_today: '\u25a6', home: '\u2302', notifications: '\u266a', person_add: '\u263a+', undo: '\u21b6'
  };

  // renderIcon returns the icon element, or a placeholder for an icon kind
  // or name it cannot draw.
  function renderIcon(icon, path) {
    if (!isObj(icon)) return null;
    var wrap = el('span', 'pf-icon');
    if (icon.imageType === 'CIRCLE') wrap.className += ' pf-icon-circle';
    var label = icon.altText || '';
    if (icon.knownIcon) {
      var g = KNOWN_ICONS[icon.knownIcon];
      if (!g) return placeholder('icon: ' + icon.knownIcon);
      wrap.textContent = g;
      wrap.setAttribute('data-icon', icon.knownIcon);
      label = label || icon.knownIcon.toLowerCase().replace(/_/g, ' ');
    } else if (icon.iconUrl) {
      var img = el('img', 'pf-icon-img');
      img.src = icon.iconUrl;
      img.alt = label;
      img.addEventListener('error', function () {
        img.replaceWith(document.createTextNode('\u25a1'));
      });
      wrap.appendChild(img);
    } else if (isObj(icon.materialIcon)) {
      var name = icon.materialIcon.name || '';
      var mg = MATERIAL_ICONS[name];
      if (!mg) return placeholder('icon: material ' + name);
      wrap.textContent = mg;
      wrap.setAttribute('data-icon', name);
      label = label || name.replace(/_/g, ' ');
    } else {
      return placeholder('icon: ' + (Object.keys(icon).join(', ') || 'empty'));
    }
    // Glyphs are decoration for screen readers; the alt text is a tooltip.
    if (label) wrap.title = label;
    wrap.setAttribute('aria-hidden', 'true');
    var extra = unknownFields(icon, ['knownIcon', 'iconUrl', 'materialIcon', 'altText', 'imageType'], path);
    if (isObj(icon.materialIcon)) {
      extra = extra.concat(unknownFields(icon.materialIcon, ['name', 'fill', 'weight', 'grade'], path + '.materialIcon'));
    }
    if (extra.length) {
      var f = document.createDocumentFragment();
      f.appendChild(wrap);
      appendAll(f, extra);
      var s = el('span', 'pf-icon-wrap');
      s.appendChild(f);
      return s;
    }
    return wrap;
  }

  // --------------------------------------------------------------- colours

  function cssColor(c) {
    if (!isObj(c)) return '';
    function ch(v) { return Math.round(Math.max(0, Math.min(1, Number(v) || 0)) * 255); }
    var a = c.alpha === undefined || c.alpha === null ? 1 : Number(isObj(c.alpha) ? c.alpha.value : c.alpha);
    return 'rgba(' + ch(c.red) + ',' + ch(c.green) + ',' + ch(c.blue) + ',' + (isNaN(a) ? 1 : a) + ')';
  }

  function isDark(c) {
    var l = 0.2126 * (Number(c.red) || 0) + 0.7152 * (Number(c.green) || 0) + 0.0722 * (Number(c.blue) || 0);
    return l < 0.6;
  }

  // --------------------------------------------------------------- renderer

  var WIDGETS = ['textParagraph', 'image', 'decoratedText', 'buttonList', 'textInput', 'selectionInput',
    'dateTimePicker', 'divider', 'grid', 'columns', 'chipList', 'carousel'];

  function Renderer(root, options) {
    this.root = root;
    this.options = options || {};
  }

  // call runs a host callback; a throwing host must not break the card.
  Renderer.prototype.call = function (name) {
    var fn = this.options[name];
    if (typeof fn !== 'function') return;
    var args = Array.prototype.slice.call(arguments, 1);
    fn.apply(null, args);
  };

  Renderer.prototype.card = function (card) {
    var root = this.root;
    if (card.name) root.setAttribute('data-card-name', card.name);
    if (card.displayStyle) root.setAttribute('data-display-style', card.displayStyle);
    if (card.sectionDividerStyle === 'NO_DIVIDER') root.className += ' pf-no-dividers';
    appendAll(root, unknownFields(card, ['name', 'header', 'sections', 'cardActions', 'fixedFooter',
      'peekCardHeader', 'displayStyle', 'sectionDividerStyle'], 'card'));
    if (isObj(card.peekCardHeader)) {
      // Gmail shows the peek header only while a contextual card is peeking
      // (collapsed under the homepage); a host that draws that state unhides it.
      var peek = this.header(card.peekCardHeader, null, 'peekCardHeader');
      peek.className += ' pf-peek-header';
      peek.hidden = true;
      root.appendChild(peek);
    }
    if (isObj(card.header) || (card.cardActions && card.cardActions.length)) {
      root.appendChild(this.header(card.header || {}, card.cardActions, 'header'));
    }
    var body = el('div', 'pf-card-body');
    var self = this;
    (card.sections || []).forEach(function (s, i) { body.appendChild(self.section(s, i)); });
    root.appendChild(body);
    if (isObj(card.fixedFooter)) root.appendChild(this.footer(card.fixedFooter));
  };

  Renderer.prototype.header = function (h, actions, path) {
    var head = el('div', 'pf-header');
    head.setAttribute('data-pf', path);
    appendAll(head, unknownFields(h, ['title', 'subtitle', 'imageType', 'imageUrl', 'imageAltText'], path));
    if (h.imageUrl) {
      var img = el('img', 'pf-header-image' + (h.imageType === 'CIRCLE' ? ' pf-circle' : ''));
      img.src = h.imageUrl;
      img.alt = h.imageAltText || '';
      img.addEventListener('error', function () { img.style.visibility = 'hidden'; });
      head.appendChild(img);
    }
    var titles = el('div', 'pf-header-text');
    if (h.title) titles.appendChild(el('div', 'pf-header-title', h.title));
    if (h.subtitle) titles.appendChild(el('div', 'pf-header-subtitle', h.subtitle));
    head.appendChild(titles);
    if (actions && actions.length) head.appendChild(this.cardActions(actions));
    return head;
  };

  Renderer.prototype.cardActions = function (actions) {
    var self = this;
    var items = actions.map(function (a, i) {
      return { text: a.actionLabel, onClick: a.onClick, extra: unknownFields(a, ['actionLabel', 'onClick'], 'cardActions[' + i + ']') };
    });
    var btn = el('button', 'pf-icon-button pf-card-actions', '\u22ee');
    btn.type = 'button';
    btn.title = tr('renderer.more_actions');
    btn.setAttribute('aria-label', tr('renderer.more_actions'));
    btn.setAttribute('data-pf', 'cardActions');
    btn.addEventListener('click', function (ev) {
      ev.stopPropagation();
      self.menu(btn, items);
    });
    var wrap = el('span', 'pf-card-actions-wrap');
    wrap.appendChild(btn);
    items.forEach(function (it) { appendAll(wrap, it.extra); });
    return wrap;
  };

  // menu opens a popup menu under anchor (card actions, overflow menus).
  Renderer.prototype.menu = function (anchor, items) {
    var self = this;
    var old = this.root.querySelector('.pf-menu');
    if (old) { old.remove(); if (old.pfAnchor === anchor) return; }
    var menu = el('div', 'pf-menu');
    menu.pfAnchor = anchor;
    menu.setAttribute('role', 'menu');
    items.forEach(function (it) {
      var b = el('button', 'pf-menu-item');
      b.type = 'button';
      b.setAttribute('role', 'menuitem');
      if (it.icon) { var ic = renderIcon(it.icon, 'overflowMenu.items.startIcon'); if (ic) b.appendChild(ic); }
      b.appendChild(el('span', null, it.text || ''));
      b.disabled = !!it.disabled;
      b.addEventListener('click', function (ev) {
        ev.stopPropagation();
        menu.remove();
        self.click(it.onClick, anchor);
      });
      menu.appendChild(b);
    });
    var r = anchor.getBoundingClientRect(), rr = this.root.getBoundingClientRect();
    menu.style.top = (r.bottom - rr.top + 2) + 'px';
    menu.style.right = Math.max(4, rr.right - r.right) + 'px';
    this.root.appendChild(menu);
    var close = function (ev) {
      if (!menu.contains(ev.target)) { menu.remove(); document.removeEventListener('click', close, true); }
    };
    setTimeout(function () { document.addEventListener('click', close, true); }, 0);
  };

  Renderer.prototype.section = function (s, index) {
    var self = this;
    var sec = el('div', 'pf-section');
    sec.setAttribute('data-pf', 'section');
    appendAll(sec, unknownFields(s, ['header', 'widgets', 'collapsible', 'uncollapsibleWidgetsCount', 'collapseControl'], 'sections[' + index + ']'));
    var widgets = s.widgets || [];
    var keep = Math.max(0, Number(s.uncollapsibleWidgetsCount) || 0);
    var collapsible = !!s.collapsible && widgets.length > keep;
    var head = null;
    if (s.header) {
      head = el('div', 'pf-section-header');
      var headText = el('span', 'pf-section-title');
      headText.appendChild(formatText(s.header));
      head.appendChild(headText);
      sec.appendChild(head);
    }
    var hidden = [];
    widgets.forEach(function (w, i) {
      var node = self.widget(w, 'sections[' + index + '].widgets[' + i + ']');
      if (collapsible && i >= keep) { node.classList.add('pf-collapsed'); hidden.push(node); }
      sec.appendChild(node);
    });
    if (collapsible) {
      sec.className += ' pf-collapsible';
      var cc = isObj(s.collapseControl) ? s.collapseControl : {};
      appendAll(sec, unknownFields(cc, ['horizontalAlignment', 'expandButton', 'collapseButton'], 'collapseControl'));
      var more = (isObj(cc.expandButton) && cc.expandButton.text) || tr('renderer.show_more');
      var less = (isObj(cc.collapseButton) && cc.collapseButton.text) || tr('renderer.show_less');
      var toggle = el('button', 'pf-section-toggle');
      toggle.type = 'button';
      toggle.setAttribute('data-pf', 'sectionToggle');
      if (cc.horizontalAlignment) toggle.setAttribute('data-align', cc.horizontalAlignment);
      var label = el('span', null, more), chev = el('span', 'pf-chevron', '\u25be');
      chev.setAttribute('aria-hidden', 'true');
      toggle.appendChild(label);
      toggle.appendChild(chev);
      toggle.setAttribute('aria-expanded', 'false');
      var open = false;
      var flip = function () {
        open = !open;
        hidden.forEach(function (n) { n.classList.toggle('pf-collapsed', !open); });
        label.textContent = open ? less : more;
        toggle.setAttribute('aria-expanded', String(open));
        sec.classList.toggle('pf-expanded', open);
      };
      toggle.addEventListener('click', flip);
      if (head) {
        var hc = el('span', 'pf-chevron pf-header-chevron', '\u25be');
        hc.setAttribute('aria-hidden', 'true');
        head.appendChild(hc);
        head.classList.add('pf-clickable');
        head.addEventListener('click', flip);
      }
      sec.appendChild(toggle);
    }
    return sec;
  };

  // widget renders one Widget (or a column's widget) into a wrapper with
  // data-widget naming its kind.
  Renderer.prototype.widget = function (w, path) {
    var kinds = Object.keys(w || {}).filter(function (k) { return k !== 'horizontalAlignment'; });
    var kind = kinds[0];
    var wrap = el('div', 'pf-widget');
    if (!kind) { wrap.appendChild(placeholder('widget: empty')); return wrap; }
    wrap.setAttribute('data-widget', kind);
    if (w.horizontalAlignment) wrap.setAttribute('data-align', w.horizontalAlignment);
    var fn = WIDGETS.indexOf(kind) >= 0 && kind !== 'carousel' ? this['w_' + kind] : null;
    if (!fn) {
      wrap.className += ' pf-widget-unsupported';
      wrap.appendChild(placeholder('widget: ' + kind));
      return wrap;
    }
    fn.call(this, wrap, isObj(w[kind]) ? w[kind] : {}, path + '.' + kind);
    for (var i = 1; i < kinds.length; i++) wrap.appendChild(placeholder('widget: ' + kinds[i] + ' (second kind in one widget)'));
    return wrap;
  };

  Renderer.prototype.w_textParagraph = function (wrap, t, path) {
    appendAll(wrap, unknownFields(t, ['text', 'maxLines', 'textSyntax'], path));
    if (t.textSyntax && t.textSyntax !== 'HTML' && t.textSyntax !== 'TEXT_SYNTAX_UNSPECIFIED') {
      wrap.appendChild(placeholder('field: ' + path + '.textSyntax ' + t.textSyntax));
    }
    var p = textNode('pf-text', t.text);
    wrap.appendChild(p);
    var max = Number(t.maxLines) || 0;
    if (max > 0) {
      p.classList.add('pf-clamped');
      p.style.webkitLineClamp = String(max);
      var more = el('button', 'pf-text-button pf-show-more', tr('renderer.show_more'));
      more.type = 'button';
      more.addEventListener('click', function () {
        var clamped = p.classList.toggle('pf-clamped');
        more.textContent = clamped ? tr('renderer.show_more') : tr('renderer.show_less');
      });
      wrap.appendChild(more);
      // Hide the toggle when the text fits; measured after layout.
      requestAnimationFrame(function () {
        if (p.scrollHeight <= p.clientHeight + 1) more.hidden = true;
      });
    }
  };

  Renderer.prototype.w_image = function (wrap, im, path) {
    appendAll(wrap, unknownFields(im, ['imageUrl', 'onClick', 'altText'], path));
    var img = el('img', 'pf-image');
    img.src = im.imageUrl || '';
    img.alt = im.altText || '';
    img.addEventListener('error', function () {
      var alt = el('div', 'pf-image-missing', im.altText || tr('renderer.image'));
      img.replaceWith(alt);
    });
    wrap.appendChild(img);
    if (isObj(im.onClick)) this.clickable(wrap, im.onClick, path + '.onClick');
  };

  // clickable makes a whole element act on onClick (decoratedText rows,
  // images, grid items).
  Renderer.prototype.clickable = function (node, onClick, path) {
    var self = this;
    node.classList.add('pf-clickable');
    node.setAttribute('role', 'button');
    node.tabIndex = 0;
    if (path) appendAll(node, this.checkOnClick(onClick, path));
    node.addEventListener('click', function (ev) {
      // A control or link inside the row handles its own click.
      var control = ev.target.closest('button, input, select, textarea, a, label');
      if (control && control !== node && node.contains(control)) return;
      self.click(onClick, node);
    });
    node.addEventListener('keydown', function (ev) {
      if ((ev.key === 'Enter' || ev.key === ' ') && ev.target === node) { ev.preventDefault(); self.click(onClick, node); }
    });
  };

  // checkOnClick returns placeholders for the parts of an OnClick this
  // renderer cannot act on.
  Renderer.prototype.checkOnClick = function (oc, path) {
    if (!isObj(oc)) return [];
    var out = unknownFields(oc, ['action', 'openLink', 'openDynamicLinkAction', 'card', 'overflowMenu'], path);
    var self = this;
    ['action', 'openDynamicLinkAction'].forEach(function (k) {
      if (isObj(oc[k])) out = out.concat(self.checkAction(oc[k], path + '.' + k));
    });
    if (isObj(oc.openLink)) out = out.concat(unknownFields(oc.openLink, ['url', 'openAs', 'onClose'], path + '.openLink'));
    if (isObj(oc.overflowMenu)) {
      out = out.concat(unknownFields(oc.overflowMenu, ['items'], path + '.overflowMenu'));
      (oc.overflowMenu.items || []).forEach(function (it, i) {
        var p = path + '.overflowMenu.items[' + i + ']';
        out = out.concat(unknownFields(it, ['startIcon', 'text', 'onClick', 'disabled'], p), self.checkOnClick(it.onClick, p + '.onClick'));
      });
    }
    return out;
  };

  Renderer.prototype.checkAction = function (a, path) {
    var out = unknownFields(a, ['function', 'parameters', 'loadIndicator', 'persistValues', 'interaction',
      'requiredWidgets', 'allWidgetsAreRequired'], path);
    if (a.interaction && a.interaction !== 'INTERACTION_UNSPECIFIED') {
      out.push(placeholder('field: ' + path + '.interaction ' + a.interaction + ' (Chat only)'));
    }
    return out;
  };

  Renderer.prototype.w_decoratedText = function (wrap, d, path) {
    appendAll(wrap, unknownFields(d, ['icon', 'startIcon', 'startIconVerticalAlignment', 'topLabel', 'topLabelText',
      'text', 'contentText', 'wrapText', 'bottomLabel', 'bottomLabelText', 'onClick', 'button', 'switchControl', 'endIcon'], path));
    var row = el('div', 'pf-decorated');
    var start = d.startIcon || d.icon;
    if (isObj(start)) {
      var si = el('div', 'pf-decorated-start');
      if (d.startIconVerticalAlignment) si.setAttribute('data-valign', d.startIconVerticalAlignment);
      var icon = renderIcon(start, path + '.startIcon');
      if (icon) si.appendChild(icon);
      row.appendChild(si);
    }
    var mid = el('div', 'pf-decorated-text' + (d.wrapText ? ' pf-wrap' : ''));
    var tl = isObj(d.topLabelText) ? d.topLabelText.text : d.topLabel;
    var tx = isObj(d.contentText) ? d.contentText.text : d.text;
    var bl = isObj(d.bottomLabelText) ? d.bottomLabelText.text : d.bottomLabel;
    if (tl) mid.appendChild(textNode('pf-top-label', tl));
    mid.appendChild(textNode('pf-decorated-main', tx || ''));
    if (bl) mid.appendChild(textNode('pf-bottom-label', bl));
    row.appendChild(mid);
    var end = el('div', 'pf-decorated-end');
    if (isObj(d.button)) end.appendChild(this.button(d.button, path + '.button'));
    if (isObj(d.switchControl)) end.appendChild(this.switchControl(d.switchControl, path + '.switchControl'));
    if (isObj(d.endIcon)) { var ei = renderIcon(d.endIcon, path + '.endIcon'); if (ei) end.appendChild(ei); }
    if (end.childNodes.length) row.appendChild(end);
    wrap.appendChild(row);
    if (isObj(d.onClick)) {
      this.clickable(row, d.onClick, path + '.onClick');
    }
  };

  Renderer.prototype.switchControl = function (sc, path) {
    var self = this;
    var box = el('label', 'pf-switch-control');
    box.setAttribute('data-pf', 'switchControl');
    appendAll(box, unknownFields(sc, ['name', 'value', 'selected', 'onChangeAction', 'controlType'], path));
    var input = el('input');
    input.type = 'checkbox';
    input.name = sc.name || '';
    input.value = sc.value === undefined ? '' : sc.value;
    input.checked = !!sc.selected;
    input.setAttribute('data-pf-input', 'switchControl');
    var kind = sc.controlType === 'CHECKBOX' || sc.controlType === 'CHECK_BOX' ? 'checkbox' : 'switch';
    input.className = kind === 'switch' ? 'pf-switch' : 'pf-checkbox';
    input.setAttribute('role', kind === 'switch' ? 'switch' : 'checkbox');
    box.appendChild(input);
    if (kind === 'switch') box.appendChild(el('span', 'pf-switch-track'));
    box.addEventListener('click', function (ev) { ev.stopPropagation(); });
    if (isObj(sc.onChangeAction)) {
      appendAll(box, this.checkAction(sc.onChangeAction, path + '.onChangeAction'));
      input.addEventListener('change', function () { self.fire(sc.onChangeAction, input, 'onAction'); });
    }
    return box;
  };

  Renderer.prototype.button = function (b, path) {
    var self = this;
    var btn = el('button', 'pf-button');
    btn.type = 'button';
    btn.setAttribute('data-pf', 'button');
    var extra = unknownFields(b, ['text', 'icon', 'color', 'onClick', 'disabled', 'altText', 'type'], path);
    var type = b.type && b.type !== 'TYPE_UNSPECIFIED' ? b.type : '';
    if (b.icon && !b.text) {
      btn.className += ' pf-button-icon';
    }
    if (isObj(b.icon)) {
      var ic = renderIcon(b.icon, path + '.icon');
      if (ic) btn.appendChild(ic);
    }
    if (b.text) btn.appendChild(el('span', 'pf-button-label', b.text));
    if (b.altText) { btn.title = b.altText; btn.setAttribute('aria-label', b.text || b.altText); }
    else if (!b.text && isObj(b.icon) && b.icon.altText) btn.setAttribute('aria-label', b.icon.altText);
    if (isObj(b.color)) {
      var c = cssColor(b.color);
      if (type === 'OUTLINED') { btn.style.color = c; btn.style.borderColor = c; }
      else if (type === 'BORDERLESS') { btn.style.color = c; }
      else {
        btn.style.backgroundColor = c;
        btn.style.borderColor = c;
        btn.style.color = isDark(b.color) ? '#fff' : '#202124';
        if (!type) type = 'FILLED';
      }
    }
    btn.className += ' pf-button-' + (type || 'TEXT').toLowerCase().replace('_', '-');
    btn.disabled = !!b.disabled;
    if (isObj(b.onClick)) {
      extra = extra.concat(this.checkOnClick(b.onClick, path + '.onClick'));
      btn.addEventListener('click', function (ev) { ev.stopPropagation(); self.click(b.onClick, btn); });
    }
    if (!extra.length) return btn;
    var w = el('span', 'pf-button-wrap');
    w.appendChild(btn);
    appendAll(w, extra);
    return w;
  };

  Renderer.prototype.w_buttonList = function (wrap, bl, path) {
    var self = this;
    appendAll(wrap, unknownFields(bl, ['buttons'], path));
    var row = el('div', 'pf-button-list');
    (bl.buttons || []).forEach(function (b, i) { row.appendChild(self.button(b, path + '.buttons[' + i + ']')); });
    wrap.appendChild(row);
  };

  // field wraps an input with its label, hint and error line.
  function field(wrap, labelText, control, hint) {
    var f = el('div', 'pf-field');
    if (labelText) {
      var lab = el('label', 'pf-label', labelText);
      if (control.id) lab.htmlFor = control.id;
      f.appendChild(lab);
    }
    f.appendChild(control);
    var under = el('div', 'pf-field-under');
    if (hint) under.appendChild(el('div', 'pf-hint', hint));
    var err = el('div', 'pf-error');
    err.setAttribute('role', 'alert');
    err.hidden = true;
    under.appendChild(err);
    f.appendChild(under);
    wrap.appendChild(f);
    return { field: f, under: under, error: err };
  }

  var uid = 0;
  function nextID(prefix) { uid++; return 'pf-' + prefix + '-' + uid; }

  Renderer.prototype.w_textInput = function (wrap, t, path) {
    var self = this;
    appendAll(wrap, unknownFields(t, ['name', 'label', 'hintText', 'value', 'type', 'onChangeAction', 'initialSuggestions',
      'validation', 'placeholderText'], path));
    var multi = t.type === 'MULTIPLE_LINE';
    var input = el(multi ? 'textarea' : 'input', 'pf-input');
    if (!multi) input.type = 'text';
    if (multi) input.rows = 3;
    input.id = nextID('in');
    input.name = t.name || '';
    input.value = t.value || '';
    if (t.placeholderText) input.placeholder = t.placeholderText;
    input.setAttribute('data-pf-input', 'textInput');
    var v = isObj(t.validation) ? t.validation : null;
    if (v) {
      appendAll(wrap, unknownFields(v, ['characterLimit', 'inputType'], path + '.validation'));
      if (Number(v.characterLimit) > 0) input.setAttribute('data-limit', String(Number(v.characterLimit)));
      if (v.inputType && v.inputType !== 'INPUT_TYPE_UNSPECIFIED') {
        input.setAttribute('data-input-type', v.inputType);
        if (v.inputType === 'EMAIL') input.type = multi ? input.type : 'email';
        if (v.inputType === 'INTEGER' || v.inputType === 'FLOAT') input.setAttribute('inputmode', v.inputType === 'INTEGER' ? 'numeric' : 'decimal');
        if (v.inputType === 'EMOJI_PICKER') wrap.appendChild(placeholder('field: ' + path + '.validation.inputType EMOJI_PICKER (Chat only)'));
      }
    }
    if (isObj(t.initialSuggestions) && Array.isArray(t.initialSuggestions.items) && !multi) {
      var dl = el('datalist');
      dl.id = nextID('sugg');
      t.initialSuggestions.items.forEach(function (it) {
        var o = el('option');
        o.value = isObj(it) ? (it.text || '') : String(it);
        dl.appendChild(o);
      });
      input.setAttribute('list', dl.id);
      wrap.appendChild(dl);
    }
    var f = field(wrap, t.label, input, t.hintText);
    f.field.classList.add('pf-text-field');
    if (input.hasAttribute('data-limit')) {
      var counter = el('div', 'pf-counter');
      var upd = function () { counter.textContent = input.value.length + '/' + input.getAttribute('data-limit'); };
      upd();
      input.addEventListener('input', upd);
      f.under.appendChild(counter);
    }
    input.addEventListener('input', function () { clearError(input); });
    if (isObj(t.onChangeAction)) {
      appendAll(wrap, this.checkAction(t.onChangeAction, path + '.onChangeAction'));
      input.addEventListener('change', function () { self.fire(t.onChangeAction, input, 'onAction'); });
    }
  };

  Renderer.prototype.w_selectionInput = function (wrap, s, path) {
    var self = this;
    appendAll(wrap, unknownFields(s, ['name', 'label', 'type', 'items', 'onChangeAction', 'multiSelectMaxSelectedItems',
      'multiSelectMinQueryLength', 'hintText'], path));
    var type = s.type || 'CHECK_BOX';
    var items = Array.isArray(s.items) ? s.items : [];
    items.forEach(function (it, i) {
      appendAll(wrap, unknownFields(it, ['text', 'value', 'selected', 'startIconUri', 'bottomText'], path + '.items[' + i + ']'));
    });
    var name = s.name || '';
    var group;
    if (type === 'DROPDOWN') {
      group = el('select', 'pf-select');
      group.id = nextID('sel');
      group.name = name;
      group.setAttribute('data-pf-input', 'selectionInput');
      items.forEach(function (it) {
        var o = el('option', null, it.text || '');
        o.value = it.value === undefined ? '' : it.value;
        if (it.selected) o.selected = true;
        group.appendChild(o);
      });
      if (!items.some(function (it) { return it.selected; })) group.selectedIndex = items.length ? 0 : -1;
    } else if (['CHECK_BOX', 'RADIO_BUTTON', 'SWITCH', 'MULTI_SELECT'].indexOf(type) >= 0) {
      group = el('div', 'pf-choices pf-choices-' + type.toLowerCase().replace('_', '-'));
      group.setAttribute('role', type === 'RADIO_BUTTON' ? 'radiogroup' : 'group');
      group.setAttribute('data-pf-input', 'selectionInput');
      group.setAttribute('data-name', name);
      var max = type === 'MULTI_SELECT' ? Number(s.multiSelectMaxSelectedItems) || 0 : 0;
      items.forEach(function (it) {
        var row = el('label', 'pf-choice');
        var input = el('input');
        input.type = type === 'RADIO_BUTTON' ? 'radio' : 'checkbox';
        input.name = name;
        input.value = it.value === undefined ? '' : it.value;
        input.checked = !!it.selected;
        if (type === 'SWITCH') { input.className = 'pf-switch'; input.setAttribute('role', 'switch'); }
        else input.className = type === 'RADIO_BUTTON' ? 'pf-radio' : 'pf-checkbox';
        var text = el('span', 'pf-choice-text');
        if (it.startIconUri) {
          var ic = el('img', 'pf-choice-icon');
          ic.src = it.startIconUri;
          ic.alt = '';
          ic.addEventListener('error', function () { ic.remove(); });
          text.appendChild(ic);
        }
        text.appendChild(el('span', 'pf-choice-label', it.text || ''));
        if (it.bottomText) text.appendChild(el('span', 'pf-choice-bottom', it.bottomText));
        if (type === 'SWITCH') { row.appendChild(text); row.appendChild(input); row.appendChild(el('span', 'pf-switch-track')); row.className += ' pf-choice-switch'; }
        else { row.appendChild(input); row.appendChild(text); }
        if (max > 0) {
          input.addEventListener('change', function () {
            var boxes = group.querySelectorAll('input');
            var n = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
            Array.prototype.forEach.call(boxes, function (b) { b.disabled = !b.checked && n >= max; });
          });
        }
        group.appendChild(row);
      });
    } else {
      wrap.appendChild(placeholder('field: ' + path + '.type ' + type));
      return;
    }
    var f = field(wrap, s.label, group, s.hintText);
    f.field.classList.add('pf-selection-field');
    group.addEventListener('change', function () { clearError(group); });
    if (isObj(s.onChangeAction)) {
      appendAll(wrap, this.checkAction(s.onChangeAction, path + '.onChangeAction'));
      group.addEventListener('change', function () { self.fire(s.onChangeAction, group, 'onAction'); });
    }
  };

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  Renderer.prototype.w_dateTimePicker = function (wrap, d, path) {
    var self = this;
    appendAll(wrap, unknownFields(d, ['name', 'label', 'type', 'valueMsEpoch', 'timezoneOffsetDate', 'onChangeAction'], path));
    var type = d.type || 'DATE_AND_TIME';
    var input = el('input', 'pf-input pf-date');
    input.type = type === 'DATE_ONLY' ? 'date' : type === 'TIME_ONLY' ? 'time' : 'datetime-local';
    input.id = nextID('dt');
    input.name = d.name || '';
    input.setAttribute('data-pf-input', 'dateTimePicker');
    input.setAttribute('data-type', type);
    // The offset (minutes east of UTC) the value is shown in: the card's
    // timezoneOffsetDate, else the browser's own zone at that instant.
    var ms = d.valueMsEpoch === undefined || d.valueMsEpoch === '' ? null : Number(d.valueMsEpoch);
    var offset = d.timezoneOffsetDate === undefined ? null : Number(d.timezoneOffsetDate);
    if (offset !== null) input.setAttribute('data-offset', String(offset));
    if (ms !== null && !isNaN(ms)) {
      var wall;
      if (type === 'DATE_ONLY') wall = new Date(ms); // a date is UTC midnight
      else {
        var off = offset !== null ? offset : -new Date(ms).getTimezoneOffset();
        wall = new Date(ms + off * 60000);
      }
      var date = wall.getUTCFullYear() + '-' + pad(wall.getUTCMonth() + 1) + '-' + pad(wall.getUTCDate());
      var time = pad(wall.getUTCHours()) + ':' + pad(wall.getUTCMinutes());
      input.value = type === 'DATE_ONLY' ? date : type === 'TIME_ONLY' ? time : date + 'T' + time;
    }
    field(wrap, d.label, input, null).field.classList.add('pf-date-field');
    input.addEventListener('change', function () { clearError(input); });
    if (isObj(d.onChangeAction)) {
      appendAll(wrap, this.checkAction(d.onChangeAction, path + '.onChangeAction'));
      input.addEventListener('change', function () { self.fire(d.onChangeAction, input, 'onAction'); });
    }
  };

  Renderer.prototype.w_divider = function (wrap, d, path) {
    appendAll(wrap, unknownFields(d, [], path));
    wrap.appendChild(el('hr', 'pf-divider'));
  };

  Renderer.prototype.w_grid = function (wrap, g, path) {
    var self = this;
    appendAll(wrap, unknownFields(g, ['title', 'items', 'borderStyle', 'columnCount', 'onClick'], path));
    if (g.title) wrap.appendChild(el('div', 'pf-grid-title', g.title));
    var grid = el('div', 'pf-grid');
    var cols = Math.max(1, Number(g.columnCount) || 2);
    grid.style.gridTemplateColumns = 'repeat(' + cols + ', minmax(0, 1fr))';
    var border = isObj(g.borderStyle) ? g.borderStyle : null;
    if (border) appendAll(wrap, this.checkBorder(border, path + '.borderStyle'));
    (g.items || []).forEach(function (it, i) {
      var p = path + '.items[' + i + ']';
      var cell = el('div', 'pf-grid-item');
      cell.setAttribute('data-pf', 'gridItem');
      if (it.id) cell.setAttribute('data-id', it.id);
      appendAll(cell, unknownFields(it, ['id', 'image', 'title', 'subtitle', 'layout'], p));
      if (border && border.type === 'STROKE') cell.style.border = '1px solid ' + (cssColor(border.strokeColor) || '#dadce0');
      if (border && border.cornerRadius) cell.style.borderRadius = Number(border.cornerRadius) + 'px';
      var img = null;
      if (isObj(it.image)) {
        appendAll(cell, unknownFields(it.image, ['imageUri', 'altText', 'cropStyle', 'borderStyle'], p + '.image'));
        img = el('img', 'pf-grid-image');
        img.src = it.image.imageUri || '';
        img.alt = it.image.altText || '';
        var crop = isObj(it.image.cropStyle) ? it.image.cropStyle : {};
        if (crop.type === 'CIRCLE') img.className += ' pf-circle';
        if (crop.type === 'RECTANGLE_4_3') img.style.aspectRatio = '4 / 3';
        if (crop.type === 'RECTANGLE_CUSTOM' && crop.aspectRatio) img.style.aspectRatio = String(crop.aspectRatio);
        if (crop.type === 'SQUARE' || crop.type === 'CIRCLE') img.style.aspectRatio = '1';
        img.addEventListener('error', function () { img.style.visibility = 'hidden'; });
      }
      var texts = el('div', 'pf-grid-text');
      if (it.title) texts.appendChild(el('div', 'pf-grid-item-title', it.title));
      if (it.subtitle) texts.appendChild(el('div', 'pf-grid-item-subtitle', it.subtitle));
      if (it.layout === 'TEXT_ABOVE') { cell.appendChild(texts); if (img) cell.appendChild(img); }
      else { if (img) cell.appendChild(img); cell.appendChild(texts); }
      if (isObj(g.onClick)) self.clickable(cell, gridItemClick(g.onClick, it.id), i === 0 ? path + '.onClick' : null);
      grid.appendChild(cell);
    });
    wrap.appendChild(grid);
  };

  // gridItemClick is the grid's onClick for one item: Google adds the item's
  // identifier to the action's parameters under "grid_item_identifier".
  function gridItemClick(oc, id) {
    if (!id) return oc;
    var out = Object.assign({}, oc);
    ['action', 'openDynamicLinkAction'].forEach(function (k) {
      if (!isObj(oc[k])) return;
      out[k] = Object.assign({}, oc[k], {
        parameters: (oc[k].parameters || []).concat([{ key: 'grid_item_identifier', value: String(id) }])
      });
    });
    return out;
  }

  Renderer.prototype.checkBorder = function (b, path) {
    return unknownFields(b, ['type', 'strokeColor', 'cornerRadius'], path);
  };

  Renderer.prototype.w_columns = function (wrap, c, path) {
    var self = this;
    appendAll(wrap, unknownFields(c, ['columnItems'], path));
    var row = el('div', 'pf-columns');
    (c.columnItems || []).forEach(function (col, i) {
      var p = path + '.columnItems[' + i + ']';
      var cn = el('div', 'pf-column');
      appendAll(cn, unknownFields(col, ['horizontalSizeStyle', 'horizontalAlignment', 'verticalAlignment', 'widgets'], p));
      if (col.horizontalSizeStyle === 'FILL_MINIMUM_SPACE') cn.classList.add('pf-column-min');
      if (col.horizontalAlignment) cn.setAttribute('data-align', col.horizontalAlignment);
      if (col.verticalAlignment) cn.setAttribute('data-valign', col.verticalAlignment);
      (col.widgets || []).forEach(function (w, j) { cn.appendChild(self.widget(w, p + '.widgets[' + j + ']')); });
      row.appendChild(cn);
    });
    wrap.appendChild(row);
  };

  Renderer.prototype.w_chipList = function (wrap, cl, path) {
    var self = this;
    appendAll(wrap, unknownFields(cl, ['layout', 'chips'], path));
    var row = el('div', 'pf-chip-list' + (cl.layout === 'HORIZONTAL_SCROLLABLE' ? ' pf-chip-scroll' : ''));
    (cl.chips || []).forEach(function (ch, i) {
      var p = path + '.chips[' + i + ']';
      var b = el('button', 'pf-chip');
      b.type = 'button';
      b.setAttribute('data-pf', 'chip');
      appendAll(wrap, unknownFields(ch, ['icon', 'label', 'onClick', 'enabled', 'disabled', 'altText'], p));
      if (isObj(ch.icon)) { var ic = renderIcon(ch.icon, p + '.icon'); if (ic) b.appendChild(ic); }
      b.appendChild(el('span', null, ch.label || ''));
      if (ch.altText) b.title = ch.altText;
      b.disabled = !!ch.disabled;
      if (isObj(ch.onClick)) {
        appendAll(wrap, self.checkOnClick(ch.onClick, p + '.onClick'));
        b.addEventListener('click', function () { self.click(ch.onClick, b); });
      }
      row.appendChild(b);
    });
    wrap.appendChild(row);
  };

  Renderer.prototype.footer = function (ff) {
    var foot = el('div', 'pf-footer');
    foot.setAttribute('data-pf', 'fixedFooter');
    appendAll(foot, unknownFields(ff, ['primaryButton', 'secondaryButton'], 'fixedFooter'));
    if (isObj(ff.secondaryButton)) {
      var s = this.button(ff.secondaryButton, 'fixedFooter.secondaryButton');
      s.classList.add('pf-footer-secondary');
      foot.appendChild(s);
    }
    if (isObj(ff.primaryButton)) {
      var b = ff.primaryButton;
      if (!b.type && !isObj(b.color)) b = Object.assign({}, b, { type: 'FILLED' });
      var p = this.button(b, 'fixedFooter.primaryButton');
      p.classList.add('pf-footer-primary');
      foot.appendChild(p);
    }
    return foot;
  };

  // ------------------------------------------------------------ behaviour

  Renderer.prototype.click = function (oc, source) {
    if (!isObj(oc)) return;
    if (isObj(oc.action)) this.fire(oc.action, source, 'onAction');
    else if (isObj(oc.openLink)) this.call('onOpenLink', oc.openLink);
    else if (isObj(oc.openDynamicLinkAction)) this.fire(oc.openDynamicLinkAction, source, 'onOpenDynamicLink');
    else if (isObj(oc.card)) this.call('onCard', oc.card);
    else if (isObj(oc.overflowMenu)) {
      this.menu(source, (oc.overflowMenu.items || []).map(function (it) {
        return { text: it.text, icon: it.startIcon, disabled: it.disabled, onClick: it.onClick };
      }));
    }
  };

  // fire validates the widgets the action needs, then hands the action and
  // the form inputs to the host.
  Renderer.prototype.fire = function (action, source, callback) {
    if (this.root.classList.contains('pf-loading')) return;
    if (!validate(this.root, action)) return;
    var inputs = formInputs(this.root);
    if (action.loadIndicator !== 'NONE') this.spin();
    this.call(callback, action, inputs);
  };

  Renderer.prototype.spin = function () {
    if (this.root.querySelector('.pf-spinner-overlay')) return;
    this.root.classList.add('pf-loading');
    var o = el('div', 'pf-spinner-overlay');
    o.setAttribute('data-pf', 'spinner');
    o.appendChild(el('div', 'pf-spinner'));
    this.root.appendChild(o);
  };

  function clearLoading(root) {
    if (!root) return;
    root.classList.remove('pf-loading');
    var o = root.querySelector('.pf-spinner-overlay');
    if (o) o.remove();
  }

  // ------------------------------------------------------ form and checks

  function inputNodes(root) {
    return Array.prototype.slice.call(root.querySelectorAll('[data-pf-input]'));
  }

  function nodeName(n) { return n.getAttribute('data-name') || n.name || ''; }

  // valueOf returns the FormInput of one input node, or null when Google
  // would leave it out (empty text, nothing ticked, switch off, no date).
  function valueOf(n) {
    var kind = n.getAttribute('data-pf-input');
    if (kind === 'textInput') return n.value === '' ? null : { stringInputs: { value: [n.value] } };
    if (kind === 'switchControl') return n.checked ? { stringInputs: { value: [n.value] } } : null;
    if (kind === 'selectionInput') {
      if (n.tagName === 'SELECT') {
        return { stringInputs: { value: n.selectedIndex >= 0 ? [n.value] : [] } };
      }
      var vals = Array.prototype.filter.call(n.querySelectorAll('input'), function (i) { return i.checked; })
        .map(function (i) { return i.value; });
      if (n.getAttribute('role') === 'radiogroup') return { stringInputs: { value: vals } };
      return vals.length ? { stringInputs: { value: vals } } : null;
    }
    if (kind === 'dateTimePicker') {
      if (!n.value) return null;
      var type = n.getAttribute('data-type');
      if (type === 'TIME_ONLY') {
        var t = n.value.split(':');
        return { timeInput: { hours: Number(t[0]), minutes: Number(t[1]) } };
      }
      var m = /^(\d{4,})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d))?/.exec(n.value);
      if (!m) return null;
      if (type === 'DATE_ONLY') {
        return { dateInput: { msSinceEpoch: Date.UTC(+m[1], +m[2] - 1, +m[3]) } };
      }
      var wallUTC = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
      var ms;
      if (n.hasAttribute('data-offset')) ms = wallUTC - Number(n.getAttribute('data-offset')) * 60000;
      else ms = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]).getTime();
      return { dateTimeInput: { msSinceEpoch: ms, hasDate: true, hasTime: true } };
    }
    return null;
  }

  // formInputs returns the values of every input widget of a rendered card,
  // keyed by widget name, as Google's commonEventObject.formInputs.
  function formInputs(root) {
    var out = {};
    inputNodes(root).forEach(function (n) {
      var name = nodeName(n);
      if (!name) return;
      var v = valueOf(n);
      if (v) out[name] = v;
    });
    return out;
  }

  function widgetOf(n) { return n.closest('.pf-widget') || n.parentNode; }

  function showError(n, msg) {
    var w = widgetOf(n);
    var err = w.querySelector('.pf-error');
    if (!err) { err = el('div', 'pf-error'); err.setAttribute('role', 'alert'); w.appendChild(err); }
    err.textContent = msg;
    err.hidden = false;
    w.classList.add('pf-invalid');
    n.setAttribute('aria-invalid', 'true');
  }

  function clearError(n) {
    var w = widgetOf(n);
    var err = w.querySelector('.pf-error');
    if (err) { err.hidden = true; err.textContent = ''; }
    w.classList.remove('pf-invalid');
    n.removeAttribute('aria-invalid');
  }

  // problem returns what is wrong with a text input's value, or ''.
  function problem(n) {
    if (n.getAttribute('data-pf-input') !== 'textInput' || n.value === '') return '';
    var limit = Number(n.getAttribute('data-limit')) || 0;
    if (limit && Array.from(n.value).length > limit) return tr('renderer.too_long', { Count: limit });
    var t = n.getAttribute('data-input-type');
    var v = n.value.trim();
    if (t === 'INTEGER' && !/^[-+]?\d+$/.test(v)) return tr('renderer.integer');
    if (t === 'FLOAT' && !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return tr('renderer.number');
    if (t === 'EMAIL' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return tr('renderer.email');
    return '';
  }

  // validate checks the card before an action runs: every required widget
  // (requiredWidgets, or all with allWidgetsAreRequired) has a value, and no
  // text input breaks its validation. Errors show at the widget.
  function validate(root, action) {
    var ok = true;
    var required = {};
    (action.requiredWidgets || []).forEach(function (n) { required[n] = true; });
    var values = formInputs(root);
    inputNodes(root).forEach(function (n) {
      var name = nodeName(n);
      clearError(n);
      var msg = problem(n);
      if (!msg && (action.allWidgetsAreRequired || required[name])) {
        var v = values[name];
        var empty = !v || (v.stringInputs && (v.stringInputs.value.length === 0 ||
          (v.stringInputs.value.length === 1 && v.stringInputs.value[0] === '' && n.getAttribute('data-pf-input') !== 'switchControl')));
        if (empty) msg = tr('renderer.required');
      }
      if (msg) { showError(n, msg); ok = false; }
    });
    if (!ok) {
      var first = root.querySelector('[aria-invalid="true"]');
      if (first && first.focus) first.focus();
    }
    return ok;
  }

  // ------------------------------------------------------------------ API

  function render(card, options) {
    // A form of its own per card: radio buttons group by name within it, so
    // two cards on one page (a pushed card over its parent) cannot mix.
    var root = el('form', 'pf-card');
    root.noValidate = true;
    root.addEventListener('submit', function (ev) { ev.preventDefault(); });
    var r = new Renderer(root, options);
    if (!isObj(card)) {
      root.appendChild(placeholder('card: ' + (card === null ? 'null' : typeof card)));
      return root;
    }
    r.card(normalize(card));
    return root;
  }

  var api = window.PostfachCards = {
    render: render,
    formInputs: formInputs,
    sanitize: sanitize,
    clearLoading: clearLoading,
    t: tr,
    lang: 'en'
  };
})();
