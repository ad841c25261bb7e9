// The citizen's call page: preview, waiting room, and a standard WebRTC call with the counter
// appliance. The page always makes the offer; after an interruption that stopped the media it
// builds a new peer connection and offers again (the appliance's aiortc has no ICE restart);
// when only the hub was away, the connection stays. See docs/protocol.md.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("call-config").textContent);
  const text = config.messages;
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const statusLine = $("call-status"), detail = $("call-detail"), quality = $("quality");
  const remote = $("remote"), preview = $("preview");
  const buttons = {
    join: $("join"), mute: $("mute"), camera: $("camera"), hangup: $("hangup"), settings: $("settings"),
  };
  const panel = $("devices"), checkResult = $("check-result");

  const state = { socket: null, pc: null, local: null, ice: [], call: "idle", ended: false, offers: 0, offerSession: null };
  window.bvCall = state; // for tests and for curious support staff

  function say(message, extra) {
    statusLine.textContent = message;
    detail.textContent = extra || "";
  }
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => values[k]);

  const choice = { camera: $("camera-choice"), mic: $("mic-choice") };

  function constraints() {
    const pick = (select) => (select.value ? { deviceId: { exact: select.value } } : true);
    return { video: pick(choice.camera), audio: pick(choice.mic) };
  }

  // After permission the browser names its devices: offer a choice, and show the microphone level.
  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind, track) => {
      const current = track ? track.getSettings().deviceId : "";
      select.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => {
        const option = new Option(d.label || kind + " " + (i + 1), d.deviceId);
        option.selected = d.deviceId === current;
        return option;
      }));
    };
    fill(choice.camera, "videoinput", state.local && state.local.getVideoTracks()[0]);
    fill(choice.mic, "audioinput", state.local && state.local.getAudioTracks()[0]);
    if (!state.joined) panel.hidden = false; // from joining on, only the settings button opens it
  }

  function meterMicrophone() {
    const tracks = state.local ? state.local.getAudioTracks() : [];
    if (!tracks.length || !window.AudioContext) return;
    const context = state.audio = state.audio || new AudioContext();
    const analyser = context.createAnalyser();
    context.createMediaStreamSource(new MediaStream(tracks)).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const meter = $("mic-level");
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let peak = 0;
      for (const v of samples) peak = Math.max(peak, Math.abs(v));
      meter.value = Math.min(1, peak * 2);
      state.micPeak = Math.max(state.micPeak || 0, peak);
      const current = state.local && state.local.getAudioTracks()[0] === tracks[0];
      if (current && tracks[0].readyState === "live") setTimeout(tick, 100);
    };
    tick();
  }

  async function switchDevices() {
    if (state.ended) return;
    const next = await navigator.mediaDevices.getUserMedia(constraints());
    if (state.pc) {
      for (const sender of state.pc.getSenders()) {
        const track = next.getTracks().find((t) => sender.track && t.kind === sender.track.kind);
        if (track) await sender.replaceTrack(track);
      }
    }
    if (state.local) state.local.getTracks().forEach((t) => t.stop());
    state.local = preview.srcObject = next;
    meterMicrophone();
  }

  async function startMedia() {
    try {
      state.local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    } catch (error) {
      if (error.name === "NotAllowedError") { say(text.denied); return false; }
      try {
        state.local = await navigator.mediaDevices.getUserMedia({ audio: true });
        say(text.no_camera);
      } catch (second) {
        say(second.name === "NotAllowedError" ? text.denied : text.no_media);
        return false;
      }
    }
    if (state.ended) { stopMedia(); return false; } // the call ended (or the page left) meanwhile
    preview.srcObject = state.local;
    const both = state.local.getVideoTracks().length > 0;
    $("device-check").textContent = both ? text.check_ready : text.check_audio_only;
    $("device-check").className = both ? "success" : "notice";
    checkResult.hidden = Boolean(state.joined);
    meterMicrophone();
    listDevices();
    return true;
  }

  // Release camera and microphone (the camera light goes off): after the call, on leaving.
  function stopMedia() {
    if (state.local) state.local.getTracks().forEach((track) => track.stop());
    preview.srcObject = null;
    if (state.audio) { state.audio.close(); state.audio = null; }
  }

  // Can this network reach the TURN relay? Gather relay candidates only, for up to 5 s.
  async function turnCheck() {
    let servers = [];
    try {
      servers = (await (await fetch(location.pathname.replace(/\/$/, "") + "/ice")).json()).ice_servers;
    } catch (error) { return "skipped"; }
    if (!servers.some((s) => s.username)) return "skipped";
    const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: "relay" });
    pc.createDataChannel("check");
    const found = new Promise((done) => {
      pc.onicecandidate = (e) => { if (e.candidate && / relay /.test(e.candidate.candidate)) done("ok"); };
      setTimeout(() => done("failed"), 5000);
    });
    await pc.setLocalDescription(await pc.createOffer());
    const result = await found;
    pc.close();
    return result;
  }

  // Tell the counter how this device fared (also days ahead: the link works for this).
  async function reportCheck(ok) {
    const stream = state.local;
    state.turn = await turnCheck();
    $("turn-check").textContent = text["turn_" + state.turn] || "";
    let result = !ok || !stream ? "needs_help" : stream.getVideoTracks().length ? "ready" : "audio_only";
    if (state.turn === "failed") result = "needs_help";
    state.check = result;
    try {
      await fetch(location.pathname.replace(/\/$/, "") + "/device-check", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ result }),
      });
    } catch (error) { /* the call works without it */ }
  }

  // The device controls belong to the check: in the call a button opens and closes them.
  function showSettings(open) {
    panel.hidden = !open;
    buttons.settings.setAttribute("aria-expanded", String(open));
  }

  // The call is over for this page: no more camera, microphone or settings.
  function finish() {
    state.ended = true;
    closePeer();
    stopMedia();
    showControls(false);
    showSettings(false);
    buttons.settings.hidden = true;
    checkResult.hidden = true;
    quality.textContent = "";
    $("stage").hidden = true;
  }

  function join() {
    state.joined = true;
    buttons.join.hidden = true;
    checkResult.hidden = true;
    showSettings(false);
    buttons.settings.hidden = false;
    say(text.connecting);
    const socket = state.socket = io("/citizen", {
      auth: { join: config.token },
      transports: ["websocket", "polling"],
      // At least every 2 s while away: after a lost path the call waits for this connection
      // (the hub relays the new offer), and attempts made while there is no path fail at once.
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
      // An attempt without an answer gives up after 5 s and the next one starts: one made
      // while the hub was unreachable would otherwise wait out TCP's back-off after its return.
      timeout: 5000,
    });
    socket.on("connect_error", (error) => {
      const data = error && error.data;
      if (data && data.code === "unavailable") {
        // The hub could not check the link (its database is away): try again by itself.
        say(text.unavailable);
        setTimeout(() => { if (!state.ended && !socket.connected) socket.connect(); }, 2000);
      } else if (data && data.code) {
        socket.disconnect();
        state.call = "refused:" + data.code;
        finish();
        say(fill(text[data.code] || text.error, { time: (data.opens_at || "").slice(11, 16) }));
      } else if (state.pc) {
        showServerAway(true); // the call goes on meanwhile: keep saying so
      } else {
        say(text.error);
      }
    });
    // The hub unreachable (its pings stop, or the connection breaks): media goes on peer to
    // peer, so the call stays; both ends say the server is away until the connection is back.
    socket.on("disconnect", (reason) => {
      if (!state.ended && reason !== "io client disconnect" && reason !== "io server disconnect") showServerAway(true);
    });
    socket.on("connect", () => showServerAway(false));
    socket.on("status", onStatus);
    socket.on("signal", onSignal);
    socket.on("peer_left", () => say(text.peer_left));
    socket.on("peer_rejoined", () => resume());
    socket.on("replaced", () => { socket.disconnect(); finish(); say(text.replaced); });
    // The payload names what changed; the panel fetches the list with its links (documents.js).
    socket.on("documents", () => { if (window.bvDocuments) window.bvDocuments.refresh(); });
    socket.on("payments", (news) => { if (window.bvPayments) window.bvPayments.show(news); });
  }

  function onStatus(status) {
    state.call = status.state;
    if (status.ice_servers) state.ice = status.ice_servers;
    if (status.state === "waiting") {
      const wait = status.wait || {};
      const parts = [fill(text.position, { n: wait.position || 1 })];
      if (wait.minutes !== null && wait.minutes !== undefined && wait.minutes > 0) {
        parts.push(fill(text.minutes, { n: wait.minutes }));
      }
      if (wait.reason && text[wait.reason]) parts.push(text[wait.reason]);
      say(text.waiting, parts.join(" · "));
    } else if (status.state === "admitted") {
      say(text.admitted);
      if (!state.pc) offer();
    } else if (status.state === "reconnecting") {
      say(text.reconnecting);
      resume();
    } else if (status.state === "connecting") {
      say(text.connecting_media);
    } else if (status.state === "in_call") {
      say(text.in_call);
      showControls(true);
    } else if (status.state === "ended") {
      finish();
      say(text.ended);
      state.socket.disconnect();
    }
  }

  function showServerAway(away) {
    const note = $("server-away");
    note.textContent = away ? (state.pc ? text.server_away : text.server_away_waiting) : "";
    note.hidden = !away;
    state.serverAway = away;
  }

  // Is the clerk's media still arriving on this connection? Then the interruption was the
  // hub's or our signalling's only (a server away, a reconnected socket), not the call's.
  async function mediaFlowing(pc) {
    if (!pc || pc.connectionState !== "connected") return false;
    const received = async () => {
      let bytes = 0;
      (await pc.getStats()).forEach((r) => { if (r.type === "inbound-rtp") bytes += r.bytesReceived || 0; });
      return bytes;
    };
    const before = await received();
    await new Promise((done) => setTimeout(done, 500));
    return pc === state.pc && pc.connectionState === "connected" && (await received()) > before;
  }

  // Which way the media takes, for the office's statistics: "relayed" when either end of the
  // candidate pair in use is the TURN server's, "direct" otherwise, null when the browser
  // does not say.
  async function pathOf(pc) {
    try {
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((r) => { if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
      const local = pair && stats.get(pair.localCandidateId);
      const remote = pair && stats.get(pair.remoteCandidateId);
      if (!local || !remote) return null;
      return local.candidateType === "relay" || remote.candidateType === "relay" ? "relayed" : "direct";
    } catch (error) {
      return null;
    }
  }

  async function reportConnected(pc) {
    const path = await pathOf(pc);
    if (pc === state.pc && pc.connectionState === "connected") state.socket.emit("media", { state: "connected", path });
  }

  // After a reconnect (ours, the appliance's or the hub's): keep a connection whose media
  // still flows and tell the hub so; otherwise build a new one (after a reload, a network
  // change or the appliance's restart nothing arrives any more, and aiortc has no ICE restart).
  async function resume() {
    if (await mediaFlowing(state.pc)) {
      state.resumed = (state.resumed || 0) + 1;
      reportConnected(state.pc);
    } else if (!state.ended) {
      offer();
    }
  }

  function closePeer() {
    if (state.pc) { state.pc.onconnectionstatechange = null; state.pc.close(); state.pc = null; }
  }

  async function offer() {
    closePeer();
    const pc = state.pc = new RTCPeerConnection({
      iceServers: state.ice,
      iceTransportPolicy: params.get("relay") === "1" ? "relay" : "all",
    });
    state.offers += 1;
    if (state.local) state.local.getTracks().forEach((track) => pc.addTrack(track, state.local));
    // Receive even without own camera or microphone.
    if (!state.local || !state.local.getVideoTracks().length) pc.addTransceiver("video", { direction: "recvonly" });
    if (!state.local || !state.local.getAudioTracks().length) pc.addTransceiver("audio", { direction: "recvonly" });
    pc.ontrack = (event) => {
      if (remote.srcObject !== event.streams[0]) remote.srcObject = event.streams[0] || new MediaStream([event.track]);
    };
    pc.onicecandidate = (event) => {
      if (pc !== state.pc) return;
      state.socket.emit("signal", { type: "candidate", candidate: event.candidate ? event.candidate.toJSON() : null });
    };
    pc.onconnectionstatechange = () => {
      if (pc !== state.pc) return;
      if (pc.connectionState === "connected") {
        reportConnected(pc);
      } else if (pc.connectionState === "failed" || pc.connectionState === "disconnected") {
        state.socket.emit("media", { state: "disconnected" });
        say(text.reconnecting);
        // Give a brief wobble two seconds to heal, then rebuild the connection.
        setTimeout(() => { if (pc === state.pc && pc.connectionState !== "connected" && !state.ended) offer(); }, 2000);
      }
    };
    const description = await pc.createOffer();
    await pc.setLocalDescription(description);
    // The appliance's answer names the offer it answers (its o= session id): when two offers
    // go out in quick succession (reconnected, and told the appliance is back), only the
    // answer to this one may be applied to this connection.
    const origin = /^o=\S+ (\d+) /m.exec(pc.localDescription.sdp);
    state.offerSession = origin ? origin[1] : null;
    state.socket.emit("signal", { type: "offer", sdp: pc.localDescription.sdp });
  }

  async function onSignal(message) {
    const pc = state.pc;
    if (!pc) return;
    if (message.type === "answer") {
      const stale = message.offer && state.offerSession && message.offer !== state.offerSession;
      if (stale || pc.signalingState !== "have-local-offer") return; // for an earlier offer
      await pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
    } else if (message.type === "candidate" && message.candidate) {
      try { await pc.addIceCandidate(message.candidate); } catch (error) { /* for an old connection */ }
    }
  }

  function showControls(visible) {
    buttons.mute.hidden = buttons.camera.hidden = buttons.hangup.hidden = !visible;
  }

  function toggle(button, kind, onText, offText) {
    const tracks = state.local ? (kind === "audio" ? state.local.getAudioTracks() : state.local.getVideoTracks()) : [];
    const off = button.getAttribute("aria-pressed") !== "true";
    tracks.forEach((track) => { track.enabled = !off; });
    button.setAttribute("aria-pressed", String(off));
    button.textContent = off ? offText : onText;
  }

  // Connection quality from the connection in use: its round-trip times and the loss of what
  // arrives. The first measurements after connecting are not the connection's (the checks run
  // while both ends are busy starting): rate only once samples span SETTLE_S, the round trip by
  // the median of the latest, the loss of each incoming stream over the whole window (ten
  // seconds: a short look at a 2 % link often sees none). The counter's screen rates alike
  // (appliance/media/quality.py): good below 150 ms and 1 %, poor from 400 ms or 10 %.
  const SETTLE_S = 4, LATEST = 3, WINDOW = 6, MIN_PACKETS = 50;
  function lossOf(samples) {
    const first = samples[Math.max(0, samples.length - WINDOW)].streams || {};
    const last = samples[samples.length - 1].streams || {};
    let worst = null;
    for (const id of Object.keys(last)) {
      if (!first[id]) continue;
      const expected = last[id].expected - first[id].expected, lost = last[id].lost - first[id].lost;
      if (expected >= MIN_PACKETS) worst = Math.max(worst || 0, lost / expected);
    }
    return worst;
  }
  function rate(samples) {
    if (samples.length < LATEST || samples[samples.length - 1].at - samples[0].at < SETTLE_S) return null;
    const latest = samples.slice(-LATEST).map((s) => s.rtt).sort((a, b) => a - b);
    const rtt = latest[Math.floor(LATEST / 2)], loss = lossOf(samples) || 0;
    return rtt >= 0.4 || loss >= 0.1 ? "poor" : rtt >= 0.15 || loss >= 0.01 ? "fair" : "good";
  }
  state.rate = rate;

  function measure(stats) {
    let pair = null;
    const streams = {};
    stats.forEach((report) => {
      if (report.type === "transport" && report.selectedCandidatePairId) pair = stats.get(report.selectedCandidatePairId);
      if (report.type === "inbound-rtp") {
        const lost = Math.max(report.packetsLost || 0, 0);
        streams[report.ssrc] = { expected: (report.packetsReceived || 0) + lost, lost };
      }
    });
    if (!pair) {
      stats.forEach((report) => {
        if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded") pair = report;
      });
    }
    return { rtt: pair ? pair.currentRoundTripTime : undefined, streams };
  }

  async function watchQuality() {
    const pc = state.pc;
    if (pc && pc.connectionState === "connected") {
      if (state.measured !== pc) { state.measured = pc; state.samples = []; quality.textContent = ""; state.quality = null; }
      const { rtt, streams } = measure(await pc.getStats());
      if (rtt !== undefined && pc === state.pc) {
        state.samples.push({ at: performance.now() / 1000, rtt, streams });
        state.samples = state.samples.slice(-10);
        const rating = rate(state.samples);
        if (rating) { state.quality = rating; quality.textContent = text["quality_" + rating]; }
      }
    }
    if (!state.ended) setTimeout(watchQuality, 2000);
  }

  buttons.settings.addEventListener("click", () => showSettings(panel.hidden));
  // Leaving the page releases camera and microphone; coming back (from the back/forward
  // cache) starts afresh.
  window.addEventListener("pagehide", () => { state.ended = true; closePeer(); stopMedia(); });
  window.addEventListener("pageshow", (event) => { if (event.persisted) location.reload(); });
  choice.camera.addEventListener("change", switchDevices);
  choice.mic.addEventListener("change", switchDevices);
  buttons.join.addEventListener("click", join);
  buttons.mute.addEventListener("click", () => toggle(buttons.mute, "audio", text.mute, text.unmute));
  buttons.camera.addEventListener("click", () => toggle(buttons.camera, "video", text.camera_off, text.camera_on));
  buttons.hangup.addEventListener("click", () => { if (state.socket) state.socket.emit("hangup", {}); });
  startMedia().then(reportCheck);
  watchQuality();
})();
