// The playground's host: a small Gmail over the Gmail simulator's REST API,
// and a sidebar that plays Google's add-on host. It reads the deployment to
// find the add-on's trigger URLs, asks the dev token endpoint for the
// tokens Google would send to each exact URL, posts the event JSON Google
// posts, and renders the returned cards with PostfachCards (cards.js).
'use strict';

(function () {
  const config = JSON.parse(document.getElementById('pf-config').textContent);
  // t words a message of the catalogs in the page's language (see cards.js).
  const t = (id, args) => PostfachCards.t(id, args);
  // languages are those the server sent catalogs for.
  const languages = Object.keys(window.PostfachMessages || { en: {} });
  const $ = (id) => document.getElementById(id);
  const el = (tag, props, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  };

  // ---- state ------------------------------------------------------------

  const params = new URLSearchParams(location.search);
  // The language: ?lang=, else the browser's if there is a catalog for it.
  const browserLang = (navigator.language || 'en').slice(0, 2).toLowerCase();
  const state = {
    lang: languages.includes(params.get('lang')) ? params.get('lang') : languages.includes(browserLang) ? browserLang : 'en',
    user: config.users.find((u) => u.email === params.get('user')) || config.users[0],
    mobile: params.get('device') === 'mobile',
    deployment: null,
    labels: [], // [{id, name, type, threadsTotal, threadsUnread}]
    labelId: 'INBOX',
    query: '',
    thread: null, // the open thread (Gmail API JSON)
    // The add-on's card stack and the context it was opened in: null for
    // the homepage, {messageId, threadId} for a message.
    stack: [],
    context: null,
    root: null, // the trigger that built the stack: 'homepage' | 'message'
    historyId: '',
    composeCard: null,
  };
  let inflight = 0;
  const track = async (p) => {
    inflight++;
    try {
      return await p;
    } finally {
      inflight--;
    }
  };

  // ---- tokens and Google's APIs -----------------------------------------

  // tokens are what Google puts into a request to url for the current user.
  async function tokens(url) {
    const q = new URLSearchParams({ email: state.user.email, url });
    const r = await fetch('/dev/tokens?' + q);
    if (!r.ok) throw new Error('tokens: ' + r.status + ' ' + (await r.text()));
    return r.json();
  }

  let gmailToken = { user: '', token: '', until: 0 };
  async function gmailAccess() {
    if (gmailToken.user === state.user.email && Date.now() < gmailToken.until) return gmailToken.token;
    const t = await tokens(location.origin + '/gmail/v1');
    gmailToken = { user: state.user.email, token: t.userOAuthToken, until: Date.now() + 30 * 60 * 1000 };
    return gmailToken.token;
  }

  class GmailError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // gmail calls the Gmail API (the simulator) as the current user.
  async function gmail(method, path, query, body) {
    const token = await gmailAccess();
    const url = '/gmail/v1/users/me/' + path + (query ? '?' + query : '');
    const init = { method, headers: { Authorization: 'Bearer ' + token } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await fetch(url, init);
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new GmailError(r.status, (data.error && data.error.message) || 'Gmail ' + r.status);
    return data;
  }

  const header = (msg, name) => {
    const h = ((msg.payload && msg.payload.headers) || []).find((h) => h.name.toLowerCase() === name.toLowerCase());
    return h ? h.value : '';
  };

  function b64urlDecode(s) {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  }
  function b64urlEncode(str) {
    const bytes = new TextEncoder().encode(str);
    let bin = '';
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // bodyText finds the text/plain body of a message (format=full).
  function bodyText(part) {
    if (!part) return '';
    if (part.mimeType === 'text/plain' && part.body && part.body.data) return b64urlDecode(part.body.data);
    for (const p of part.parts || []) {
      const t = bodyText(p);
      if (t) return t;
    }
    if (part.body && part.body.data && !part.parts) return b64urlDecode(part.body.data);
    return '';
  }

  // Gmail's snippets are HTML-escaped text ("We&#39;d"); an inert
  // document decodes them without running anything.
  const unescapeHTML = (s) => new DOMParser().parseFromString(s || '', 'text/html').documentElement.textContent;

  // The add-on event's id forms: Google's guide shows msg-f:<decimal>.
  const addonID = (prefix, hex) => prefix + BigInt('0x' + hex).toString(10);

  const displayName = (from) => {
    const m = /^\s*"?([^"<]*?)"?\s*<([^>]+)>/.exec(from);
    if (m) return m[1] || m[2];
    return from;
  };

  function when(ms) {
    const d = new Date(Number(ms));
    const now = new Date();
    if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString(state.lang, { hour: '2-digit', minute: '2-digit' });
    return d.toLocaleDateString(state.lang, { day: 'numeric', month: 'short' });
  }

  // ---- the deployment -----------------------------------------------------

  async function loadDeployment() {
    const r = await fetch('/playground/deployment.json');
    if (!r.ok) throw new Error('deployment: ' + r.status);
    state.deployment = await r.json();
  }
  const addOns = () => (state.deployment && state.deployment.addOns) || {};
  const triggers = () => {
    const a = addOns();
    const common = a.common || {};
    const gm = a.gmail || {};
    const ctx = (gm.contextualTriggers || [])[0];
    const compose = gm.composeTrigger && (gm.composeTrigger.actions || [])[0];
    return {
      homepage: (gm.homepageTrigger && gm.homepageTrigger.runFunction) || (common.homepageTrigger && common.homepageTrigger.runFunction) || '',
      message: ctx ? ctx.onTriggerFunction : '',
      compose: compose ? compose.runFunction : '',
      composeLabel: compose ? (compose.label || compose.text) : '',
      draftAccess: (gm.composeTrigger && gm.composeTrigger.draftAccess) || 'NONE',
      universal: [...(common.universalActions || []), ...(gm.universalActions || [])],
      linkPrefixes: common.openLinkUrlPrefixes || [],
      name: common.name || 'Add-on',
    };
  };

  // sendsLocale: Google sends userLocale and timeZone only when the
  // deployment asks for them.
  function sendsLocale() {
    const scopes = (state.deployment && state.deployment.oauthScopes) || [];
    return !!(addOns().common && addOns().common.useLocaleFromApp) && scopes.includes('https://www.googleapis.com/auth/script.locale');
  }

  // ---- the add-on host ----------------------------------------------------

  // post sends an event to an add-on endpoint as Google does and returns
  // the response's JSON.
  async function post(url, extra) {
    const tok = await tokens(url);
    const common = { hostApp: 'GMAIL', platform: state.mobile ? 'ANDROID' : 'WEB' };
    if (sendsLocale()) {
      // The language picked here, as Gmail sends the user's locale.
      common.userLocale = state.lang === browserLang ? navigator.language : { de: 'de-DE', en: 'en-US' }[state.lang] || state.lang;
      const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      common.timeZone = { id: tz, offset: -new Date().getTimezoneOffset() * 60000 };
    }
    Object.assign(common, extra.common || {});
    const ev = {
      commonEventObject: common,
      authorizationEventObject: {
        userOAuthToken: tok.userOAuthToken,
        userIdToken: tok.userIdToken,
        systemIdToken: tok.systemIdToken,
        authorizedScopes: (state.deployment && state.deployment.oauthScopes) || [],
      },
    };
    if (extra.gmail) ev.gmail = Object.assign({ accessToken: tok.userOAuthToken }, extra.gmail);
    const r = await fetch(url, {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + tok.systemIdToken, 'Content-Type': 'application/json' },
      body: JSON.stringify(ev),
    });
    const text = await r.text();
    if (!r.ok) {
      const e = new Error(text.trim() || r.statusText);
      e.status = r.status;
      throw e;
    }
    return JSON.parse(text);
  }

  // gmailContext is the gmail object of events sent from a message card.
  function gmailContext() {
    if (!state.context) return undefined;
    return { messageId: state.context.messageId, threadId: state.context.threadId };
  }

  async function runTrigger(kind) {
    const tr = triggers();
    const url = kind === 'message' ? tr.message : tr.homepage;
    state.root = kind;
    if (!url) {
      state.stack = [];
      renderSidebar(kind === 'message' ? t('playground.no_message_trigger') : t('playground.open_a_message', { Name: tr.name }));
      return;
    }
    sidebarBusy(true);
    try {
      const resp = await track(post(url, { gmail: kind === 'message' ? gmailContext() : undefined }));
      state.stack = [];
      applyResponse(resp);
    } catch (e) {
      showError(e);
    } finally {
      sidebarBusy(false);
    }
  }

  async function runAction(action, formInputs) {
    const parameters = {};
    for (const p of action.parameters || []) parameters[p.key] = p.value;
    const common = {};
    if (Object.keys(parameters).length) common.parameters = parameters;
    if (formInputs && Object.keys(formInputs).length) common.formInputs = formInputs;
    sidebarBusy(true);
    try {
      const resp = await track(post(action.function, { common, gmail: gmailContext() }));
      applyResponse(resp);
    } catch (e) {
      showError(e);
    } finally {
      sidebarBusy(false);
    }
  }

  // applyResponse applies an add-on response: a trigger's
  // {action: {navigations}} or an action's {renderActions: {...}}.
  function applyResponse(resp) {
    const ra = resp.renderActions || resp;
    const action = ra.action || {};
    const navs = action.navigations || [];
    for (const n of navs) navigate(n);
    // A response that changes no card (a notification alone, as for a
    // refused input) leaves the card, and what the user typed into it,
    // as it is: Gmail does not redraw it.
    if (navs.length || !state.stack.length) renderSidebar();
    else PostfachCards.clearLoading($('pg-side-body').firstChild);
    if (action.notification && action.notification.text) toast(action.notification.text);
    if (action.link) openLink(action.link);
    const ga = ra.hostAppAction && ra.hostAppAction.gmailAction;
    if (ga) gmailAction(ga);
  }

  function navigate(n) {
    const s = state.stack;
    if (n.pushCard) s.push(n.pushCard);
    else if (n.updateCard) {
      if (s.length) s[s.length - 1] = n.updateCard;
      else s.push(n.updateCard);
    } else if (n.popCard) s.pop();
    else if (n.popToRoot) s.splice(1);
    else if (n.popToCard) {
      while (s.length > 1 && s[s.length - 1].name !== n.popToCard) s.pop();
    } else if (n.endNavigation) {
      closeCompose();
    }
  }

  function renderSidebar(message) {
    const body = $('pg-side-body');
    body.replaceChildren();
    const top = state.stack[state.stack.length - 1];
    $('pg-side-back').hidden = state.stack.length < 2;
    renderMenu(top);
    if (!top) {
      body.append(el('p', { class: 'pg-side-empty', text: message || '' }));
      return;
    }
    body.append(renderCard(top, runAction));
    body.scrollTop = 0;
  }

  function renderCard(card, onAction) {
    return PostfachCards.render(card, {
      onAction,
      onOpenLink: openLink,
      onCard: (c) => {
        state.stack.push(c);
        renderSidebar();
      },
      onOpenDynamicLink: onAction,
    });
  }

  // renderMenu fills the sidebar's ⋮ menu: the card's actions, then the
  // deployment's universal actions, as Gmail lists them.
  function renderMenu(card) {
    const list = $('pg-side-menu-list');
    list.replaceChildren();
    for (const ca of (card && card.cardActions) || []) {
      list.append(el('li', {}, el('button', {
        type: 'button', text: ca.actionLabel,
        onclick: () => { hideMenu(); clickAction(ca.onClick); },
      })));
    }
    for (const ua of triggers().universal) {
      list.append(el('li', {}, el('button', {
        type: 'button', text: ua.label, dataset: { universal: ua.label },
        onclick: () => {
          hideMenu();
          if (ua.openLink) openLink({ url: ua.openLink });
          else if (ua.runFunction) runAction({ function: ua.runFunction }, {});
        },
      })));
    }
  }
  function clickAction(onClick) {
    if (!onClick) return;
    if (onClick.action) runAction(onClick.action, {});
    else if (onClick.openLink) openLink(onClick.openLink);
    else if (onClick.card) { state.stack.push(onClick.card); renderSidebar(); }
  }
  const hideMenu = () => { $('pg-side-menu-list').hidden = true; };

  function sidebarBusy(on) {
    $('pg-side').classList.toggle('pg-busy', on);
  }

  function showError(e) {
    const body = $('pg-side-body');
    body.replaceChildren(el('div', { class: 'pg-side-error', role: 'alert' },
      el('strong', { text: t('playground.addon_failed') }),
      el('p', { text: (e.status ? 'HTTP ' + e.status + ': ' : '') + e.message })));
  }

  let toastTimer = 0;
  function toast(text) {
    const box = $('pg-toast');
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  // openLink follows an OpenLink: links into Gmail open the mail here; any
  // other link must match the deployment's openLinkUrlPrefixes, as Google
  // requires, and opens in a new window (OVERLAY as a popup); onClose
  // RELOAD runs the trigger again when that window closes.
  function openLink(link) {
    const url = link.url || '';
    if (url.startsWith('https://mail.google.com/')) {
      const hash = decodeURIComponent(url.split('#')[1] || '');
      const m = /^(?:search|advanced-search)\/(.*)$/.exec(hash);
      if (m) { search(m[1], true); return; }
      const t = /^[a-z-]+\/([0-9a-f]+)$/i.exec(hash);
      if (t) { openThread(t[1]); return; }
      toast(t('playground.opened_gmail'));
      return;
    }
    const prefixes = triggers().linkPrefixes;
    if (!prefixes.some((p) => url.startsWith(p))) {
      toast(t('playground.link_blocked', { URL: url }));
      return;
    }
    const w = window.open(url, '_blank', link.openAs === 'OVERLAY' ? 'popup,width=600,height=700' : '');
    if (w && link.onClose === 'RELOAD') {
      const timer = setInterval(() => {
        if (w.closed) { clearInterval(timer); runTrigger(state.root || 'homepage'); }
      }, 500);
    }
  }

  // gmailAction applies a compose action: open a draft, or change the one
  // being written.
  async function gmailAction(ga) {
    if (ga.openCreatedDraftActionMarkup) {
      const d = ga.openCreatedDraftActionMarkup;
      try {
        const draft = await track(gmail('GET', 'drafts/' + encodeURIComponent(d.draftId), 'format=full'));
        const m = draft.message || {};
        openCompose({
          to: header(m, 'To'), cc: header(m, 'Cc'), subject: header(m, 'Subject'),
          body: bodyText(m.payload), threadId: d.draftThreadId || m.threadId || '',
          inReplyTo: header(m, 'In-Reply-To'), references: header(m, 'References'),
          from: header(m, 'From'), draftId: d.draftId,
        });
      } catch (e) {
        toast(t('playground.draft_failed', { Error: e.message }));
      }
    }
    if (ga.updateDraftActionMarkup) updateDraft(ga.updateDraftActionMarkup);
  }

  // ---- mail ------------------------------------------------------------------

  async function loadLabels() {
    const list = await gmail('GET', 'labels');
    const shown = (list.labels || []).filter((l) => l.type === 'user' || ['INBOX', 'SENT', 'STARRED'].includes(l.id));
    state.labels = await Promise.all(shown.map((l) => gmail('GET', 'labels/' + encodeURIComponent(l.id))));
    renderLabels();
  }

  function systemLabels() {
    return { INBOX: t('playground.inbox'), STARRED: t('playground.starred'), SENT: t('playground.sent_label') };
  }

  function renderLabels() {
    const ul = $('pg-labels');
    ul.replaceChildren();
    const system = systemLabels();
    const order = ['INBOX', 'STARRED', 'SENT'];
    const sys = state.labels.filter((l) => system[l.id]).sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
    const user = state.labels.filter((l) => !system[l.id]).sort((a, b) => a.name.localeCompare(b.name));
    const item = (l, text, depth, count) => el('li', {
      class: 'pg-label' + (l.id === state.labelId && !state.query ? ' pg-current' : ''),
      dataset: { labelId: l.id, labelName: l.name },
      style: undefined,
    }, el('button', {
      type: 'button', class: 'pg-depth-' + Math.min(depth, 3),
      onclick: () => { state.labelId = l.id; state.query = ''; $('pg-search').value = ''; closeThread(); loadList(); renderLabels(); },
    }, el('span', { class: 'pg-label-name', text }), el('span', { class: 'pg-count', text: count ? String(count) : '' })));
    for (const l of sys) ul.append(item(l, system[l.id], 0, l.id === 'INBOX' ? l.threadsUnread : 0));
    if (user.length) ul.append(el('li', { class: 'pg-labels-head', text: t('playground.labels') }));
    for (const l of user) {
      const parts = l.name.split('/');
      ul.append(item(l, parts[parts.length - 1], parts.length - 1, l.threadsTotal));
    }
  }

  // loadList shows the threads of the current label or search, newest
  // first, as Gmail's list does.
  async function loadList() {
    const q = new URLSearchParams({ maxResults: '100' });
    if (state.query) q.set('q', state.query);
    else q.set('labelIds', state.labelId);
    const lbl = state.labels.find((l) => l.id === state.labelId);
    $('pg-list-title').textContent = state.query ? t('playground.search_title', { Query: state.query }) : lbl ? (lbl.type === 'system' ? systemLabels()[lbl.id] : lbl.name) : state.labelId;
    let res;
    try {
      res = await gmail('GET', 'messages', q.toString());
    } catch (e) {
      $('pg-list').replaceChildren(el('li', { class: 'pg-list-empty', text: e.message }));
      return [];
    }
    const seen = new Set();
    const ids = [];
    for (const m of res.messages || []) {
      if (!seen.has(m.threadId)) { seen.add(m.threadId); ids.push(m.threadId); }
    }
    const meta = 'format=metadata&metadataHeaders=From&metadataHeaders=Subject&metadataHeaders=To';
    const threads = await Promise.all(ids.map((id) => gmail('GET', 'threads/' + id, meta).catch(() => null)));
    const ul = $('pg-list');
    ul.replaceChildren();
    const live = threads.filter(Boolean);
    if (!live.length) ul.append(el('li', { class: 'pg-list-empty', text: state.query ? t('playground.no_match') : t('playground.list_empty') }));
    for (const t of live) ul.append(threadRow(t));
    return live;
  }

  function labelName(id) {
    const l = state.labels.find((l) => l.id === id);
    return l ? l.name : '';
  }

  // chips are a thread's user labels, shortened as Gmail shows nested ones.
  function chips(labelIds) {
    return labelIds.map(labelName).filter((n) => n && n.includes('/')).sort()
      .map((n) => el('span', { class: 'pg-chip' + (/\/Mine$/.test(n) ? ' pg-chip-mine' : ''), text: n.split('/').slice(1).join('/'), title: n }));
  }

  function threadRow(t) {
    const msgs = t.messages || [];
    const last = msgs[msgs.length - 1] || {};
    const labelIds = [...new Set(msgs.flatMap((m) => m.labelIds || []))];
    const unread = labelIds.includes('UNREAD');
    const froms = [...new Set(msgs.map((m) => displayName(header(m, 'From'))))];
    return el('li', { class: 'pg-row' + (unread ? ' pg-unread' : ''), dataset: { threadId: t.id } },
      el('button', { type: 'button', onclick: () => openThread(t.id) },
        el('span', { class: 'pg-row-from', text: froms.join(', ') + (msgs.length > 1 ? ' ' + msgs.length : '') }),
        el('span', { class: 'pg-row-main' },
          el('span', { class: 'pg-chips' }, chips(labelIds)),
          el('span', { class: 'pg-row-subject', text: header(msgs[0] || {}, 'Subject') || t('playground.no_subject') }),
          el('span', { class: 'pg-row-snippet', text: ' – ' + unescapeHTML(last.snippet) })),
        el('span', { class: 'pg-row-date', text: when(last.internalDate) })));
  }

  async function openThread(threadId) {
    let thread;
    try {
      thread = await track(gmail('GET', 'threads/' + threadId, 'format=full'));
    } catch (e) {
      toast(e.status === 404 ? t('playground.not_in_mailbox') : e.message);
      return;
    }
    state.thread = thread;
    const msgs = thread.messages || [];
    $('pg-list').hidden = true;
    $('pg-thread').hidden = false;
    $('pg-thread-subject').textContent = header(msgs[0] || {}, 'Subject') || t('playground.no_subject');
    const labelIds = [...new Set(msgs.flatMap((m) => m.labelIds || []))];
    $('pg-thread-labels').replaceChildren(...chips(labelIds));
    const box = $('pg-thread-messages');
    box.replaceChildren();
    for (const m of msgs) {
      box.append(el('div', { class: 'pg-msg', dataset: { messageId: m.id } },
        el('div', { class: 'pg-msg-head' },
          el('span', { class: 'pg-avatar pg-avatar-small', text: displayName(header(m, 'From')).slice(0, 1).toUpperCase() }),
          el('span', { class: 'pg-msg-from' }, el('strong', { text: displayName(header(m, 'From')) }), el('span', { class: 'pg-muted', text: ' ' + t('playground.to', { To: header(m, 'To') }) })),
          el('span', { class: 'pg-spacer' }),
          el('span', { class: 'pg-muted', text: new Date(Number(m.internalDate)).toLocaleString(state.lang) })),
        el('pre', { class: 'pg-msg-body', text: bodyText(m.payload) })));
    }
    const last = msgs[msgs.length - 1];
    box.append(el('div', { class: 'pg-thread-actions' },
      el('button', { type: 'button', class: 'pg-secondary', id: 'pg-reply', onclick: () => reply(last) }, '↩ ' + t('playground.reply'))));
    // Reading marks the thread read, as Gmail does.
    if (labelIds.includes('UNREAD')) {
      track(gmail('POST', 'threads/' + threadId + '/modify', '', { removeLabelIds: ['UNREAD'] })).catch(() => {});
    }
    // Gmail fires the contextual trigger for the open message.
    state.context = { messageId: addonID('msg-f:', last.id), threadId: addonID('thread-f:', thread.id) };
    placeSidebar();
    await runTrigger('message');
  }

  function closeThread() {
    if (!state.thread) return;
    state.thread = null;
    state.context = null;
    $('pg-thread').hidden = true;
    $('pg-list').hidden = false;
    placeSidebar();
    if (!state.mobile) runTrigger('homepage');
  }

  async function search(q, openFirst) {
    state.query = q;
    $('pg-search').value = q;
    closeThread();
    renderLabels();
    const threads = await track(loadList());
    if (openFirst && threads.length) await openThread(threads[0].id);
  }

  // refresh reloads the labels and the list when the mailbox changed
  // (its history id moved): new mail, or labels the sync applied.
  async function refresh(force) {
    try {
      const p = await gmail('GET', 'profile');
      if (!force && p.historyId === state.historyId) return;
      state.historyId = p.historyId;
      await loadLabels();
      if (!state.thread) await loadList();
      else {
        const th = await gmail('GET', 'threads/' + state.thread.id, 'format=minimal').catch(() => null);
        if (th) $('pg-thread-labels').replaceChildren(...chips([...new Set((th.messages || []).flatMap((m) => m.labelIds || []))]));
      }
    } catch (e) {
      // The next poll tries again.
    }
  }

  // ---- compose ---------------------------------------------------------------

  function reply(m) {
    const subject = header(m, 'Subject');
    const from = header(m, 'From');
    const mine = from.includes(state.user.email);
    openCompose({
      to: mine ? header(m, 'To') : (header(m, 'Reply-To') || from),
      subject: /^re:/i.test(subject) ? subject : 'Re: ' + subject,
      threadId: m.threadId,
      inReplyTo: header(m, 'Message-ID'),
      references: [header(m, 'References'), header(m, 'Message-ID')].filter(Boolean).join(' '),
    });
  }

  // The compose window's state beyond its form: the References chain, the
  // From line (the draft's own when it opened a draft the add-on created,
  // which may be a send-as address), and the draft it edits, if any: a
  // draft is sent with drafts.send and kept when the window closes, as
  // Gmail keeps it; a new message is sent with messages.send.
  let composeRefs = '';
  let composeFrom = '';
  let composeDraftID = '';
  // composeNames keeps the display names of the addresses the window was
  // opened with ("Dana Fischer" <dana@…>): the To and Cc fields are
  // type=email and take bare addresses only, and the mail sent puts the
  // names back.
  let composeNames = new Map();
  function openCompose(d) {
    const f = $('pg-compose-form');
    composeNames = new Map();
    const bare = (list) => parseAddrs(list || '').map((a) => {
      if (a.name) composeNames.set(a.email.toLowerCase(), a.name);
      return a.email;
    }).join(', ');
    f.elements.to.value = bare(d.to);
    f.elements.cc.value = bare(d.cc);
    f.elements.subject.value = d.subject || '';
    f.elements.threadId.value = d.threadId || '';
    f.elements.inReplyTo.value = d.inReplyTo || '';
    composeRefs = d.references || d.inReplyTo || '';
    composeFrom = d.from || state.user.name + ' <' + state.user.email + '>';
    composeDraftID = d.draftId || '';
    $('pg-compose-body').textContent = d.body || '';
    const from = parseAddrs(d.from || '')[0];
    const shownFrom = from ? (from.name ? from.name + ' <' + from.email + '>' : from.email) : state.user.email;
    $('pg-compose-from').textContent = t('playground.from', { Email: shownFrom });
    const cancel = $('pg-compose-cancel');
    cancel.dataset.t = composeDraftID ? 'playground.close_draft' : 'playground.discard';
    cancel.textContent = t(cancel.dataset.t);
    $('pg-compose-error').hidden = true;
    $('pg-compose-addon').replaceChildren();
    const tr = triggers();
    $('pg-compose-trigger').hidden = !tr.compose;
    $('pg-compose-trigger').textContent = tr.composeLabel || tr.name;
    const dlg = $('pg-compose-dialog');
    if (!dlg.open) dlg.showModal();
  }
  function closeCompose() {
    const dlg = $('pg-compose-dialog');
    if (dlg.open) dlg.close();
  }
  // leaveCompose is the window's Discard, or Close for a draft: a new
  // message is dropped; a draft keeps its id and is saved as written
  // (drafts.update), never deleted: the add-on made it, and Gmail's
  // compose window saves rather than discards on close.
  async function leaveCompose() {
    const id = composeDraftID;
    if (!id) { closeCompose(); return; }
    const message = composeMessage();
    try {
      if (message) await track(gmail('PUT', 'drafts/' + encodeURIComponent(id), '', { id, message }));
      closeCompose();
    } catch (e) {
      $('pg-compose-error').textContent = e.message;
      $('pg-compose-error').hidden = false;
    }
  }
  const splitAddrs = (s) => s.split(',').map((a) => a.trim()).filter(Boolean);

  // parseAddrs reads an address-list header ('"Fischer, Dana" <d@x>, e@y')
  // into {name, email} pairs: commas inside quotes or angle brackets do not
  // split it.
  function parseAddrs(s) {
    const parts = [];
    let cur = '', quoted = false, angle = false;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '\\' && quoted) { cur += c + (s[++i] || ''); continue; }
      if (c === '"') quoted = !quoted;
      else if (!quoted && c === '<') angle = true;
      else if (!quoted && c === '>') angle = false;
      else if (c === ',' && !quoted && !angle) { parts.push(cur); cur = ''; continue; }
      cur += c;
    }
    parts.push(cur);
    return parts.map((p) => p.trim()).filter(Boolean).map((p) => {
      const m = /^(.*?)\s*<([^<>]+)>$/.exec(p);
      if (!m) return { name: '', email: p };
      const name = m[1].trim().replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1');
      return { name, email: m[2].trim() };
    });
  }
  // formatAddr writes an address with the display name the window was
  // opened with: quoted when it holds RFC 5322 specials, RFC 2047 encoded
  // when it is not ASCII and goes into a mail header (header false: the
  // add-on event's recipients, which are text, not mail).
  function formatAddr(email, header = true) {
    const name = composeNames.get(email.toLowerCase());
    if (!name) return email;
    let shown = name;
    if (header && !/^[\x20-\x7e]*$/.test(name)) shown = encodeHeader(name);
    else if (/[()<>\[\]:;@\\,."]/.test(name)) shown = '"' + name.replace(/(["\\])/g, '\\$1') + '"';
    return shown + ' <' + email + '>';
  }

  // runCompose fires the deployment's compose trigger with the draft's
  // recipients (draftAccess METADATA) and shows its card in the compose
  // window; the card's actions can change the draft.
  async function runCompose() {
    const tr = triggers();
    const f = $('pg-compose-form');
    const gm = {};
    if (tr.draftAccess === 'METADATA') {
      gm.toRecipients = splitAddrs(f.elements.to.value).map((a) => formatAddr(a, false));
      gm.ccRecipients = splitAddrs(f.elements.cc.value).map((a) => formatAddr(a, false));
      gm.bccRecipients = [];
    }
    const box = $('pg-compose-addon');
    try {
      const resp = await track(post(tr.compose, { gmail: gm }));
      composeResponse(resp);
    } catch (e) {
      box.replaceChildren(el('p', { class: 'pg-error', text: e.message }));
    }
  }
  function composeResponse(resp) {
    const ra = resp.renderActions || resp;
    const action = ra.action || {};
    const box = $('pg-compose-addon');
    for (const n of action.navigations || []) {
      const card = n.pushCard || n.updateCard;
      if (card) {
        state.composeCard = card;
        box.replaceChildren(renderCard(card, async (a, formInputs) => {
          const parameters = {};
          for (const p of a.parameters || []) parameters[p.key] = p.value;
          try {
            composeResponse(await track(post(a.function, { common: { parameters, formInputs }, gmail: {} })));
          } catch (e) {
            PostfachCards.clearLoading(box.firstChild);
            toast(e.message);
          }
        }));
      }
      if (n.endNavigation || n.popToRoot) box.replaceChildren();
    }
    if (action.notification && action.notification.text) toast(action.notification.text);
    const ga = ra.hostAppAction && ra.hostAppAction.gmailAction;
    if (ga) gmailAction(ga);
  }

  // updateDraft applies an UpdateDraftActionMarkup to the compose window.
  function updateDraft(u) {
    const f = $('pg-compose-form');
    if (!$('pg-compose-dialog').open) openCompose({});
    const body = $('pg-compose-body');
    const b = u.updateBody;
    if (b) {
      const text = (b.insertContents || []).map((c) => (c.contentType === 'TEXT' ? c.content : htmlToText(c.content))).join('');
      if (b.type === 'INSERT_AT_START') body.textContent = text + body.textContent;
      else if (b.type === 'INSERT_AT_END') body.textContent = body.textContent + text;
      else insertAtCursor(body, text);
    }
    if (u.updateSubject) f.elements.subject.value = u.updateSubject.subject || '';
    if (u.updateToRecipients) f.elements.to.value = (u.updateToRecipients.toRecipients || []).join(', ');
    if (u.updateCcRecipients) f.elements.cc.value = (u.updateCcRecipients.ccRecipients || []).join(', ');
  }
  function htmlToText(html) {
    const doc = new DOMParser().parseFromString(html.replace(/<br\s*\/?>/gi, '\n').replace(/<\/p>/gi, '\n'), 'text/html');
    return doc.body.textContent || '';
  }
  function insertAtCursor(box, text) {
    const sel = window.getSelection();
    if (sel && sel.rangeCount && box.contains(sel.anchorNode)) {
      const r = sel.getRangeAt(0);
      r.deleteContents();
      r.insertNode(document.createTextNode(text));
    } else {
      box.append(text);
    }
  }

  // composeMessage is the compose window as a Gmail message resource
  // (raw and threadId), or null without recipients.
  function composeMessage() {
    const f = $('pg-compose-form');
    const to = splitAddrs(f.elements.to.value);
    if (!to.length) return null;
    const headers = [
      'From: ' + composeFrom,
      'To: ' + to.map((a) => formatAddr(a)).join(', '),
    ];
    const cc = splitAddrs(f.elements.cc.value);
    if (cc.length) headers.push('Cc: ' + cc.map((a) => formatAddr(a)).join(', '));
    headers.push('Subject: ' + encodeHeader(f.elements.subject.value));
    headers.push('Date: ' + new Date().toUTCString().replace('GMT', '+0000'));
    headers.push('Message-ID: <' + crypto.randomUUID() + '@playground.postfach.dev>');
    if (f.elements.inReplyTo.value) headers.push('In-Reply-To: ' + f.elements.inReplyTo.value);
    if (composeRefs) headers.push('References: ' + composeRefs);
    headers.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: 8bit');
    const raw = headers.join('\r\n') + '\r\n\r\n' + $('pg-compose-body').innerText.replace(/\r?\n/g, '\r\n');
    const message = { raw: b64urlEncode(raw) };
    if (f.elements.threadId.value) message.threadId = f.elements.threadId.value;
    return message;
  }

  async function sendCompose(ev) {
    ev.preventDefault();
    const message = composeMessage();
    if (!message) return;
    try {
      // A draft goes out as itself (drafts.send with the message as
      // written), so Gmail removes it rather than leaving it beside the
      // sent copy.
      if (composeDraftID) await track(gmail('POST', 'drafts/send', '', { id: composeDraftID, message }));
      else await track(gmail('POST', 'messages/send', '', message));
      composeDraftID = '';
      closeCompose();
      toast(t('playground.sent'));
      refresh(true);
    } catch (e) {
      $('pg-compose-error').textContent = e.message;
      $('pg-compose-error').hidden = false;
    }
  }
  // encodeHeader writes a non-ASCII header value as an RFC 2047 word.
  function encodeHeader(v) {
    if (/^[\x20-\x7e]*$/.test(v)) return v;
    return '=?UTF-8?B?' + btoa(String.fromCharCode(...new TextEncoder().encode(v))) + '?=';
  }

  // ---- delivering a customer's mail -------------------------------------

  async function deliver(ev) {
    ev.preventDefault();
    const f = $('pg-deliver-form');
    const to = f.elements.to.value;
    const raw = [
      'From: ' + f.elements.from.value,
      'To: ' + to,
      'Subject: ' + encodeHeader(f.elements.subject.value),
      'Date: ' + new Date().toUTCString().replace('GMT', '+0000'),
      'Message-ID: <' + crypto.randomUUID() + '@customer.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      '',
      f.elements.body.value,
    ].join('\r\n');
    const r = await track(fetch('/dev/deliver', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ to, raw }) }));
    if (!r.ok) {
      $('pg-deliver-error').textContent = (await r.text()).trim();
      $('pg-deliver-error').hidden = false;
      return;
    }
    const res = await r.json();
    $('pg-deliver-dialog').close();
    toast(t('playground.delivered', { Count: res.mailboxes.length }));
    refresh(true);
  }

  // ---- the chrome -------------------------------------------------------------

  function placeSidebar() {
    const side = $('pg-side');
    document.body.classList.toggle('pg-mobile', state.mobile);
    if (state.mobile) {
      $('pg-mobile-addon').hidden = !state.thread;
      $('pg-mobile-addon').append(side);
    } else {
      $('pg-main').append(side);
    }
  }

  // applyChrome words the page's own elements: data-t sets the text,
  // data-t-title, data-t-placeholder, data-t-aria-label and data-t-value
  // the attribute or value.
  function applyChrome() {
    PostfachCards.lang = state.lang;
    document.documentElement.lang = state.lang;
    for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
    for (const e of document.querySelectorAll('[data-t-title]')) e.title = t(e.dataset.tTitle);
    for (const e of document.querySelectorAll('[data-t-placeholder]')) e.placeholder = t(e.dataset.tPlaceholder);
    for (const e of document.querySelectorAll('[data-t-aria-label]')) e.setAttribute('aria-label', t(e.dataset.tAriaLabel));
    for (const e of document.querySelectorAll('[data-t-value]')) e.value = t(e.dataset.tValue);
    $('pg-lang').value = state.lang;
  }

  function renderUser() {
    const u = state.user;
    $('pg-user-name').textContent = u.name;
    $('pg-user-email').textContent = u.email + ' · ' + u.tenantName;
    $('pg-avatar').textContent = u.name.slice(0, 1).toUpperCase();
    document.title = t('playground.title', { Name: u.name });
    $('pg-desktop').setAttribute('aria-pressed', String(!state.mobile));
    $('pg-mobile').setAttribute('aria-pressed', String(state.mobile));
  }

  function saveURL() {
    const q = new URLSearchParams({ user: state.user.email });
    if (state.mobile) q.set('device', 'mobile');
    if (state.lang !== browserLang) q.set('lang', state.lang);
    history.replaceState(null, '', '?' + q);
  }

  // start (re)loads everything for the current user and device.
  async function start() {
    applyChrome();
    renderUser();
    saveURL();
    state.thread = null;
    state.context = null;
    state.stack = [];
    state.labelId = 'INBOX';
    state.query = '';
    state.historyId = '';
    $('pg-thread').hidden = true;
    $('pg-list').hidden = false;
    placeSidebar();
    renderSidebar('');
    await track(refresh(true));
    if (!state.mobile) await runTrigger('homepage');
  }

  function setup() {
    const langSel = $('pg-lang');
    for (const l of languages) {
      langSel.append(el('option', { value: l, text: (window.PostfachMessages[l] || {})['playground.language_name'] || l }));
    }
    langSel.addEventListener('change', () => {
      state.lang = langSel.value;
      start();
    });
    const sel = $('pg-user');
    const tenants = [...new Set(config.users.map((u) => u.tenantName))];
    for (const tn of tenants) {
      const g = el('optgroup', { label: tn });
      for (const u of config.users.filter((u) => u.tenantName === tn)) {
        g.append(el('option', { value: u.email, text: u.name + ' <' + u.email + '>' }));
      }
      sel.append(g);
    }
    sel.value = state.user.email;
    sel.addEventListener('change', () => {
      state.user = config.users.find((u) => u.email === sel.value) || config.users[0];
      start();
    });
    $('pg-desktop').addEventListener('click', () => { if (state.mobile) { state.mobile = false; start(); } });
    $('pg-mobile').addEventListener('click', () => { if (!state.mobile) { state.mobile = true; start(); } });
    $('pg-refresh').addEventListener('click', () => refresh(true));
    $('pg-back').addEventListener('click', closeThread);
    $('pg-side-back').addEventListener('click', () => { state.stack.pop(); renderSidebar(); });
    $('pg-side-reload').addEventListener('click', () => runTrigger(state.thread ? 'message' : 'homepage'));
    $('pg-side-menu').addEventListener('click', (e) => {
      e.stopPropagation();
      $('pg-side-menu-list').hidden = !$('pg-side-menu-list').hidden;
    });
    document.addEventListener('click', hideMenu);
    $('pg-search-form').addEventListener('submit', (e) => { e.preventDefault(); search($('pg-search').value.trim(), false); });
    $('pg-compose').addEventListener('click', () => openCompose({}));
    $('pg-compose-form').addEventListener('submit', sendCompose);
    $('pg-compose-cancel').addEventListener('click', leaveCompose);
    $('pg-compose-trigger').addEventListener('click', runCompose);
    const to = $('pg-deliver-to');
    for (const ib of config.inboxes) to.append(el('option', { value: ib.address, text: ib.name + ' <' + ib.address + '>' }));
    $('pg-deliver').addEventListener('click', () => { $('pg-deliver-error').hidden = true; $('pg-deliver-dialog').showModal(); });
    $('pg-deliver-form').addEventListener('submit', deliver);
    $('pg-deliver-cancel').addEventListener('click', () => $('pg-deliver-dialog').close());
    // New mail and the sync's labels show up within seconds, as in Gmail.
    setInterval(() => { if (!document.hidden) track(refresh(false)); }, 2000);
  }

  // For tests and the curious: the host's state, and a promise that
  // resolves once no request is in flight.
  window.playground = {
    state,
    idle() {
      return new Promise((resolve) => {
        const check = (quiet) => {
          if (inflight > 0) setTimeout(() => check(0), 20);
          else if (quiet < 3) setTimeout(() => check(quiet + 1), 20);
          else resolve(true);
        };
        check(0);
      });
    },
  };

  document.addEventListener('DOMContentLoaded', async () => {
    setup();
    try {
      await track(loadDeployment());
    } catch (e) {
      showError(e);
      return;
    }
    start();
  });
})();
