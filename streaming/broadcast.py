"""Each session's live video on this node: one ingest, one encode, every viewer, the recording.

``Studio`` holds a ``Broadcast`` per session with video. An ingest (a WHIP publisher's track, or an
IP camera pulled through aiortc's ``MediaPlayer``) is decoded by aiortc; the broadcast's worker
thread encodes each frame once (``Encoder``) and writes it into the HLS segments and the recording
(``Recording``); the same packets go to every WebRTC viewer's ``PacketTrack`` (the pumps that do
this are in ``streaming.pipeline``; here is how ingests and viewers come and go).

One publisher per session, across nodes: the ingest holds a PostgreSQL advisory lock on a
connection of its own for as long as it runs, so a second one gets 409 wherever it lands, and a
node that dies lets go of it with its connection.

The log tells everyone what happens: ``broadcast.started`` (the recording's zero) or
``broadcast.resumed`` when an ingest begins, ``broadcast.interrupted`` when it drops (no frame for
a few seconds, the peer gone), ``broadcast.stopped`` when the publisher says it is done; the
recording (``recording.mp4``) is joined after that, in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import asyncpg
import av
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from aiortc.exceptions import OperationError
from aiortc.mediastreams import MediaStreamTrack

from session_server.application import session_stream
from session_server.domain.commands import BroadcastInterrupt, BroadcastStart, BroadcastStop
from session_server.domain.errors import DomainError
from session_server.domain.events import parse_time
from session_server.domain.roles import SYSTEM, Actor
from session_server.extensions import Core
from streaming.encoder import AudioEncoder
from streaming.errors import VideoError, ViewersFull
from streaming.hls import Recording
from streaming.pipeline import Broadcast, Ingest, Viewer, pump_picture, pump_sound
from streaming.tracks import PacketTrack

__all__ = ["Studio", "VideoConfig"]

log = logging.getLogger("kvorum.video")

_CLOSE_SECONDS = 10  # aiortc's close waits on its transports; never let a stuck one hold a request
_LOCK_CLASS = 0x4B76  # "Kv": advisory locks of the video ingest (two-int form, apart from others)


@dataclass(frozen=True, slots=True)
class VideoConfig:
    """What the video needs from the environment (see ``streaming.config``)."""

    folder: Path
    """Where each session's segments, playlists and recording go (``<data>/video``)."""
    ice_servers: tuple[RTCIceServer, ...] = ()
    browser_ice_servers: tuple[str, ...] = ()
    """STUN URLs the pages give the browsers (``KVORUM_BROWSER_ICE_SERVERS``)."""
    max_viewers: int = 100
    """WebRTC viewers per node; more get 503 and the HLS address."""
    bitrate: int = 1_500_000
    frame_timeout: float = 5.0
    """An ingest with no frame for this long has dropped."""
    connect_timeout: float = 30.0
    """A peer that has not connected by then is closed."""
    resume_seconds: float = 900.0
    """An interrupted broadcast that nobody resumes within this long is stopped (its recording joined)."""


_H264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() in ("video/h264", "video/rtx")]
"""What viewers get: H.264 (with retransmissions), the single encode's codec."""
_OPUS = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType.lower() == "audio/opus"]


class Studio:
    """Every broadcast of this node, and the way its ingests and viewers come and go."""

    def __init__(self, core: Core, config: VideoConfig) -> None:
        self.application = core.application
        self.database = core.database
        self.config = config
        self.broadcasts: dict[str, Broadcast] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._hls_seen: dict[str, dict[str, float]] = {}
        self._joins: dict[str, asyncio.Lock] = {}
        self._joining: set[asyncio.Task[None]] = set()
        self._awaiting: set[str] = set()
        """Sessions whose ingest dropped on this node and that wait for it (``/metrics``' ingest_up 0)."""

    # --- what the pages see -----------------------------------------------------------------------

    def viewers(self, session: str) -> int:
        """WebRTC viewers of the session on this node."""
        broadcast = self.broadcasts.get(session)
        return 0 if broadcast is None else len(broadcast.viewers)

    def saw_hls(self, session: str, client: str) -> None:
        """A resident's player fetched the live playlist (players do every few seconds)."""
        self._hls_seen.setdefault(session, {})[client] = time.monotonic()

    def hls_viewers(self, session: str, *, within: float = 15.0) -> int:
        """Distinct players that fetched the live playlist lately."""
        seen = self._hls_seen.get(session, {})
        now = time.monotonic()
        for client in [c for c, at in seen.items() if now - at > within]:
            del seen[client]
        return len(seen)

    def stats(self) -> dict[str, int]:
        """What is running: for ``/metrics`` and for the test that nothing leaks."""
        ingests = [b.ingest for b in self.broadcasts.values() if b.ingest is not None]
        viewers = sum(len(b.viewers) for b in self.broadcasts.values())
        return {
            "broadcasts": len(self.broadcasts),
            "publishers": len(ingests),
            "viewers": viewers,
            "peer_connections": viewers + sum(1 for i in ingests if i.pc is not None),
            "tasks": len(self._tasks) + len(self._joining),
            "encoder_threads": sum(1 for b in self.broadcasts.values() if b.executor is not None),
        }

    def sessions(self) -> list[dict[str, Any]]:
        """Each broadcast on this node, for ``/metrics``: its ingest's source (None while it waits for one),
        pictures encoded, packets viewers did not get, and its WebRTC and HLS viewers. An interrupted one nobody
        watches over WebRTC is no broadcast in memory any more, but still awaited: listed with nothing running."""

        def row(session: str, b: Broadcast | None) -> dict[str, Any]:
            return {
                "session": session,
                "ingest": None if b is None or b.ingest is None else b.ingest.source,
                "frames": 0 if b is None else b.frames,
                "dropped": 0 if b is None else b.dropped + sum(v.track.dropped for v in b.viewers.values()),
                "webrtc": 0 if b is None else len(b.viewers),
                "hls": self.hls_viewers(session),
            }

        return [
            row(session, self.broadcasts.get(session)) for session in sorted(self.broadcasts.keys() | self._awaiting)
        ]

    def folder(self, session: str) -> Path:
        return self.config.folder / session

    # --- publishing -------------------------------------------------------------------------------

    async def publish(self, session: str, offer: str, actor: Actor, *, bitrate: int) -> tuple[str, str]:
        """WHIP: take the publisher's offer; return (answer SDP, resource id). The broadcast is live."""
        await self.application.session(session)  # 404 for an unknown session
        ingest = await self._begin(session, "whip", bitrate)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self.config.ice_servers)))
        ingest.pc = pc
        tracks: list[MediaStreamTrack] = []
        pc.on("track", tracks.append)
        try:
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            except Exception as exc:  # aiortc's SDP parser raises many kinds
                raise VideoError("invalid_sdp", f"the offer is not a usable SDP offer: {exc}") from None
            video = [t for t in tracks if t.kind == "video"]
            audio = [t for t in tracks if t.kind == "audio"]
            if not video:
                raise VideoError("invalid_sdp", "the offer sends no video")
            await pc.setLocalDescription(await pc.createAnswer())
            await self._go_live(session, ingest, video[0], audio[0] if audio else None, actor)
        except BaseException:
            await self._abandon(session, ingest)
            raise
        pc.on("connectionstatechange", lambda: self._on_ingest_state(session, ingest))
        ingest.timer = self._later(self._close_if_unconnected(session, ingest=ingest))
        return pc.localDescription.sdp, ingest.id

    async def pull_camera(self, session: str, url: str, actor: Actor, *, bitrate: int) -> str:
        """Start pulling an IP camera (RTSP, HTTP or a file) into the broadcast; returns the resource id."""
        await self.application.session(session)
        ingest = await self._begin(session, "camera", bitrate)
        try:
            try:
                options = {"rtsp_transport": "tcp"} if url.startswith("rtsp") else {}
                ingest.player = await asyncio.to_thread(MediaPlayer, url, options=options, timeout=10)
            except (av.FFmpegError, OSError) as exc:
                raise VideoError("camera_unreachable", f"cannot open the camera at that address: {exc}") from None
            if ingest.player.video is None:
                raise VideoError("camera_unreachable", "the camera's stream has no video")
            await self._go_live(session, ingest, ingest.player.video, ingest.player.audio, actor)
        except BaseException:
            await self._abandon(session, ingest)
            raise
        return ingest.id

    async def unpublish(self, session: str, resource: str, actor: Actor) -> None:
        """The publisher is done (WHIP DELETE, or the camera stopped): the broadcast stops."""
        broadcast = self.broadcasts.get(session)
        ingest = None if broadcast is None else broadcast.ingest
        if ingest is None or ingest.id != resource:
            raise VideoError("not_found", "no such publisher for this session", "not_found")
        await self._end(session, ingest, stopped_by=actor)

    def ingest_of(self, session: str) -> str | None:
        broadcast = self.broadcasts.get(session)
        return None if broadcast is None or broadcast.ingest is None else broadcast.ingest.id

    async def _begin(self, session: str, source: Literal["whip", "camera"], bitrate: int) -> Ingest:
        self._awaiting.discard(session)  # resumed here (or started again)
        broadcast = self._broadcast(session)
        if broadcast.ingest is not None:
            raise VideoError("publisher_exists", "someone is already publishing this session's video", "conflict")
        lock = await self.database.acquire()
        try:
            taken = await _take_publisher_lock(lock, session)
        except BaseException:
            await self.database.release(lock)
            raise
        if not taken or broadcast.ingest is not None:
            await self.database.release(lock)
            raise VideoError("publisher_exists", "someone is already publishing this session's video", "conflict")
        ingest = Ingest(id=uuid.uuid4().hex, source=source, lock=lock)
        broadcast.ingest = ingest
        broadcast.bitrate = bitrate
        return ingest

    async def _go_live(
        self, session: str, ingest: Ingest, track: MediaStreamTrack, sound: MediaStreamTrack | None, actor: Actor
    ) -> None:
        state, _ = await self.application.session(session)
        stream = session_stream(session)
        if state.broadcast is not None and state.broadcast.status == "live":
            # We hold the lock, so nobody publishes: the last publisher's node died mid-broadcast.
            reason = "the previous publisher was lost"
            await self.application.execute(
                stream, BroadcastInterrupt(id=_command_id(), type="broadcast.interrupt", reason=reason), SYSTEM
            )
        await self.application.execute(
            stream, BroadcastStart(id=_command_id(), type="broadcast.start", source=ingest.source), actor
        )
        state, _ = await self.application.session(session)
        assert state.broadcast is not None
        zero = parse_time(state.broadcast.started_at).timestamp()
        broadcast = self.broadcasts[session]
        broadcast.recording.resume()
        broadcast.encoder = None
        broadcast.audio_encoder = AudioEncoder() if sound is not None else None
        broadcast.recording.audio = broadcast.audio_encoder.aac_extradata if broadcast.audio_encoder else None
        broadcast.executor = ThreadPoolExecutor(1, thread_name_prefix=f"video {session}")
        for viewer in broadcast.viewers.values():
            viewer.track.restart()
        ingest.track = track
        ingest.task = asyncio.create_task(
            self._run_ingest(broadcast, ingest, track, zero), name=f"video ingest {session}"
        )
        if sound is not None:
            ingest.sound_task = asyncio.create_task(pump_sound(broadcast, sound, zero), name=f"sound ingest {session}")

    async def _run_ingest(self, broadcast: Broadcast, ingest: Ingest, track: MediaStreamTrack, zero: float) -> None:
        """The picture's pump; when it ends by itself the publisher has dropped."""
        reason = await pump_picture(broadcast, ingest, track, zero, self.config.frame_timeout)
        if not ingest.ending:
            self._later(self._end(broadcast.session, ingest, interrupted=reason))

    async def _end(
        self, session: str, ingest: Ingest, *, stopped_by: Actor | None = None, interrupted: str | None = None
    ) -> None:
        """Close the ingest; say in the log whether the broadcast stopped or was interrupted.

        The log is told first, then the peer is closed: whatever the network does, the stop is
        recorded and the lock is let go.
        """
        if ingest.ending:
            return
        ingest.ending = True
        broadcast = self.broadcasts[session]
        pumps = [t for t in (ingest.task, ingest.sound_task) if t is not None and t is not asyncio.current_task()]
        for task in pumps:
            task.cancel()
        for outcome in await asyncio.gather(*pumps, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("video of session %s: the ingest failed", session, exc_info=outcome)
        executor = broadcast.executor
        stream = session_stream(session)
        try:
            if executor is not None:
                finish = broadcast.recording.finish if stopped_by is not None else broadcast.recording.cut
                await asyncio.get_running_loop().run_in_executor(executor, finish)
            if stopped_by is not None:
                self._awaiting.discard(session)
                await self.application.execute(
                    stream, BroadcastStop(id=_command_id(), type="broadcast.stop"), stopped_by
                )
                # Joining hours of segments takes a while: the publisher is not kept waiting for it.
                joining = asyncio.ensure_future(self._join(session, broadcast.recording))
                self._joining.add(joining)
                joining.add_done_callback(self._joining.discard)
            else:
                command = BroadcastInterrupt(
                    id=_command_id(), type="broadcast.interrupt", reason=interrupted or "dropped"
                )
                await self.application.execute(stream, command, SYSTEM)
                self._awaiting.add(session)
                self._later(self._stop_unless_resumed(session, broadcast.recording))
        except DomainError as exc:
            log.warning("video of session %s: %s", session, exc.message)
        finally:
            if executor is not None:
                executor.shutdown(wait=False)  # idle: its last job (finish or cut) is done; its thread ends
            broadcast.executor = None
            broadcast.encoder = None
            broadcast.audio_encoder = None
            broadcast.ingest = None
            await self._close_source(ingest)
            await self._unlock(ingest)
            self._forget_if_idle(session)

    async def _stop_unless_resumed(self, session: str, recording: Recording) -> None:
        """Stop a broadcast left interrupted (OBS crashed, the operator went home), so that its
        recording is finished and published rather than left waiting."""
        await asyncio.sleep(self.config.resume_seconds)
        if self.ingest_of(session) is not None:
            return
        self._awaiting.discard(session)  # stopped now, or by hand or elsewhere meanwhile
        state, _ = await self.application.session(session)
        if state.broadcast is None or state.broadcast.status != "interrupted" or not await self._unpublished(session):
            return  # resumed on another node (its publisher holds the lock), or stopped meanwhile
        stop = BroadcastStop(id=_command_id(), type="broadcast.stop")
        try:
            await self.application.execute(session_stream(session), stop, SYSTEM)
        except DomainError:
            return  # resumed and stopped meanwhile, or stopped by hand
        recording.finish()  # on the loop: no ingest writes now, and it only rewrites two playlists
        joining = asyncio.ensure_future(self._join(session, recording))
        self._joining.add(joining)
        joining.add_done_callback(self._joining.discard)

    async def _unpublished(self, session: str) -> bool:
        """Whether no node takes a publisher for ``session`` now (nobody holds its publisher lock)."""
        async with self.database.acquire() as conn:
            taken = await _take_publisher_lock(conn, session)
            if taken:
                await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", _LOCK_CLASS, session)
            return taken

    async def adopt(self) -> None:
        """At the node's start: a broadcast the log shows live or interrupted, whose segments are in this node's
        folder and whose publisher no node takes, lost its node (a restart, an upgrade, a crash) along with the
        wait for its publisher. It is marked interrupted if the log still says live, and waited for again as if
        it had just dropped: stopped and its recording joined if nobody resumes it
        (``KVORUM_VIDEO_RESUME_SECONDS``)."""

        def unfinished() -> list[str]:
            folder = self.config.folder
            if not folder.is_dir():
                return []
            return sorted(
                p.name
                for p in folder.iterdir()
                if (p / "recording.m3u8").is_file() and not (p / "recording.mp4").is_file()
            )

        for session in await asyncio.to_thread(unfinished):
            try:
                await self._adopt(session)
            except DomainError:
                continue  # a folder of no session of this council, or its broadcast changed meanwhile
            except Exception:  # this one's, not the others': they are still looked at
                log.exception("video of session %s: could not look at its broadcast after a restart", session)

    async def _adopt(self, session: str) -> None:
        state, _ = await self.application.session(session)
        current = state.broadcast
        if current is None or current.status not in ("live", "interrupted") or session in self.broadcasts:
            return
        if not await self._unpublished(session):
            return  # live on another node
        if current.status == "live":
            interrupt = BroadcastInterrupt(
                id=_command_id(), type="broadcast.interrupt", reason="the video server restarted"
            )
            await self.application.execute(session_stream(session), interrupt, SYSTEM)
        log.info("video of session %s: waiting again for its publisher after a restart", session)
        self._awaiting.add(session)
        self._later(self._stop_unless_resumed(session, Recording(self.folder(session))))

    async def _join(self, session: str, recording: Recording) -> None:
        """Make ``recording.mp4`` from the segments (one join at a time per session)."""
        async with self._joins.setdefault(session, asyncio.Lock()):
            try:
                await asyncio.to_thread(recording.join)
            except Exception:
                log.exception("video of session %s: joining the recording failed (the segments are kept)", session)

    async def _abandon(self, session: str, ingest: Ingest) -> None:
        """An ingest that never went live: undo what `_begin` and the offer set up."""
        ingest.ending = True
        await self._close_source(ingest)
        broadcast = self.broadcasts.get(session)
        if broadcast is not None and broadcast.ingest is ingest:
            if broadcast.executor is not None:
                broadcast.executor.shutdown(wait=False)
                broadcast.executor = None
            broadcast.ingest = None
        await self._unlock(ingest)
        self._forget_if_idle(session)

    async def _close_source(self, ingest: Ingest) -> None:
        self._cancel_timer(ingest.timer)
        if ingest.pc is not None:
            try:
                async with asyncio.timeout(_CLOSE_SECONDS):
                    await ingest.pc.close()
            except TimeoutError:
                log.warning("the publisher's peer connection did not close within %d s", _CLOSE_SECONDS)
        if ingest.player is not None:
            for track in (ingest.player.video, ingest.player.audio):
                if track is not None:
                    track.stop()  # the player's reader thread ends with its last track

    async def _unlock(self, ingest: Ingest) -> None:
        with contextlib.suppress(Exception):
            await ingest.lock.execute("SELECT pg_advisory_unlock_all()")
        await self.database.release(ingest.lock)

    def _on_ingest_state(self, session: str, ingest: Ingest) -> None:
        if ingest.pc is not None and ingest.pc.connectionState in ("failed", "closed") and not ingest.ending:
            self._later(self._end(session, ingest, interrupted="the publisher's connection was lost"))

    # --- viewers ----------------------------------------------------------------------------------

    async def watch(self, session: str, offer: str) -> tuple[str, str]:
        """WHEP: take a viewer's offer; return (answer SDP, resource id). 503 over the cap."""
        await self.application.session(session)
        if sum(len(b.viewers) for b in self.broadcasts.values()) >= self.config.max_viewers:
            raise ViewersFull
        broadcast = self._broadcast(session)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self.config.ice_servers)))
        viewer = Viewer(id=uuid.uuid4().hex, pc=pc, track=PacketTrack())
        broadcast.viewers[viewer.id] = viewer
        try:
            # The transceiver exists before the offer is read, so its codec preference (H.264 only,
            # what the single encode makes) decides the negotiation.
            transceiver = pc.addTransceiver(viewer.track, direction="sendonly")
            transceiver.setCodecPreferences(_H264)
            if "m=audio" in offer:  # the sound, to a viewer that asks for it
                viewer.sound = PacketTrack("audio")
                pc.addTransceiver(viewer.sound, direction="sendonly").setCodecPreferences(_OPUS)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            except OperationError:
                raise VideoError("invalid_sdp", "the viewer must accept H.264 video") from None
            except Exception as exc:
                raise VideoError("invalid_sdp", f"the offer is not a usable SDP offer: {exc}") from None
            if transceiver.mid is None:
                raise VideoError("invalid_sdp", "the offer receives no video")
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await self._drop_viewer(session, viewer)
            raise
        pc.on("connectionstatechange", lambda: self._on_viewer_state(session, viewer))
        viewer.timer = self._later(self._close_if_unconnected(session, viewer=viewer))
        return pc.localDescription.sdp, viewer.id

    async def unwatch(self, session: str, resource: str) -> None:
        broadcast = self.broadcasts.get(session)
        viewer = None if broadcast is None else broadcast.viewers.get(resource)
        if viewer is None:
            raise VideoError("not_found", "no such viewer for this session", "not_found")
        await self._drop_viewer(session, viewer)

    async def _drop_viewer(self, session: str, viewer: Viewer) -> None:
        broadcast = self.broadcasts.get(session)
        if broadcast is not None and broadcast.viewers.pop(viewer.id, None) is not None:
            broadcast.dropped += viewer.track.dropped
        self._cancel_timer(viewer.timer)
        viewer.track.stop()
        if viewer.sound is not None:
            viewer.sound.stop()
        try:
            async with asyncio.timeout(_CLOSE_SECONDS):
                await viewer.pc.close()
        except TimeoutError:
            log.warning("a viewer's peer connection did not close within %d s", _CLOSE_SECONDS)
        self._forget_if_idle(session)

    def _on_viewer_state(self, session: str, viewer: Viewer) -> None:
        if viewer.pc.connectionState in ("failed", "closed"):
            self._later(self._drop_viewer(session, viewer))

    async def _close_if_unconnected(
        self, session: str, *, viewer: Viewer | None = None, ingest: Ingest | None = None
    ) -> None:
        await asyncio.sleep(self.config.connect_timeout)
        pc = viewer.pc if viewer is not None else ingest.pc if ingest is not None else None
        if pc is None or pc.connectionState == "connected":
            return
        if viewer is not None:
            await self._drop_viewer(session, viewer)
        elif ingest is not None and not ingest.ending:
            await self._end(session, ingest, interrupted="the publisher never connected")

    # --- housekeeping -----------------------------------------------------------------------------

    def _broadcast(self, session: str) -> Broadcast:
        broadcast = self.broadcasts.get(session)
        if broadcast is None:
            broadcast = self.broadcasts[session] = Broadcast(session, Recording(self.folder(session)))
        return broadcast

    def _forget_if_idle(self, session: str) -> None:
        broadcast = self.broadcasts.get(session)
        if broadcast is not None and broadcast.idle:
            del self.broadcasts[session]

    def _later(self, work: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    def _cancel_timer(timer: asyncio.Task[None] | None) -> None:
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def close(self) -> None:
        """Interrupt every ingest and close every viewer (the server is stopping)."""
        for session, broadcast in list(self.broadcasts.items()):
            for viewer in list(broadcast.viewers.values()):
                await self._drop_viewer(session, viewer)
            if broadcast.ingest is not None:
                await self._end(session, broadcast.ingest, interrupted="the video server stopped")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._joining, return_exceptions=True)  # joins finish


async def _take_publisher_lock(conn: asyncpg.Connection, session: str) -> bool:
    """Take ``session``'s publisher lock on ``conn`` if no connection holds it (one publisher across all nodes)."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", _LOCK_CLASS, session))


def _command_id() -> str:
    return f"video-{uuid.uuid4().hex}"
