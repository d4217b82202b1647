// Kiosk screen for one booth. It renders the kiosk.Screen values that
// the daemon pushes over the websocket /ws?booth=ID (protocol v1, see
// ui.WSMessage) and sends pick, help and hangup messages back. No build
// step, no dependencies: plain ES2017 for the Chromium of Debian.
'use strict';
(function () {
  var PROTO = 1;
  var TEXT = {
    zh: {
      title: '亲情电话', loading: '正在连接…', reconnecting: '正在重新连接…',
      tap: '请刷卡', tapHint: '把你的卡放到读卡器上', pick: '你想给谁打电话？点一下',
      hoursToday: function (h) { return '今天开放时间：' + h; },
      simulated: function (list) { return '模拟设备：' + list.map(function (d) { return SIM_ZH[d] || d; }).join('、'); },
      hello: function (n) { return '你好，' + n + '！'; },
      quotaMinutes: function (n) { return '这周还能打 ' + n + ' 分钟'; },
      quotaCalls: function (n) { return '还能打 ' + n + ' 次'; },
      call: '打电话', noPhone: '暂不能打',
      unknown: '这张卡还不认识，请找老师', closed: '现在不是开放时间',
      nextOpening: function (t) { return '下次开放：' + t; },
      queued: '请稍等，马上轮到你', position: function (n) { return '你排在第 ' + n + ' 位'; },
      calling: function (c) { return '正在给' + c + '打电话…'; }, ringing: '电话在响，请拿起听筒',
      talking: function (c) { return '正在和' + c + '通话'; }, left: '剩余时间', elapsed: '通话时间',
      oneMinute: function (ms) { var n = Math.round((ms || 60000) / 1000); return n >= 60 ? '还有' + Math.round(n / 60) + '分钟' : '还有' + n + '秒'; }, ended: '通话结束', duration: function (d) { return '通话时长 ' + d; },
      bye: '谢谢，再见！', denied: '请找老师帮忙', help: '找老师帮忙', hangup: '挂断',
      error: '出了点问题，请再试一次', offline: '还没连上，请稍等', langSwitch: 'English', family: '家人',
      video: '视频', videoCalling: function (c) { return '正在呼叫' + c + '…'; }, until: function (t) { return '到 ' + t; },
      borrow: '借书', giveBack: '还书', ok: '好了', scanBorrow: '借书：扫一扫书上的条码', scanReturn: '还书：扫一扫书上的条码',
      scanHint: '把书上的条码对准扫描器，或者用数字键输入', lent: '借书成功，好好读吧！', returned: '还书成功，谢谢你！',
      late: '谢谢你把书还回来！下次记得按时还哦', due: function (d) { return '请在 ' + d + ' 前还'; }
    },
    en: {
      title: 'Family Phone', loading: 'Connecting…', reconnecting: 'Reconnecting…',
      tap: 'Tap your card', tapHint: 'Hold your card on the reader', pick: 'Who do you want to call? Tap one',
      hoursToday: function (h) { return 'Open today: ' + h; },
      simulated: function (list) { return 'Simulated: ' + list.join(', '); },
      hello: function (n) { return 'Hello, ' + n + '!'; },
      quotaMinutes: function (n) { return n + (n === 1 ? ' minute' : ' minutes') + ' left this week'; },
      quotaCalls: function (n) { return n + (n === 1 ? ' call left' : ' calls left'); },
      call: 'Call', noPhone: 'Not yet',
      unknown: "We don't know this card. Please see your teacher", closed: 'The phone room is closed now',
      nextOpening: function (t) { return 'Opens again: ' + t; },
      queued: 'Please wait, your turn is coming', position: function (n) { return 'You are number ' + n + ' in line'; },
      calling: function (c) { return 'Calling ' + c + '…'; }, ringing: 'The phone is ringing. Pick up the handset',
      talking: function (c) { return 'Talking with ' + c; }, left: 'Time left', elapsed: 'Call time',
      oneMinute: function (ms) { var n = Math.round((ms || 60000) / 1000); if (n >= 60) { var m = Math.round(n / 60); return m + (m === 1 ? ' minute left' : ' minutes left'); } return n + ' seconds left'; }, ended: 'Call ended', duration: function (d) { return 'Call time ' + d; },
      bye: 'Thank you, bye!', denied: 'Please see your teacher', help: 'Ask a teacher', hangup: 'Hang up',
      error: 'Something went wrong. Please try again', offline: 'Not connected yet, please wait', langSwitch: '中文', family: 'family',
      video: 'Video', videoCalling: function (c) { return 'Calling ' + c + '…'; }, until: function (t) { return 'until ' + t; },
      borrow: 'Borrow a book', giveBack: 'Return a book', ok: 'OK', scanBorrow: 'Borrow: scan the book\'s barcode', scanReturn: 'Return: scan the book\'s barcode',
      scanHint: 'Hold the barcode to the scanner, or type it with the keys', lent: 'Enjoy your book!', returned: 'Returned. Thank you!',
      late: 'Thank you for bringing it back! Next time, try to bring it back on time', due: function (d) { return 'Bring it back by ' + d; }
    }
  };
  // Relationship words as schools write them, in English.
  var RELATION_EN = {
    '爸爸': 'Dad', '父亲': 'Dad', '妈妈': 'Mum', '母亲': 'Mum',
    '爷爷': 'Grandpa', '奶奶': 'Grandma', '外公': 'Grandpa', '姥爷': 'Grandpa', '外婆': 'Grandma', '姥姥': 'Grandma',
    '哥哥': 'Brother', '弟弟': 'Brother', '姐姐': 'Sister', '妹妹': 'Sister',
    '叔叔': 'Uncle', '伯伯': 'Uncle', '舅舅': 'Uncle', '姑姑': 'Aunt', '阿姨': 'Aunt', '婶婶': 'Aunt', '舅妈': 'Aunt',
    '老师': 'Teacher'
  };
  var CALL_STATES = { calling: true, connected: true, warning: true };

  var body = document.body;
  // Count script errors and CSP violations where the screen test can see them.
  function countError() { body.setAttribute('data-errors', Number(body.getAttribute('data-errors') || 0) + 1); }
  window.addEventListener('error', countError);
  document.addEventListener('securitypolicyviolation', countError);
  var booth = body.getAttribute('data-booth') || '';
  // The library (借书/还书) is offered when the daemon has a book desk.
  var books = body.getAttribute('data-books') === 'true';
  var st = {
    lang: 'zh', screen: null, kind: '', ws: null, backoff: 500, retry: 0,
    deadline: 0, countUpFrom: 0, busy: false, audio: null, code: ''
  };

  function $(id) { return document.getElementById(id); }
  function t(key) {
    var v = TEXT[st.lang][key];
    if (typeof v === 'function') { return v.apply(null, Array.prototype.slice.call(arguments, 1)); }
    return v;
  }
  function firstChar(s) { var a = Array.from(s || ''); return a.length ? a[0] : '?'; }
  // The roster keeps the register's words (父亲, 母亲); a child says 爸爸, 妈妈.
  var SIM_ZH = { reader: '读卡器', light: '指示灯', button: '求助按钮' };
  var RELATION_CHILD = { '父亲': '爸爸', '母亲': '妈妈', '祖父': '爷爷', '祖母': '奶奶', '外祖父': '外公', '外祖母': '外婆' };
  function relationWord(rel) {
    if (!rel) { return t('family'); }
    return st.lang === 'en' ? (RELATION_EN[rel] || rel) : (RELATION_CHILD[rel] || rel);
  }
  function contactWord(s) {
    var c = s.contact || '';
    return st.lang === 'en' ? (RELATION_EN[c] || c || t('family')) : (RELATION_CHILD[c] || c || t('family'));
  }
  function mmss(totalSeconds) {
    var s = Math.max(0, totalSeconds | 0);
    var m = Math.floor(s / 60);
    return (m < 10 ? '0' : '') + m + ':' + (s % 60 < 10 ? '0' : '') + (s % 60);
  }
  function words(w, fallback) {
    if (w && w[st.lang]) { return w[st.lang]; }
    return fallback;
  }
  // The kind overdue lines of the identified screen: one per late book.
  function renderOverdue(list) {
    var el = $('overdue');
    el.textContent = '';
    el.hidden = list.length === 0;
    list.forEach(function (b) {
      var li = document.createElement('li');
      li.setAttribute('data-test', 'overdue-book');
      li.textContent = words(b.words, b.title);
      el.appendChild(li);
    });
  }

  // ---- sounds (WebAudio, no files) ----
  function audio() {
    if (!st.audio) {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) { return null; }
      try { st.audio = new AC(); } catch (e) { return null; }
    }
    if (st.audio.state === 'suspended') { st.audio.resume().catch(function () {}); }
    return st.audio;
  }
  function tone(freq, start, dur, vol) {
    var ac = audio();
    if (!ac) { return; }
    var t0 = ac.currentTime + start;
    var o = ac.createOscillator();
    var g = ac.createGain();
    o.type = 'sine';
    o.frequency.value = freq;
    g.gain.setValueAtTime(0.0001, t0);
    g.gain.exponentialRampToValueAtTime(vol, t0 + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t0 + dur);
    o.connect(g); g.connect(ac.destination);
    o.start(t0); o.stop(t0 + dur + 0.05);
  }
  function play(name) {
    body.setAttribute('data-sound', name);
    try {
      if (name === 'chime') { tone(880, 0, 0.25, 0.3); tone(1320, 0.18, 0.4, 0.3); }
      if (name === 'beep') { tone(1000, 0, 0.15, 0.4); tone(1000, 0.3, 0.15, 0.4); tone(1000, 0.6, 0.15, 0.4); }
    } catch (e) { /* no audio device: the screen still works */ }
  }
  // Browsers start audio suspended until a touch; the first touch unlocks it.
  document.addEventListener('pointerdown', function () { audio(); }, { once: true });

  // ---- rendering ----
  function applyStatic() {
    document.documentElement.lang = st.lang === 'zh' ? 'zh-CN' : 'en';
    var els = document.querySelectorAll('[data-i18n]');
    for (var i = 0; i < els.length; i++) { els[i].textContent = t(els[i].getAttribute('data-i18n')); }
    $('lang').textContent = t('langSwitch');
    $('lang').setAttribute('data-lang', st.lang);
    document.title = t('title');
  }

  function show(view) {
    var secs = document.querySelectorAll('main section');
    for (var i = 0; i < secs.length; i++) { secs[i].hidden = secs[i].getAttribute('data-view') !== view; }
  }

  function renderTiles(s) {
    var box = $('tiles');
    box.textContent = '';
    (s.tiles || []).forEach(function (tile) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'tile';
      b.setAttribute('data-slot', tile.slot);
      b.setAttribute('data-test', 'tile-' + tile.slot);
      b.disabled = !tile.phone || st.busy;
      var av = document.createElement('div');
      av.className = 'avatar slot-' + tile.slot;
      av.textContent = firstChar(tile.relation ? relationWord(tile.relation) : tile.name);
      var rel = document.createElement('div');
      rel.className = 'relation';
      rel.textContent = relationWord(tile.relation);
      var name = document.createElement('div');
      name.className = 'name';
      name.textContent = tile.name || tile.masked || '';
      var ph = document.createElement('div');
      ph.className = 'phone';
      ph.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1A17 17 0 0 1 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1z"/></svg>';
      var lbl = document.createElement('span');
      lbl.textContent = tile.phone ? t('call') : t('noPhone');
      ph.appendChild(lbl);
      b.appendChild(av); b.appendChild(rel); b.appendChild(name);
      if (tile.until) {
        var until = document.createElement('div');
        until.className = 'until';
        until.textContent = t('until', tile.until);
        b.appendChild(until);
      }
      b.appendChild(ph);
      var pick = function (mode) {
        var m = { v: PROTO, type: 'pick', slot: tile.slot };
        if (mode) { m.mode = mode; }
        if (send(m)) {
          st.busy = true;
          var all = box.querySelectorAll('button');
          for (var i = 0; i < all.length; i++) { all[i].disabled = true; }
        }
      };
      b.addEventListener('click', function () { pick(''); });
      var wrap = document.createElement('div');
      wrap.className = 'tile-wrap';
      wrap.appendChild(b);
      // An online parent can take a video call: the tile gets a video button.
      if (tile.video && tile.online) {
        var vb = document.createElement('button');
        vb.type = 'button';
        vb.className = 'video-btn';
        vb.setAttribute('data-test', 'video-' + tile.slot);
        vb.disabled = st.busy;
        vb.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 6h12a1 1 0 0 1 1 1v3.5l4-3v9l-4-3V17a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1z"/></svg>';
        var vl = document.createElement('span');
        vl.textContent = t('video');
        vb.appendChild(vl);
        vb.addEventListener('click', function () { pick('video'); });
        wrap.appendChild(vb);
      }
      box.appendChild(wrap);
    });
  }

  function render() {
    var s = st.screen;
    var main = $('state');
    if (!s) { show('loading'); return; }
    var kind = s.state;
    main.setAttribute('data-state', kind);
    main.setAttribute('data-seq', s.seq || 0);
    var inCall = !!CALL_STATES[kind];
    $('hangup').hidden = !inCall;
    $('help').hidden = inCall;
    $('banner').hidden = kind !== 'warning';
    $('banner').textContent = t('oneMinute', s.remaining_ms);

    if (s.mode === 'video' && inCall) {
      show('video');
      $('video-status').textContent = kind === 'calling' ? t('videoCalling', contactWord(s)) : '';
      tick();
      return;
    }
    switch (kind) {
      case 'idle':
        show('idle');
        $('hours').textContent = s.hours ? t('hoursToday', s.hours) : '';
        // A booth whose reader is down asks the child to use another one.
        $('idle-fault').hidden = !s.reason;
        $('idle-fault').textContent = s.reason ? words(s.words, '') : '';
        $('idle-prompt').hidden = !!s.reason;
        $('idle-next').hidden = !s.next_opening_words;
        $('idle-next').textContent = s.next_opening_words ? t('nextOpening', words(s.next_opening_words, '')) : '';
        // Small, for the technician: which of this booth's devices are simulated.
        $('simulated').hidden = !(s.simulated && s.simulated.length);
        $('simulated').textContent = (s.simulated && s.simulated.length) ? t('simulated', s.simulated) : '';
        break;
      case 'identified':
        show('identified');
        $('child').textContent = t('hello', s.child || '');
        var q = [];
        if (s.quota_minutes_left >= 0) { q.push(t('quotaMinutes', s.quota_minutes_left)); }
        if (s.quota_calls_left >= 0) { q.push(t('quotaCalls', s.quota_calls_left)); }
        $('quota').textContent = q.join(st.lang === 'zh' ? '，' : ', ');
        renderTiles(s);
        renderOverdue(s.overdue || []);
        break;
      case 'unknown':
        show('unknown');
        $('unknown-words').textContent = words(s.words, t('unknown'));
        break;
      case 'closed':
        show('closed');
        $('closed-words').textContent = words(s.words, t('closed'));
        $('next-opening').textContent = s.next_opening_words ? t('nextOpening', words(s.next_opening_words, '')) : '';
        break;
      case 'queued':
        show('queued');
        $('position').textContent = s.position || '';
        $('position-words').textContent = s.position ? t('position', s.position) : '';
        break;
      case 'calling':
        show('calling');
        $('calling-contact').textContent = t('calling', contactWord(s));
        break;
      case 'connected':
      case 'warning':
        show('talk');
        $('talk-contact').textContent = t('talking', contactWord(s));
        $('countdown-label').textContent = st.deadline ? t('left') : t('elapsed');
        tick();
        break;
      case 'ended':
        show('ended');
        $('duration').textContent = t('duration', mmss(Math.round((s.duration_ms || 0) / 1000)));
        break;
      case 'book_scan':
        show('book_scan');
        $('scan-title').textContent = t(s.book && s.book.action === 'return' ? 'scanReturn' : 'scanBorrow');
        $('scan-code').textContent = st.code;
        break;
      case 'book_lent':
        show('book_lent');
        $('lent-title').textContent = (s.book && s.book.title) ? '《' + s.book.title + '》' : '';
        $('lent-due').textContent = s.book ? words(s.book.due_words, s.book.due ? t('due', s.book.due) : '') : '';
        $('lent-words').textContent = words(s.words, t('lent'));
        break;
      case 'book_returned':
        show('book_returned');
        $('returned-title').textContent = (s.book && s.book.title) ? '《' + s.book.title + '》' : '';
        $('returned-words').textContent = words(s.words, t(s.book && s.book.overdue_days > 0 ? 'late' : 'returned'));
        break;
      case 'enrol':
        // The console waits for a new card here (a manager, not a child).
        show('enrol');
        $('enrol-words').textContent = words(s.words, st.lang === 'zh' ? '请刷卡登记' : 'Tap the new card');
        break;
      case 'denied':
        show('denied');
        $('denied-words').textContent = words(s.words, t('denied'));
        break;
      case 'staff':
        show('staff');
        staffUI.render(s); // the staff screen block below
        break;
      default:
        show('loading');
    }
  }

  // tick redraws the countdown from the browser's monotonic clock, so a
  // wall-clock jump on the kiosk never changes what the child sees.
  function tick() {
    if (!st.screen || (st.kind !== 'connected' && st.kind !== 'warning')) { return; }
    var now = performance.now();
    var secs = st.deadline ? Math.ceil((st.deadline - now) / 1000) : Math.floor((now - st.countUpFrom) / 1000);
    secs = Math.max(0, secs);
    var text = mmss(secs);
    ['countdown', 'video-countdown'].forEach(function (id) {
      var el = $(id);
      if (el.textContent !== text) {
        el.textContent = text;
        el.setAttribute('data-seconds', secs);
      }
    });
  }
  setInterval(tick, 200);

  function onScreen(s) {
    var prev = st.kind;
    var now = performance.now();
    st.screen = s;
    st.kind = s.state;
    st.busy = false;
    if (s.remaining_ms > 0) {
      st.deadline = now + s.remaining_ms;
    } else {
      st.deadline = 0;
      if (!CALL_STATES[prev] || prev === 'calling') { st.countUpFrom = now; }
    }
    if (s.state === 'book_scan' && prev !== 'book_scan') { st.code = ''; }
    if (s.state === 'identified' && prev !== 'identified') { play('chime'); }
    if (s.state === 'warning' && prev !== 'warning') { play('beep'); }
    render();
  }

  // ---- messages ----
  var toastTimer = 0;
  function toast(text) {
    var el = $('toast');
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, 5000);
  }

  function onError(m) {
    st.busy = false;
    if (st.screen && st.kind === 'identified') { renderTiles(st.screen); }
    var text = words(m.words, m.code === 'denied' ? t('denied') : t('error'));
    var el = $('toast');
    el.setAttribute('data-code', m.code || '');
    toast(text);
  }

  function send(m) {
    if (!st.ws || st.ws.readyState !== WebSocket.OPEN) { toast(t('offline')); return false; }
    st.ws.send(JSON.stringify(m));
    return true;
  }

  // ---- library: 借书/还书 buttons and the scan screen's keypad ----
  var els = document.querySelectorAll('[data-books-only]');
  for (var bi = 0; bi < els.length; bi++) { els[bi].hidden = !books; }
  function chooseBook(action) { send({ v: PROTO, type: 'book', action: action }); }
  $('borrow').addEventListener('click', function () { chooseBook('borrow'); });
  $('return').addEventListener('click', function () { chooseBook('return'); });
  $('idle-return').addEventListener('click', function () { chooseBook('return'); });
  $('keypad').addEventListener('click', function (ev) {
    var b = ev.target.closest('button[data-key]');
    if (!b) { return; }
    var k = b.getAttribute('data-key');
    if (k === 'del') {
      st.code = st.code.slice(0, -1);
    } else if (k === 'ok') {
      if (st.code) { send({ v: PROTO, type: 'scan', code: st.code }); }
      return;
    } else if (st.code.length < 32) {
      st.code += k;
    }
    $('scan-code').textContent = st.code;
  });
  // A keyboard-wedge scanner plugged into the kiosk itself types the
  // barcode and Enter.
  document.addEventListener('keydown', function (ev) {
    if (st.kind !== 'book_scan') { return; }
    if (ev.key === 'Enter') {
      if (st.code) { send({ v: PROTO, type: 'scan', code: st.code }); st.code = ''; }
    } else if (ev.key === 'Backspace') {
      st.code = st.code.slice(0, -1);
    } else if (/^[0-9A-Za-z-]$/.test(ev.key) && st.code.length < 32) {
      st.code += ev.key;
    } else {
      return;
    }
    ev.preventDefault();
    $('scan-code').textContent = st.code;
  });

  // ---- staff screen: a teacher's card opens the TV panel ----
  // The screen's "staff" part (kiosk.StaffScreen) lists the TVs: a running
  // one with its programme and a stop button, an idle one with a form
  // (programme presets or typed, category, class or group, head count).
  // The form's choices live here until the next staff tap; the daemon
  // answers tv_start and tv_stop with a new staff screen and a notice.
  var staffUI = (function () {
    var TXT = {
      zh: {
        done: '退出', running: '正在播放', idle: '没有在播放', since: function (t) { return t + ' 开始'; },
        stop: '结束播放', start: '开始播放', programme: '节目', category: '类别', klass: '班级', count: '人数',
        other: '其他节目', teacher: function (n) { return '组织教师：' + n; }, people: function (n) { return n + '人'; },
        noTV: '没有配置电视', viewOnly: '技术员只能查看电视状态', powerError: '电视开关失败，请检查电源',
        curfew: function (c) { return '最晚 ' + c; }
      },
      en: {
        done: 'Done', running: 'Playing', idle: 'Not playing', since: function (t) { return 'since ' + t; },
        stop: 'Stop', start: 'Start', programme: 'Programme', category: 'Category', klass: 'Class', count: 'Children',
        other: 'Other programme', teacher: function (n) { return 'Teacher: ' + n; }, people: function (n) { return n + ' children'; },
        noTV: 'No TV is configured', viewOnly: 'Technicians can only see the TVs', powerError: 'The TV did not switch. Check its power',
        curfew: function (c) { return 'until ' + c + ' at the latest'; }
      }
    };
    var CAT_EN = { '新闻': 'News', '少儿': 'Children', '科普': 'Science', '安全教育': 'Safety', '影片': 'Film' };
    var u = { seq: -1, name: '', forms: {} };
    function tt(key) {
      var v = TXT[st.lang][key];
      if (typeof v === 'function') { return v.apply(null, Array.prototype.slice.call(arguments, 1)); }
      return v;
    }
    function el(tag, cls, text, test) {
      var e = document.createElement(tag);
      if (cls) { e.className = cls; }
      if (text !== undefined && text !== null) { e.textContent = text; }
      if (test) { e.setAttribute('data-test', test); }
      return e;
    }
    function form(name) {
      if (!u.forms[name]) { u.forms[name] = { programme: '', typed: '', category: '', klass: '', count: 0 }; }
      return u.forms[name];
    }
    function programmeOf(f) { return (f.typed || '').trim() || f.programme; }
    function ready(f) { return !!(programmeOf(f) && f.category && f.klass && f.count > 0); }
    // chips is one row of choices; picking one redraws the panel.
    function chips(label, list, value, test, pick, word) {
      var row = el('div', 'staff-row');
      row.appendChild(el('span', 'staff-label', label));
      var box = el('div', 'staff-chips', null, test);
      list.forEach(function (v) {
        var b = el('button', 'chip' + (v === value ? ' on' : ''), word ? word(v) : v);
        b.type = 'button';
        b.setAttribute('data-value', v);
        b.addEventListener('click', function () { pick(v); render(st.screen); });
        box.appendChild(b);
      });
      row.appendChild(box);
      return row;
    }
    function runningCard(tv, may) {
      var c = el('div', 'staff-tv running', null, 'tv-' + tv.name);
      var head = el('div', 'staff-tv-head');
      head.appendChild(el('span', 'staff-tv-name', tv.room ? tv.name + ' · ' + tv.room : tv.name));
      head.appendChild(el('span', 'staff-state on', tt('running')));
      c.appendChild(head);
      c.appendChild(el('div', 'staff-programme', '《' + tv.programme + '》', 'tv-programme'));
      var facts = [st.lang === 'en' ? (CAT_EN[tv.category] || tv.category) : tv.category, tv.class,
        tt('people', tv.headcount), tt('teacher', tv.teacher)];
      if (tv.since) { facts.push(tt('since', tv.since)); }
      c.appendChild(el('div', 'staff-facts', facts.join(' · '), 'tv-facts'));
      if (may) {
        var b = el('button', 'staff-stop', tt('stop'), 'tv-stop');
        b.type = 'button';
        b.addEventListener('click', function () { send({ v: PROTO, type: 'tv_stop', tv: tv.name }); });
        c.appendChild(b);
      }
      return c;
    }
    function idleCard(tv, s, may) {
      var c = el('div', 'staff-tv', null, 'tv-' + tv.name);
      var head = el('div', 'staff-tv-head');
      head.appendChild(el('span', 'staff-tv-name', tv.room ? tv.name + ' · ' + tv.room : tv.name));
      head.appendChild(el('span', 'staff-state', tt('idle')));
      if (tv.curfew) { head.appendChild(el('span', 'staff-curfew', tt('curfew', tv.curfew))); }
      c.appendChild(head);
      if (!may) { return c; }
      var f = form(tv.name);
      var prow = chips(tt('programme'), tv.programmes || [], f.typed ? '' : f.programme, 'tv-programmes',
        function (v) { f.programme = v; f.typed = ''; });
      var input = el('input', 'staff-input', null, 'tv-programme-input');
      input.type = 'text';
      input.maxLength = 100;
      input.placeholder = tt('other');
      input.value = f.typed;
      input.addEventListener('input', function () {
        f.typed = input.value;
        startBtn.disabled = !ready(f);
        var on = prow.querySelectorAll('.chip.on');
        for (var i = 0; i < on.length; i++) { on[i].className = 'chip'; }
      });
      prow.lastChild.appendChild(input);
      c.appendChild(prow);
      c.appendChild(chips(tt('category'), s.categories || [], f.category, 'tv-categories',
        function (v) { f.category = v; }, function (v) { return st.lang === 'en' ? (CAT_EN[v] || v) : v; }));
      c.appendChild(chips(tt('klass'), s.classes || [], f.klass, 'tv-classes', function (v) { f.klass = v; }));
      var crow = el('div', 'staff-row');
      crow.appendChild(el('span', 'staff-label', tt('count')));
      var counter = el('div', 'staff-counter');
      var value = el('span', 'staff-count', String(f.count), 'tv-count');
      [[-10, '−10'], [-1, '−'], [0, ''], [1, '+'], [10, '+10']].forEach(function (d) {
        if (d[0] === 0) { counter.appendChild(value); return; }
        var b = el('button', 'count-btn', d[1], 'tv-count' + (d[0] > 0 ? '+' : '') + d[0]);
        b.type = 'button';
        b.addEventListener('click', function () {
          f.count = Math.max(0, Math.min(500, f.count + d[0]));
          value.textContent = String(f.count);
          startBtn.disabled = !ready(f);
        });
        counter.appendChild(b);
      });
      crow.appendChild(counter);
      c.appendChild(crow);
      var startBtn = el('button', 'staff-start', tt('start'), 'tv-start');
      startBtn.type = 'button';
      startBtn.disabled = !ready(f);
      startBtn.addEventListener('click', function () {
        if (!ready(f)) { return; }
        send({ v: PROTO, type: 'tv_start', tv: tv.name, programme: programmeOf(f), category: f.category, 'class': f.klass, headcount: f.count });
      });
      c.appendChild(startBtn);
      return c;
    }
    function render(s) {
      if (!s || !s.staff) { return; }
      var p = s.staff;
      // A fresh staff tap (no notice yet) starts with empty forms; the
      // screens that answer tv_start and tv_stop keep them.
      if (s.seq !== u.seq && (!p.notice || p.name !== u.name)) { u.forms = {}; }
      u.seq = s.seq; u.name = p.name;
      $('help').hidden = true;
      $('staff-name').textContent = p.name;
      $('staff-role').textContent = words(p.role_words, p.role);
      $('staff-done').textContent = tt('done');
      var n = $('staff-notice');
      var note = p.notice ? words(p.notice, '') : (p.may_run_tv ? '' : tt('viewOnly'));
      n.hidden = !note;
      n.textContent = note;
      n.setAttribute('data-error', p.error ? 'true' : 'false');
      var box = $('staff-tvs');
      box.textContent = '';
      if (!p.tvs || !p.tvs.length) {
        box.appendChild(el('p', 'sub', tt('noTV'), 'tv-none'));
        return;
      }
      p.tvs.forEach(function (tv) {
        var card = tv.running ? runningCard(tv, p.may_run_tv) : idleCard(tv, p, p.may_run_tv);
        if (tv.power_error) { card.appendChild(el('div', 'staff-power', tt('powerError'), 'tv-power-error')); }
        box.appendChild(card);
      });
    }
    $('staff-done').addEventListener('click', function () { send({ v: PROTO, type: 'hangup' }); });
    return { render: render };
  })();

  // ---- connection, reconnecting with capped exponential backoff ----
  function setConn(state) {
    var el = $('conn');
    el.setAttribute('data-conn', state);
    el.hidden = state === 'open';
  }

  function connect() {
    var proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var ws;
    try {
      ws = new WebSocket(proto + location.host + '/ws?booth=' + encodeURIComponent(booth));
    } catch (e) { reconnect(); return; }
    st.ws = ws;
    ws.onopen = function () { st.backoff = 500; setConn('open'); rtc.hello(); };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m || m.v !== PROTO) { return; }
      if (m.type === 'screen' && m.screen) { onScreen(m.screen); }
      if (m.type === 'error') { onError(m); }
      if (typeof m.type === 'string' && m.type.indexOf('rtc.') === 0) { rtc.onMessage(m); }
    };
    ws.onclose = function () { if (st.ws === ws) { st.ws = null; reconnect(); } };
    ws.onerror = function () { /* onclose follows */ };
  }

  var reconnects = 0;
  function reconnect() {
    setConn('reconnecting');
    reconnects++;
    body.setAttribute('data-reconnects', reconnects);
    clearTimeout(st.retry);
    var wait = st.backoff + Math.random() * st.backoff / 2;
    st.backoff = Math.min(st.backoff * 2, 10000);
    st.retry = setTimeout(connect, wait);
  }

  // ---- video calls: the daemon offers, this screen answers (WebRTC) ----
  // Signaling rides on the screen's websocket as "rtc.*" messages (see
  // callbridge/rtc.Message); media goes to the daemon, which bridges it to
  // the parent's page. An offer with "kind":"audio" is a phone call through
  // the headset (a booth without a phone): microphone only, G.711, which
  // the daemon relays to the phone network; the screen shows the normal
  // phone-call views.
  var rtc = (function () {
    var r = { session: '', ice: [], heartbeat: 2000, pingTimer: 0, call: '', pc: null, local: null, held: [], statsTimer: 0, kind: '', player: null };
    window.qqVideo = r; // what the end-to-end test reads
    function sendRTC(m) { m.v = PROTO; if (st.ws && st.ws.readyState === WebSocket.OPEN) { st.ws.send(JSON.stringify(m)); } }
    r.hello = function () { sendRTC({ type: 'rtc.hello', session: r.session }); };
    function stats(final) {
      var pc = r.pc, call = r.call;
      if (!pc) { return; }
      pc.getStats().then(function (rep) {
        var s = { frames_decoded: 0, freeze_count: 0 };
        rep.forEach(function (x) {
          if (x.type === 'inbound-rtp' && (x.kind || x.mediaType) === 'video') {
            s.frames_decoded = x.framesDecoded || 0; s.freeze_count = x.freezeCount || 0;
            s.frames_dropped = x.framesDropped || 0; s.packets_lost = x.packetsLost || 0;
            s.jitter_ms = (x.jitter || 0) * 1000; s.frame_width = x.frameWidth || 0; s.frame_height = x.frameHeight || 0;
          }
          if (x.type === 'candidate-pair' && x.nominated && x.currentRoundTripTime !== undefined) { s.rtt_ms = x.currentRoundTripTime * 1000; }
        });
        r.stats = s;
        r.framesDecoded = s.frames_decoded;
        body.setAttribute('data-frames-decoded', s.frames_decoded);
        // Read every 500 ms (the test watches frames decoded); the daemon gets every 4th.
        r.polls = (r.polls || 0) + 1;
        if (final || r.polls % 4 === 0) { sendRTC({ type: 'rtc.stats', call: call, stats: s }); }
      }).catch(function () {});
    }
    function cleanup() {
      if (r.pc && r.kind !== 'audio') { stats(true); }
      clearInterval(r.statsTimer);
      var pc = r.pc;
      r.pc = null;
      r.restarting = false;
      setTimeout(function () { if (pc) { pc.close(); } }, 300);
      if (r.local) { r.local.getTracks().forEach(function (tr) { tr.stop(); }); r.local = null; }
      if (r.player) { r.player.pause(); r.player.srcObject = null; r.player = null; }
      $('remote-video').srcObject = null;
      $('local-video').srcObject = null;
      r.call = ''; r.held = []; r.kind = '';
      body.removeAttribute('data-headset');
      body.removeAttribute('data-headset-received');
    }
    // restartIce answers the daemon's ICE restart on the PeerConnection the
    // screen has: the media path went down and the call goes on.
    function restartIce(m) {
      var pc = r.pc;
      r.restarting = true;
      pc.setRemoteDescription({ type: 'offer', sdp: m.sdp }).then(function () {
        if (r.pc !== pc) { return null; }
        r.restarting = false;
        r.held.forEach(function (c) { pc.addIceCandidate(c).catch(function () {}); });
        r.held = [];
        return pc.createAnswer().then(function (a) { return pc.setLocalDescription(a); }).then(function () {
          if (r.pc === pc) { sendRTC({ type: 'rtc.answer', call: m.call, sdp: pc.localDescription.sdp }); }
        });
      }).catch(function () {
        if (r.pc !== pc) { return; }
        r.restarting = false;
        sendRTC({ type: 'rtc.hangup', call: m.call });
      });
    }
    function onOffer(m) {
      if (m.restart) {
        // Only for the PeerConnection of this call; a restart offer is
        // never the start of a new one.
        if (r.pc && r.call === m.call && r.pc.signalingState !== 'closed') { restartIce(m); }
        return;
      }
      cleanup();
      r.call = m.call;
      r.kind = m.kind || '';
      var headset = r.kind === 'audio';
      var pc = new RTCPeerConnection({ iceServers: r.ice });
      r.pc = pc;
      if (headset) { body.setAttribute('data-headset', 'connecting'); }
      pc.onconnectionstatechange = function () {
        if (headset && r.pc === pc) { body.setAttribute('data-headset', pc.connectionState); }
      };
      pc.ontrack = function (ev) {
        if (headset) {
          // The parent's voice, played through the headset; no video view.
          var a = new Audio();
          a.autoplay = true;
          a.srcObject = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
          r.player = a;
          var pa = a.play();
          if (pa && pa.catch) { pa.catch(function () {}); }
          return;
        }
        var v = $('remote-video');
        if (!v.srcObject) { v.srcObject = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream(); }
        if (!ev.streams || !ev.streams[0]) { v.srcObject.addTrack(ev.track); }
        var p = v.play();
        if (p && p.catch) { p.catch(function () {}); }
      };
      pc.onicecandidate = function (ev) {
        if (ev.candidate) { sendRTC({ type: 'rtc.candidate', call: m.call, candidate: ev.candidate.toJSON() }); } else { sendRTC({ type: 'rtc.candidate', call: m.call, end: true }); }
      };
      var constraints = headset ? { audio: true } : { audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } };
      navigator.mediaDevices.getUserMedia(constraints).then(function (stream) {
        if (r.pc !== pc) { stream.getTracks().forEach(function (tr) { tr.stop(); }); return null; }
        r.local = stream;
        if (!headset) { $('local-video').srcObject = stream; }
        stream.getTracks().forEach(function (tr) { pc.addTrack(tr, stream); });
        return pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      }).then(function () {
        if (r.pc !== pc) { return null; }
        r.held.forEach(function (c) { pc.addIceCandidate(c).catch(function () {}); });
        r.held = [];
        return pc.createAnswer().then(function (a) { return pc.setLocalDescription(a); }).then(function () {
          sendRTC({ type: 'rtc.answer', call: m.call, sdp: pc.localDescription.sdp });
        });
      }).catch(function () { sendRTC({ type: 'rtc.hangup', call: m.call }); });
      r.statsTimer = setInterval(headset ? headsetStats : stats, 500);
    }
    // headsetStats shows, for the technician and the end-to-end test, what
    // the headset leg receives: packets and codec.
    function headsetStats() {
      var pc = r.pc;
      if (!pc) { return; }
      pc.getStats().then(function (rep) {
        var codecs = {};
        var inbound = null;
        rep.forEach(function (x) {
          if (x.type === 'codec') { codecs[x.id] = x.mimeType; }
          if (x.type === 'inbound-rtp' && (x.kind || x.mediaType) === 'audio') { inbound = x; }
        });
        if (!inbound || r.pc !== pc) { return; }
        body.setAttribute('data-headset-received', inbound.packetsReceived || 0);
        body.setAttribute('data-headset-codec', codecs[inbound.codecId] || '');
      }).catch(function () {});
    }
    r.onMessage = function (m) {
      switch (m.type) {
        case 'rtc.session':
          r.session = m.session || r.session;
          if (m.ice_servers) { r.ice = m.ice_servers; }
          if (m.heartbeat_ms) { r.heartbeat = m.heartbeat_ms; }
          clearInterval(r.pingTimer);
          r.pingTimer = setInterval(function () { sendRTC({ type: 'rtc.ping' }); }, r.heartbeat);
          break;
        case 'rtc.error':
          if (m.code === 'no_session') { r.session = ''; r.hello(); }
          break;
        case 'rtc.offer': onOffer(m); break;
        case 'rtc.candidate':
          if (m.call !== r.call || !m.candidate) { break; }
          if (r.pc && r.pc.remoteDescription && !r.restarting) { r.pc.addIceCandidate(m.candidate).catch(function () {}); } else { r.held.push(m.candidate); }
          break;
        case 'rtc.end':
          if (!m.call || m.call === r.call) { body.setAttribute('data-end-cause', m.cause || ''); cleanup(); }
          break;
      }
    };
    return r;
  })();

  // ---- buttons ----
  $('lang').addEventListener('click', function () {
    st.lang = st.lang === 'zh' ? 'en' : 'zh';
    applyStatic();
    render();
  });
  $('help').addEventListener('click', function () { send({ v: PROTO, type: 'help' }); });
  $('hangup').addEventListener('click', function () { send({ v: PROTO, type: 'hangup' }); });

  applyStatic();
  render();
  setConn('connecting');
  $('conn').hidden = true;
  connect();
})();
