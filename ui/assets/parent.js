// Parent's video page /p/{token}: waits for the child's call, rings,
// answers, and carries the call over WebRTC to the daemon, which bridges
// it to the kiosk screen. Signaling: websocket /p/{token}/ws, protocol v1
// (see callbridge/rtc.Message). Plain ES2017 and standard APIs only, for
// mobile Chrome, Safari and WeChat's in-app browser.
'use strict';
(function () {
  var PROTO = 1;
  var TEXT = {
    zh: {
      title: '亲情视频', connecting: '正在连接…', online: '在线', offline: '未连接',
      notfound: '这个链接不存在', notfoundHint: '请检查链接，或联系孩子的老师。',
      gone: '这个链接已经失效', goneHint: '请联系孩子的老师要一个新的链接。',
      limited: '请稍后再试', error: '出了点问题，请稍后再试',
      permHint: '打开摄像头和麦克风，孩子就能和你视频通话。', enable: '打开视频通话',
      permDenied: '没有摄像头或麦克风权限，请在浏览器设置里允许后刷新页面。',
      waiting: '保持这个页面打开，孩子打来时会响铃。', availUntil: '我今天可以接到', set: '确定', clear: '清除',
      until: function (t) { return '你说可以接到 ' + t; },
      hello: function (n) { return n ? '这里是' + n + '的视频电话' : '亲情视频'; },
      calling: function (n) { return (n || '孩子') + '打来视频电话'; },
      answer: '接听', decline: '拒绝', hangup: '挂断', busy: '已经在另一台设备上通话',
      connectingCall: '正在接通…', ended: '通话结束', oneMinute: function (ms) { var n = Math.round((ms || 60000) / 1000); return n >= 60 ? '还有' + Math.round(n / 60) + '分钟' : '还有' + n + '秒'; },
      reasons: {
        limit: '通话时间到了', caller_hangup: '孩子挂断了', callee_hangup: '你挂断了', peer_lost: '连接断开了',
        no_answer: '未接来电', shutdown: '系统维护中', failed: '没有接通', answered_elsewhere: '已在另一台设备上接听',
        cancelled: '孩子挂断了'
      },
      unsupported: {
        webrtc: '这个浏览器不能视频通话', camera: '这个浏览器不能打开摄像头',
        insecure: '这个链接不安全，浏览器不让打开摄像头'
      },
      unsupportedHint: '请用手机自带的浏览器（Safari 或 Chrome）打开这个链接。',
      wechatHint: '请点右上角「···」，选择「在浏览器打开」。',
      insecureHint: '请用 https:// 开头的链接，或联系孩子的老师。',
      tapSound: '点一下屏幕打开声音',
      langSwitch: 'English'
    },
    en: {
      title: 'Family Video', connecting: 'Connecting…', online: 'Online', offline: 'Offline',
      notfound: 'This link does not exist', notfoundHint: "Please check the link or ask the child's teacher.",
      gone: 'This link is no longer valid', goneHint: "Please ask the child's teacher for a new link.",
      limited: 'Please try again later', error: 'Something went wrong. Please try again later',
      permHint: 'Turn on camera and microphone so your child can video call you.', enable: 'Turn on video calls',
      permDenied: 'No camera or microphone permission. Allow it in the browser settings and reload.',
      waiting: 'Keep this page open. It rings when your child calls.', availUntil: 'I can take calls until', set: 'OK', clear: 'Clear',
      until: function (t) { return 'You are available until ' + t; },
      hello: function (n) { return n ? 'Video calls with ' + n : 'Family Video'; },
      calling: function (n) { return (n || 'Your child') + ' is calling'; },
      answer: 'Answer', decline: 'Decline', hangup: 'Hang up', busy: 'Already in a call on another device',
      connectingCall: 'Connecting…', ended: 'Call ended', oneMinute: function (ms) { var n = Math.round((ms || 60000) / 1000); if (n >= 60) { var m = Math.round(n / 60); return m + (m === 1 ? ' minute left' : ' minutes left'); } return n + ' seconds left'; },
      reasons: {
        limit: 'Time is up', caller_hangup: 'Your child hung up', callee_hangup: 'You hung up', peer_lost: 'The connection was lost',
        no_answer: 'Missed call', shutdown: 'Under maintenance', failed: 'The call did not connect', answered_elsewhere: 'Answered on another device',
        cancelled: 'Your child hung up'
      },
      unsupported: {
        webrtc: 'This browser cannot make video calls', camera: 'This browser cannot open the camera',
        insecure: 'This link is not secure, so the browser keeps the camera off'
      },
      unsupportedHint: "Please open this link in the phone's own browser (Safari or Chrome).",
      wechatHint: 'Tap "···" at the top right and choose "Open in Browser".',
      insecureHint: "Please use a link that starts with https://, or ask the child's teacher.",
      tapSound: 'Tap the screen to turn on the sound',
      langSwitch: '中文'
    }
  };
  var body = document.body;
  // Count script errors and CSP violations where the browser tests can see them.
  function countError() { body.setAttribute('data-errors', Number(body.getAttribute('data-errors') || 0) + 1); }
  window.addEventListener('error', countError);
  document.addEventListener('securitypolicyviolation', countError);
  var st = {
    lang: (navigator.language || '').toLowerCase().indexOf('zh') === 0 || !navigator.language ? 'zh' : 'en',
    view: body.getAttribute('data-state') || 'loading', child: '', until: '',
    ws: null, session: '', ice: [], heartbeat: 2000, backoff: 500, pingTimer: 0, retry: 0,
    call: '', pc: null, local: null, held: [], deadline: 0, statsTimer: 0, ringTimer: 0, audio: null,
    framesDecoded: 0, stats: null, endTimer: 0,
    unsupported: '', started: false, lastMsg: 0, pingAt: 0, missed: 0, needTap: false,
    // What getUserMedia asks for (W3C Media Capture): ideal values only,
    // so no phone camera refuses them (OverconstrainedError).
    constraints: {
      audio: { echoCancellation: true, noiseSuppression: true },
      video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } }
    }
  };
  // What the end-to-end test reads.
  window.qqParent = st;

  function $(id) { return document.getElementById(id); }
  function t(key) {
    var v = TEXT[st.lang][key];
    if (typeof v === 'function') { return v.apply(null, Array.prototype.slice.call(arguments, 1)); }
    return v;
  }
  function applyStatic() {
    document.documentElement.lang = st.lang === 'zh' ? 'zh-CN' : 'en';
    var els = document.querySelectorAll('[data-i18n]');
    for (var i = 0; i < els.length; i++) { els[i].textContent = t(els[i].getAttribute('data-i18n')); }
    $('lang').textContent = t('langSwitch');
    document.title = t('title');
    render();
  }
  function show(view) {
    st.view = view;
    body.setAttribute('data-state', view);
    var secs = document.querySelectorAll('main section');
    for (var i = 0; i < secs.length; i++) { secs[i].hidden = secs[i].getAttribute('data-view') !== view; }
    render();
  }
  function render() {
    $('perm-child').textContent = t('hello', st.child);
    $('idle-child').textContent = t('hello', st.child);
    $('ring-child').textContent = t('calling', st.child);
    $('until-text').textContent = st.until ? t('until', st.until) : '';
    $('banner').textContent = t('oneMinute', st.warnLeft);
    $('unsupported-why').textContent = st.unsupported ? TEXT[st.lang].unsupported[st.unsupported] : '';
    $('unsupported-hint').textContent = !st.unsupported ? '' : st.unsupported === 'insecure' ? t('insecureHint') :
      /MicroMessenger/i.test(navigator.userAgent) ? t('wechatHint') : t('unsupportedHint');
  }
  // support names what this browser lacks for a video call, '' when
  // nothing: 'insecure' (no camera for a plain-http page, W3C Secure
  // Contexts), 'camera' (no getUserMedia: WeChat's WKWebView before iOS
  // 14.3) or 'webrtc' (no RTCPeerConnection: e.g. a WebKit built without
  // ENABLE_WEB_RTC).
  function support() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return window.isSecureContext === false ? 'insecure' : 'camera';
    }
    if (!window.RTCPeerConnection) { return 'webrtc'; }
    return '';
  }
  function setNet(state) {
    $('net').setAttribute('data-net', state);
    $('net-text').textContent = t(state === 'online' ? 'online' : state === 'offline' ? 'offline' : 'connecting');
  }

  // ---- sounds: WebAudio tones, unlocked by the first tap ----
  function audio() {
    if (!st.audio) {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) { return null; }
      try { st.audio = new AC(); } catch (e) { return null; }
    }
    // Safari also has 'interrupted' (a phone call, the camera starting).
    if (st.audio.state !== 'running' && st.audio.state !== 'closed' && st.audio.resume) {
      var p = st.audio.resume();
      if (p && p.catch) { p.catch(function () {}); }
    }
    return st.audio;
  }
  function tone(freq, start, dur) {
    var ac = audio();
    if (!ac) { return; }
    var t0 = ac.currentTime + start, o = ac.createOscillator(), g = ac.createGain();
    o.frequency.value = freq;
    g.gain.setValueAtTime(0.0001, t0);
    g.gain.exponentialRampToValueAtTime(0.4, t0 + 0.03);
    g.gain.exponentialRampToValueAtTime(0.0001, t0 + dur);
    o.connect(g); g.connect(ac.destination);
    o.start(t0); o.stop(t0 + dur + 0.05);
  }
  function ring(on) {
    clearInterval(st.ringTimer);
    st.ringTimer = 0;
    body.setAttribute('data-ringing', on ? '1' : '0');
    if (!on) { return; }
    var once = function () {
      try { tone(880, 0, 0.4); tone(660, 0.45, 0.4); tone(880, 1.0, 0.4); tone(660, 1.45, 0.4); } catch (e) { /* no audio */ }
      if (navigator.vibrate) { navigator.vibrate([400, 200, 400]); }
    };
    once();
    st.ringTimer = setInterval(once, 3000);
  }

  // ---- signaling ----
  function send(m) {
    m.v = PROTO;
    if (st.ws && st.ws.readyState === WebSocket.OPEN) { st.ws.send(JSON.stringify(m)); return true; }
    return false;
  }
  function connect() {
    var proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var ws;
    st.started = true;
    try { ws = new WebSocket(proto + location.host + location.pathname.replace(/\/$/, '') + '/ws'); } catch (e) { reconnect(); return; }
    st.ws = ws;
    ws.onopen = function () {
      st.backoff = 500;
      send({ type: 'rtc.hello', session: st.session });
    };
    ws.onmessage = function (ev) {
      var m;
      st.lastMsg = Date.now();
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m && m.v === PROTO) { onMessage(m); }
    };
    ws.onclose = function (ev) {
      if (st.ws !== ws) { return; }
      st.ws = null;
      clearInterval(st.pingTimer);
      setNet('offline');
      if (ev.code === 1008) { show(ev.reason === 'gone' ? 'gone' : 'notfound'); return; }
      reconnect();
    };
  }
  // heartbeat pings the daemon every st.heartbeat ms. A socket whose last
  // three pings got no answer is dead (iOS keeps the socket of a page that
  // slept half-open, with no close event) and is replaced at once; the
  // hello carries the session, so a call goes on.
  function heartbeat() {
    var ws = st.ws;
    if (!ws) { return; }
    st.missed = st.pingAt && st.lastMsg < st.pingAt ? st.missed + 1 : 0;
    if (st.missed >= 3) { drop(ws); reconnect(); return; }
    st.pingAt = Date.now();
    send({ type: 'rtc.ping' });
  }
  // drop forgets the socket ws (its close event, if any, is then ignored).
  function drop(ws) {
    if (st.ws === ws) { st.ws = null; }
    clearInterval(st.pingTimer);
    setNet('offline');
    try { ws.close(); } catch (e) { /* already closed */ }
  }
  // wake reconnects at once when the page comes back (phone unlocked, tab
  // shown, back-forward cache, network back) instead of waiting out a
  // backoff that a sleeping page's timers stretched.
  function wake() {
    if (!st.started || document.visibilityState === 'hidden' || st.view === 'notfound' || st.view === 'gone') { return; }
    if (st.ws && st.ws.readyState !== WebSocket.OPEN && st.ws.readyState !== WebSocket.CONNECTING) { drop(st.ws); }
    if (!st.ws) { clearTimeout(st.retry); st.backoff = 500; connect(); }
  }
  function reconnect() {
    clearTimeout(st.retry);
    var wait = st.backoff + Math.random() * st.backoff / 2;
    st.backoff = Math.min(st.backoff * 2, 5000);
    st.retry = setTimeout(function () {
      // An unknown or revoked link answers the page itself with 404/410.
      fetch(location.pathname, { cache: 'no-store' }).then(function (r) {
        if (r.status === 404) { show('notfound'); } else if (r.status === 410) { show('gone'); } else { connect(); }
      }, connect);
    }, wait);
  }

  function onMessage(m) {
    switch (m.type) {
      case 'rtc.session':
        st.session = m.session || st.session;
        if (m.ice_servers) { st.ice = m.ice_servers; }
        if (m.heartbeat_ms) { st.heartbeat = m.heartbeat_ms; }
        if (m.child) { st.child = m.child; }
        st.until = m.until ? hhmm(new Date(m.until)) : '';
        setNet('online');
        clearInterval(st.pingTimer);
        st.missed = 0;
        st.pingAt = 0;
        st.pingTimer = setInterval(heartbeat, st.heartbeat);
        if (st.view === 'loading' || st.view === 'permission') { show('idle'); } else { render(); }
        break;
      case 'rtc.ring':
        if (st.pc) { break; }
        st.call = m.call;
        if (m.child) { st.child = m.child; }
        clearTimeout(st.endTimer);
        show('ringing');
        ring(true);
        break;
      case 'rtc.offer':
        if (m.call === st.call) { onOffer(m); }
        break;
      case 'rtc.candidate':
        if (m.call !== st.call || !m.candidate) { break; }
        if (st.pc && st.pc.remoteDescription && !st.restarting) { st.pc.addIceCandidate(m.candidate).catch(function () {}); } else { st.held.push(m.candidate); }
        break;
      case 'rtc.connected':
        if (m.call !== st.call) { break; }
        st.deadline = m.remaining_ms > 0 ? performance.now() + m.remaining_ms : 0;
        $('call-status').hidden = !st.needTap;
        body.setAttribute('data-connected', '1');
        break;
      case 'rtc.warning':
        if (m.call !== st.call) { break; }
        st.deadline = performance.now() + m.remaining_ms;
        st.warnLeft = m.remaining_ms;
        render();
        $('banner').hidden = false;
        break;
      case 'rtc.error':
        if (m.code === 'no_session') { st.session = ''; send({ type: 'rtc.hello' }); }
        if (m.code === 'gone') { ring(false); st.call = ''; show('gone'); }
        break;
      case 'rtc.busy':
        ring(false);
        show('busy');
        later();
        break;
      case 'rtc.end':
        if (m.call && st.call && m.call !== st.call) { break; }
        endCall(m.cause || '');
        break;
    }
  }

  // ---- the call ----
  function media() {
    return navigator.mediaDevices.getUserMedia(st.constraints);
  }
  // play starts video element v; when the browser wants a tap first
  // (WebKit's autoplay rules, or WeChat's WKWebView asking a gesture for
  // all media), the call screen says so and the next tap plays it.
  function play(v) {
    var p = v.play();
    if (!p || !p.then) { return; }
    p.then(function () { if (v.srcObject) { tapHint(false); } }, function (e) {
      if (e && e.name === 'NotAllowedError') { tapHint(true); }
    });
  }
  function tapHint(on) {
    var el = $('call-status');
    st.needTap = on;
    el.setAttribute('data-i18n', on ? 'tapSound' : 'connectingCall');
    el.textContent = t(on ? 'tapSound' : 'connectingCall');
    el.hidden = !on && body.getAttribute('data-connected') === '1';
  }
  function unlock() {
    if (st.audio) { audio(); }
    var v = $('remote-video');
    if (v.srcObject && v.paused) { play(v); }
  }
  function answer() {
    ring(false);
    audio();
    show('call');
    tapHint(false);
    $('call-status').hidden = false;
    // Playing the (still empty) element inside the tap lets WebKit play it
    // with sound later, when the child's tracks arrive.
    play($('remote-video'));
    media().then(function (stream) {
      st.local = stream;
      $('local-video').srcObject = stream;
      send({ type: 'rtc.accept', call: st.call });
    }, function () {
      $('perm-denied').hidden = false;
      show('permission');
      send({ type: 'rtc.hangup', call: st.call });
    });
  }
  // restartIce answers the daemon's ICE restart on the PeerConnection the
  // page has (the media path went down, e.g. the phone left Wi-Fi): new
  // candidates, same call, same tracks.
  function restartIce(m) {
    var pc = st.pc;
    st.restarting = true;
    pc.setRemoteDescription({ type: 'offer', sdp: m.sdp }).then(function () {
      if (st.pc !== pc) { return null; }
      st.restarting = false;
      st.held.forEach(function (c) { pc.addIceCandidate(c).catch(function () {}); });
      st.held = [];
      return pc.createAnswer().then(function (a) { return pc.setLocalDescription(a); }).then(function () {
        if (st.pc === pc) { send({ type: 'rtc.answer', call: m.call, sdp: pc.localDescription.sdp }); }
      });
    }).catch(function () {
      if (st.pc !== pc) { return; }
      st.restarting = false;
      send({ type: 'rtc.hangup', call: m.call });
    });
  }
  function onOffer(m) {
    if (m.restart) {
      // A restart belongs to the PeerConnection of this call; without
      // one (the call ended meanwhile) there is nothing to restart.
      if (st.pc && st.pc.signalingState !== 'closed') { restartIce(m); }
      return;
    }
    if (st.pc) { st.pc.close(); }
    var pc = new RTCPeerConnection({ iceServers: st.ice });
    st.pc = pc;
    if (st.local) { st.local.getTracks().forEach(function (tr) { pc.addTrack(tr, st.local); }); }
    pc.ontrack = function (ev) {
      var v = $('remote-video');
      if (!v.srcObject) { v.srcObject = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream(); }
      if (!ev.streams || !ev.streams[0]) { v.srcObject.addTrack(ev.track); }
      play(v);
    };
    pc.onicecandidate = function (ev) {
      var c = ev.candidate;
      if (!c) { send({ type: 'rtc.candidate', call: st.call, end: true }); return; }
      send({ type: 'rtc.candidate', call: st.call,
        candidate: c.toJSON ? c.toJSON() : { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } });
    };
    pc.setRemoteDescription({ type: 'offer', sdp: m.sdp }).then(function () {
      st.held.forEach(function (c) { pc.addIceCandidate(c).catch(function () {}); });
      st.held = [];
      return pc.createAnswer();
    }).then(function (a) { return pc.setLocalDescription(a); }).then(function () {
      send({ type: 'rtc.answer', call: st.call, sdp: pc.localDescription.sdp });
    }).catch(function () { send({ type: 'rtc.hangup', call: st.call }); });
    clearInterval(st.statsTimer);
    st.statsTimer = setInterval(stats, 500);
  }
  // stats sends the browser's figures for the video it receives
  // (W3C webrtc-stats) and keeps the frames decoded where a test can see.
  function stats(final) {
    var pc = st.pc, call = st.call;
    if (!pc) { return; }
    pc.getStats().then(function (rep) {
      var s = { frames_decoded: 0, freeze_count: 0 };
      rep.forEach(function (r) {
        if (r.type === 'inbound-rtp' && (r.kind || r.mediaType) === 'video') {
          s.frames_decoded = r.framesDecoded || 0;
          s.freeze_count = r.freezeCount || 0;
          s.frames_dropped = r.framesDropped || 0;
          s.packets_lost = r.packetsLost || 0;
          s.jitter_ms = (r.jitter || 0) * 1000;
          s.frame_width = r.frameWidth || 0;
          s.frame_height = r.frameHeight || 0;
        }
        if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime !== undefined) { s.rtt_ms = r.currentRoundTripTime * 1000; }
      });
      st.framesDecoded = s.frames_decoded;
      st.stats = s;
      body.setAttribute('data-frames-decoded', s.frames_decoded);
      // The page reads its figures every 500 ms; the daemon gets every 4th.
      st.polls = (st.polls || 0) + 1;
      if (final || st.polls % 4 === 0) { send({ type: 'rtc.stats', call: call, stats: s }); }
    }).catch(function () {});
    return final;
  }
  function endCall(cause) {
    ring(false);
    if (st.pc) { stats(true); }
    clearInterval(st.statsTimer);
    var pc = st.pc;
    st.pc = null;
    st.restarting = false;
    setTimeout(function () { if (pc) { pc.close(); } }, 300);
    if (st.local) { st.local.getTracks().forEach(function (tr) { tr.stop(); }); st.local = null; }
    $('remote-video').srcObject = null;
    $('local-video').srcObject = null;
    $('banner').hidden = true;
    body.setAttribute('data-connected', '0');
    tapHint(false);
    body.setAttribute('data-end-cause', cause);
    st.call = ''; st.held = []; st.deadline = 0;
    var reasons = TEXT[st.lang].reasons;
    $('end-reason').textContent = reasons[cause] || '';
    show('ended');
    later();
  }
  function later() {
    clearTimeout(st.endTimer);
    st.endTimer = setTimeout(function () { if (!st.pc && st.view !== 'ringing') { show('idle'); } }, 4000);
  }
  function hhmm(d) { return (d.getHours() < 10 ? '0' : '') + d.getHours() + ':' + (d.getMinutes() < 10 ? '0' : '') + d.getMinutes(); }
  function tick() {
    if (!st.deadline) { return; }
    var secs = Math.max(0, Math.ceil((st.deadline - performance.now()) / 1000));
    var el = $('countdown');
    var text = (secs >= 600 ? '' : '0') + Math.floor(secs / 60) + ':' + (secs % 60 < 10 ? '0' : '') + (secs % 60);
    if (el.textContent !== text) { el.textContent = text; el.setAttribute('data-seconds', secs); }
  }
  setInterval(tick, 250);

  // ---- buttons ----
  $('lang').addEventListener('click', function () { st.lang = st.lang === 'zh' ? 'en' : 'zh'; applyStatic(); });
  $('enable').addEventListener('click', function () {
    audio();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { $('perm-denied').hidden = false; return; }
    // Ask for the permission once, now; the camera goes off again until a call.
    media().then(function (s) {
      s.getTracks().forEach(function (tr) { tr.stop(); });
      show('loading');
      connect();
    }, function () { $('perm-denied').hidden = false; });
  });
  $('answer').addEventListener('click', answer);
  // iOS suspends sound and may pause the video; any tap brings them back.
  document.addEventListener('click', unlock, true);
  document.addEventListener('touchend', unlock, true);
  document.addEventListener('visibilitychange', wake);
  window.addEventListener('pageshow', function (ev) { if (ev.persisted) { wake(); } });
  window.addEventListener('online', wake);
  $('decline').addEventListener('click', function () { ring(false); send({ type: 'rtc.hangup', call: st.call }); show('idle'); });
  $('hangup').addEventListener('click', function () { send({ type: 'rtc.hangup', call: st.call }); });
  $('until-set').addEventListener('click', function () {
    var v = $('until-time').value;
    if (!/^\d\d:\d\d$/.test(v)) { return; }
    var d = new Date();
    d.setHours(Number(v.slice(0, 2)), Number(v.slice(3, 5)), 0, 0);
    if (d < new Date()) { d.setDate(d.getDate() + 1); }
    send({ type: 'rtc.available', until: d.toISOString() });
  });
  $('until-clear').addEventListener('click', function () { send({ type: 'rtc.available', until: '' }); });
  // Closing the tab mid-call is not a hang-up: the daemon records peer_lost.
  window.addEventListener('pagehide', function () { if (st.call) { send({ type: 'rtc.hangup', call: st.call, cause: 'page_closed' }); } });

  st.unsupported = support();
  body.setAttribute('data-unsupported', st.unsupported);
  applyStatic();
  if (st.unsupported) { setNet('offline'); }
  if (st.view === 'loading') { show(st.unsupported ? 'unsupported' : 'permission'); } else { show(st.view); }
})();
