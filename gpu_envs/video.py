"""MP4 videos of a GpuVectorEnv's rendered grid: a frame writer and a recording wrapper.

Needs the `video` extra (`pip install -e ".[video]"` in the clone: imageio-ffmpeg, which ships its own
ffmpeg binary). Frames come from `env.render_grid()` with render_mode="rgb_array", one per env
step, so videos play at the env's control rate (`env.metadata["render_fps"]`). (Gymnasium's own
`gymnasium.wrappers.vector.RecordVideo` records `env.render()`'s per-env frames instead; see
docs/rendering.md.)
"""

from __future__ import annotations

import os
import warnings

import gymnasium as gym
import numpy as np

from ._checks import is_positive_int
from .render import render_grid


def _imageio_ffmpeg():
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ImportError('writing videos needs imageio-ffmpeg, the video extra: pip install -e ".[video]" in the gpu-envs clone') from None
    return imageio_ffmpeg


class VideoWriter:
    """Writes (H, W, 3) uint8 frames to an H.264 MP4 file at `fps` frames per second."""

    def __init__(self, path: str | os.PathLike, fps: float):
        self.path = os.fspath(path)
        self.fps = float(fps)
        self.frames = 0
        self._writer = None
        self._size = None

    def add(self, frame: np.ndarray) -> None:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frames must be (H, W, 3) uint8 (got {frame.shape} {frame.dtype})")
        # H.264 with yuv420p needs even sizes: pad odd ones by one pixel
        frame = np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), mode="edge")
        if self._writer is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._size = frame.shape[:2]
            self._writer = _imageio_ffmpeg().write_frames(
                self.path, (frame.shape[1], frame.shape[0]), fps=self.fps, macro_block_size=1,
                quality=7, ffmpeg_log_level="error")
            with warnings.catch_warnings():  # JAX warns on any fork; ffmpeg is exec'd at once
                warnings.filterwarnings("ignore", message=".*os.fork.*", category=RuntimeWarning)
                self._writer.send(None)  # start ffmpeg
        elif frame.shape[:2] != self._size:
            raise ValueError(f"frame size changed from {self._size} to {frame.shape[:2]} within one video")
        self._writer.send(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self) -> None:
        """Finish the file (nothing is written when no frame was added)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class RecordVideo(gym.vector.VectorWrapper):
    """Saves clips of the rendered grid: `length` steps, starting every `every` `step()` calls.

    Clips are `<folder>/<name_prefix>-step<N>.mp4`, N the env step the clip starts at (step
    0 is the first `reset`). The env must have render_mode="rgb_array"; its `render_config`
    says which envs are in the picture. Outside clips, no frame is rendered or copied.
    Attributes the wrapper does not define (`device`, `step_numpy`, `task`, ...) come from
    the wrapped env, so the library adapters accept the wrapped env as they accept the env.

    Args:
        folder: where clips go (created).
        every: `step()` calls (each steps every env once) from one clip's start to the next's
            (None: one clip, at the start).
        length: frames per clip (None: the task's max episode length).
        name_prefix: file name prefix.
        fps: frames per second (None: the env's control rate).
    """

    def __init__(self, env: gym.vector.VectorEnv, folder: str | os.PathLike, *, every: int | None = None,
                 length: int | None = None, name_prefix: str = "video", fps: float | None = None):
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise ValueError(f"RecordVideo needs render_mode='rgb_array' (the env has {env.render_mode!r})")
        _imageio_ffmpeg()
        self.folder = os.fspath(folder)
        if every is not None and not is_positive_int(every):
            raise ValueError(f"every must be a positive int of step() calls, or None (got {every!r})")
        if length is not None and not is_positive_int(length):
            raise ValueError(f"length must be a positive int of frames, or None (got {length!r})")
        self.every = None if every is None else int(every)
        self.length = int(length if length is not None else env.unwrapped.task.max_episode_steps)
        self.name_prefix = name_prefix
        self.fps = float(fps if fps is not None else env.metadata["render_fps"])
        self.saved: list[str] = []  # paths of finished clips
        self._step = 0
        self._writer: VideoWriter | None = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.env, name)

    def reset(self, *, seed=None, options=None):
        out = self.env.reset(seed=seed, options=options)
        self._capture()
        return out

    def step(self, actions):
        out = self.env.step(actions)
        self._step += 1
        self._capture()
        return out

    def step_numpy(self, actions):
        out = self.env.step_numpy(actions)
        self._step += 1
        self._capture()
        return out

    def _capture(self) -> None:
        if self._writer is None and self._starts_clip():
            path = os.path.join(self.folder, f"{self.name_prefix}-step{self._step}.mp4")
            self._writer = VideoWriter(path, self.fps)
        if self._writer is not None:
            self._writer.add(render_grid(self.env))
            if self._writer.frames >= self.length:
                self._finish()

    def _starts_clip(self) -> bool:
        if self.every is None:
            return not self.saved and self._step == 0
        return self._step % self.every == 0

    def _finish(self) -> None:
        self._writer.close()
        self.saved.append(self._writer.path)
        print(f"video: saved {self._writer.path} ({self._writer.frames} frames)", flush=True)
        self._writer = None

    def close(self, **kwargs):
        if self._writer is not None:
            self._finish()
        return super().close(**kwargs)
