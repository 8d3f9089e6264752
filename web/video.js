/**
 * The session's live video in the browser: watch it over WebRTC (WHEP), fall back to HLS when the
 * server has no room, and publish a camera (WHIP) from the operator's page.
 *
 * The server takes no trickled candidates: each offer is sent once ICE gathering is complete (or
 * after a short wait), so it carries every candidate.
 *
 * @module video
 */

const GATHER_MS = 2000;

/**
 * The STUN servers the server names for browsers (`KVORUM_BROWSER_ICE_SERVERS`, in the broadcast's status):
 * a browser that learns its public address from one can be reached through the video node's TURN relay.
 * None when the status cannot be read (the LAN needs none).
 */
async function iceServers(session) {
  try {
    const response = await fetch(`/api/v1/sessions/${encodeURIComponent(session)}/broadcast`);
    return response.ok ? ((await response.json()).ice_servers ?? []) : [];
  } catch {
    return [];
  }
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_MS);
  });
}

async function exchange(pc, url, headers) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...headers },
    body: pc.localDescription.sdp,
  });
  if (response.status !== 201) {
    const body = await response.json().catch(() => ({}));
    const error = new Error(body.message ?? `HTTP ${response.status}`);
    Object.assign(error, { status: response.status, code: body.error, hls: body.hls });
    throw error;
  }
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  return new URL(response.headers.get("Location"), location.href).pathname;
}

const HLS_JS = "./vendor/hls.js-1.7.4/hls.light.min.mjs";

/** Whether this browser plays HLS by itself (Safari, Chrome on Android, recent desktop Chromium). */
export function playsHls(video) {
  return video.canPlayType("application/vnd.apple.mpegurl") !== "";
}

/**
 * Play the HLS stream at `url` in `video`: natively where the browser can, else with hls.js
 * (loaded only then; Firefox, older Chromium). Resolves with a function that stops it, or null
 * when this browser can play neither.
 */
export async function playHls(video, url) {
  if (playsHls(video)) {
    video.src = url;
    return () => video.removeAttribute("src");
  }
  const { default: Hls } = await import(HLS_JS);
  if (!Hls.isSupported()) return null;
  // No worker: the page's policy allows scripts from the site only, and a worker would be a blob.
  const hls = new Hls({ enableWorker: false });
  hls.loadSource(url);
  hls.attachMedia(video);
  return () => hls.destroy();
}

/**
 * Watch the session in `video`: WebRTC first; on 503 (the server is full) the HLS stream.
 * Resolves with `{kind: "webrtc" | "hls", close()}`; rejects when neither can play here.
 */
export async function watch(video, session) {
  const pc = new RTCPeerConnection({ iceServers: await iceServers(session) });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.addEventListener("track", (event) => {
    stream.addTrack(event.track); // the picture and the sound, in one stream for the player
    video.srcObject = stream;
  });
  let resource;
  try {
    resource = await exchange(pc, `/whep/${encodeURIComponent(session)}`, {});
  } catch (error) {
    pc.close();
    const stop = error.status === 503 && error.hls ? await playHls(video, error.hls) : null;
    if (stop) return { kind: "hls", close: stop };
    throw error;
  }
  return {
    kind: "webrtc",
    pc,
    close() {
      pc.close();
      video.srcObject = null;
      fetch(resource, { method: "DELETE" }).catch(() => {});
    },
  };
}

/**
 * Publish `stream`'s picture and sound for the session (WHIP) with the operator's access token.
 * Resolves with `{pc, stop()}`; `stop()` ends the broadcast (DELETE).
 */
export async function publish(stream, session, headers) {
  const pc = new RTCPeerConnection({ iceServers: await iceServers(session) });
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly" });
  let resource;
  try {
    resource = await exchange(pc, `/whip/${encodeURIComponent(session)}`, await headers());
  } catch (error) {
    pc.close();
    throw error;
  }
  return {
    pc,
    async stop() {
      const response = await fetch(resource, { method: "DELETE", headers: await headers() });
      pc.close();
      return response.ok;
    },
  };
}
