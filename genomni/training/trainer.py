"""`genomni train`: flow-matching training of a Casper model with accelerate.

One command from one CPU to multi-GPU/multi-node (`accelerate launch --config_file ...`): DDP,
FSDP or DeepSpeed come from the accelerate config. All randomness (data draws, noise, noise levels,
caption dropout) is indexed by (seed, micro-step), so `--resume latest` reproduces an
uninterrupted run; checkpoints hold model, optimizer, LR schedule, EMA and the step.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..datasets.index import open_index
from ..datasets.loader import ClipDataset, fixed_clip, make_loader
from ..errors import GenomniError
from ..media import atomic_write_bytes
from ..metrics import psnr_uint8
from ..models.casper import CasperModel
from ..models.parts import flow_shift
from ..outdir import exclusive
from ..pipelines.casper import CasperPipeline
from ..progress import progress_bar
from ..shards import iter_samples
from .config import TrainConfig
from .validate import baseline_scores, mean_scores, scores, side_by_side, to_uint8, trimask_uint8

log = logging.getLogger(__name__)


def sample_sigmas(n: int, mode: str, shift: float, gen: torch.Generator) -> torch.Tensor:
    """Noise levels in (0,1): logit-normal (SD3) or uniform, then the scheduler's timestep shift."""
    u = torch.sigmoid(torch.randn(n, generator=gen)) if mode == "logit_normal" else torch.rand(n, generator=gen)
    return shift * u / (1.0 + (shift - 1.0) * u)


def flow_matching_loss(
    model: CasperModel, transformer: Any, batch: dict[str, Any], text: torch.Tensor, gen: torch.Generator, mode: str = "logit_normal"
) -> torch.Tensor:
    """Wan's objective: x_s = (1-s) x0 + s eps at a drawn noise level s; the backbone's loss (model.loss). Image
    branches see the first *input* frame, as at inference (the public training script shows them the target's)."""
    x0 = model.encode_video(batch["target"])
    cond = model.condition(batch)
    eps = torch.randn(x0.shape, generator=gen).to(x0.device)
    sigma = sample_sigmas(x0.shape[0], mode, flow_shift(model.scheduler), gen).to(x0.device)
    return model.loss(x0, cond, eps, sigma, text, transformer, model.encode_image(batch["input"]))


@dataclass
class TrainSummary:
    """How a training run ended: steps (this process started at `start_step`), time, the exported model dir."""

    start_step: int
    step: int
    seconds: float
    model: str
    trainable_params: int
    main_process: bool = True
    processes: int = 1
    stopped: str | None = None  # why it stopped before --steps (--max-minutes)


class TextCache:
    """Caption embeddings, computed once per distinct caption when caching is on."""

    def __init__(self, model: CasperModel, enabled: bool):
        self.model, self.enabled = model, enabled
        self.cache: dict[str, torch.Tensor] = {}

    def __call__(self, captions: list[str]) -> torch.Tensor:
        if not self.enabled:
            return self.model.encode_text(captions)
        todo = [c for c in dict.fromkeys(captions) if c not in self.cache]
        if todo:
            for c, e in zip(todo, self.model.encode_text(todo)):
                self.cache[c] = e
        return torch.stack([self.cache[c] for c in captions])


def checkpoints(out: Path) -> list[Path]:
    """Complete checkpoints under out/checkpoints, oldest first."""
    root = out / "checkpoints"
    found = [p for p in root.glob("step-*") if p.is_dir() and (p / "trainer_state.json").is_file()] if root.is_dir() else []
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [f"{k}: {old.get(k)!r} != {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def _merged_transformer(transformer: Any, lora: bool) -> Any:
    """The transformer to export: LoRA fused into plain weights when LoRA was trained."""
    if not lora:
        return transformer
    import copy

    t = copy.deepcopy(transformer)
    t.fuse_lora()
    t.unload_lora()
    return t


class Trainer:
    """Holds the run's state; `run()` trains until `steps` (or `max_minutes`) and writes out/model."""

    def __init__(self, cfg: TrainConfig):
        from accelerate import Accelerator
        from accelerate.utils import ProjectConfiguration, set_seed

        self.cfg = cfg
        self.out = Path(cfg.out)
        held = [n for n in ("train_config.json", "train_log.jsonl", "checkpoints", "model") if (self.out / n).exists()]
        if held and not cfg.resume:
            raise GenomniError(
                f"{self.out} already holds a training run ({', '.join(held)}); pass --resume latest to continue "
                f"it or choose a new --out (nothing was changed)"
            )
        # cpu=True on GPU-less machines: without it accelerate ignores torchrun's process group on CPU
        self.accel = Accelerator(
            cpu=not torch.cuda.is_available(),
            mixed_precision=cfg.mixed_precision,
            gradient_accumulation_steps=cfg.grad_accum,
            log_with="tensorboard" if cfg.log_with == "tensorboard" else None,
            project_config=ProjectConfiguration(project_dir=str(self.out), logging_dir=str(self.out / "logs")),
        )
        set_seed(cfg.seed)
        self.model = CasperModel.from_pretrained(cfg.model)
        self.model.check_clip(cfg.frames, cfg.height, cfg.width)
        if cfg.binary_mask:
            self.model.config.extra["binary_mask"] = True  # recorded in the exported model: remove sees masks the same way
        if self.model.wants_quadmask and cfg.mask != "quadmask":
            raise GenomniError(f"{cfg.model} is conditioned on quadmasks (VOID's 0/63/127/255): train it with --mask quadmask")
        if cfg.mask == "quadmask":
            if self.model.config.layout not in ("genomni", "cog-inp", "void"):
                raise GenomniError(
                    f"--mask quadmask trains genomni-layout, pixel, CogVideoX-Fun (cog-inp) and VOID models; {cfg.model} has "
                    f"the {self.model.config.layout} layout, whose mask input follows its released convention"
                )
            self.model.config.extra["mask"] = "quadmask"  # recorded in the exported model: remove feeds it a quadmask
        self.model.to(self.accel.device)
        self.index = open_index(cfg.data, cfg.hf_data)
        self.dataset = ClipDataset(self.index, cfg.clip(), cfg.mix, cfg.seed)
        self.text = TextCache(self.model, cfg.cache_text)
        self._setup_model()
        self.step = 0  # optimizer steps done
        self.log_path = self.out / "train_log.jsonl"

    def _setup_model(self) -> None:
        from diffusers.optimization import get_scheduler
        from diffusers.training_utils import EMAModel

        cfg, t = self.cfg, self.model.transformer
        if cfg.lora_rank > 0:
            from peft import LoraConfig

            t.requires_grad_(False)
            t.add_adapter(
                LoraConfig(
                    r=cfg.lora_rank,
                    lora_alpha=cfg.lora_alpha or cfg.lora_rank,  # type: ignore[arg-type]  # peft types it int; it scales by alpha / r
                    init_lora_weights="gaussian",
                    target_modules=["to_q", "to_k", "to_v", "to_out.0", "ffn.net.0.proj", "ffn.net.2"],
                )
            )
            t.patch_embedding.requires_grad_(True)  # the widened input layer is new: train it fully
        else:
            t.requires_grad_(True)
        if cfg.gradient_checkpointing:
            t.enable_gradient_checkpointing()
        t.train()
        params = [p for p in t.parameters() if p.requires_grad]
        self.n_trainable = sum(p.numel() for p in params)
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.lr_scheduler = get_scheduler(cfg.lr_schedule, self.optimizer, num_warmup_steps=cfg.warmup_steps, num_training_steps=cfg.steps)
        self.transformer, self.optimizer, self.lr_scheduler = self.accel.prepare(t, self.optimizer, self.lr_scheduler)
        self.ema = EMAModel(params, decay=cfg.ema_decay) if cfg.ema_decay > 0 else None
        if self.ema is not None:
            self.accel.register_for_checkpointing(self.ema)

    def _trainable(self) -> list[torch.nn.Parameter]:
        return [p for p in self.accel.unwrap_model(self.transformer).parameters() if p.requires_grad]

    # --- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Save the full state at the current step atomically; prune old checkpoints."""
        root = self.out / "checkpoints"
        final = root / f"step-{self.step:08d}"
        tmp = root / f".step-{self.step:08d}.tmp"
        if self.accel.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
        self.accel.wait_for_everyone()
        self.accel.save_state(str(tmp))
        self.accel.wait_for_everyone()  # every rank's RNG file is in tmp before it is renamed
        if self.accel.is_main_process:
            state = {"step": self.step, "config": self.cfg.identity(), "time": time.time()}
            (tmp / "trainer_state.json").write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            for old in checkpoints(self.out)[: -self.cfg.keep_checkpoints]:
                shutil.rmtree(old, ignore_errors=True)
        self.accel.wait_for_everyone()
        return final

    def resume(self, which: str) -> None:
        """Restore a checkpoint ('latest' or a dir); refuse one made with a different configuration."""
        if which == "latest":
            found = checkpoints(self.out)
            if not found:
                self.accel.print(f"no checkpoint under {self.out}/checkpoints; starting from step 0")
                return
            path = found[-1]
        else:
            path = Path(which)
        state_file = path / "trainer_state.json"
        if not state_file.is_file():
            raise GenomniError(f"{path} is not a genomni checkpoint (no trainer_state.json)")
        state = json.loads(state_file.read_text())
        diffs = _diff(state["config"], self.cfg.identity())
        if diffs:
            raise GenomniError(f"checkpoint {path} was made with a different configuration ({'; '.join(diffs[:3])})")
        self.accel.load_state(str(path))
        self.step = int(state["step"])

    # --- validation -----------------------------------------------------------------------------
    def val_clips(self) -> list[dict[str, Any]]:
        if not self.cfg.val:
            return []
        clips: list[dict[str, Any]] = []
        for d in self.cfg.val:
            for s in iter_samples(d):
                if len(clips) >= self.cfg.val_samples:
                    return clips
                if s.trimask.shape[0] >= self.cfg.frames and (s.trimask[: self.cfg.frames] == 0).any():  # something to remove
                    clips.append({**fixed_clip(s, self.cfg.clip()), "fps": s.fps})
        return clips

    @torch.no_grad()
    def validate(self, clips: list[dict[str, Any]]) -> dict[str, float]:
        """Sample every validation clip, write side-by-side videos, return mean PSNRs."""
        net = self.accel.unwrap_model(self.transformer)
        if self.ema is not None:
            self.ema.store(self._trainable())
            self.ema.copy_to(self._trainable())
        net.eval()
        rows, folder = [], self.out / "validation" / f"step-{self.step:08d}"
        pipe = CasperPipeline.from_model(self.model)
        pipe.set_progress_bar_config(disable=True)
        try:
            for k, c in enumerate(clips):
                batch: dict[str, Any] = {k: c[k][None] for k in ("input", "trimask", "quadmask") if k in c}
                cond, image = self.model.condition(batch), self.model.encode_image(batch["input"])
                text = self.text([c["caption"]])
                lat = pipe.sample(
                    cond,
                    text,
                    self.cfg.val_steps,
                    generator=torch.Generator().manual_seed(self.cfg.seed + k),
                    velocity=lambda x, c, s, e: self.model.denoise(x, c, s, e, net, image),
                )
                pred = to_uint8(self.model.decode_latents(lat)[0])
                inp, tgt, tm = to_uint8(c["input"]), to_uint8(c["target"]), trimask_uint8(c["trimask"])
                row = scores(pred, inp, tgt, tm)
                if self.model.vae is not None:
                    row["psnr_vs_vae_target"] = psnr_uint8(pred, self._vae_target(c))
                rows.append(row)
                side_by_side(folder / f"{k:02d}-{c['key']}.mp4", inp, tm, pred, tgt, c["fps"])
        finally:
            if self.ema is not None:
                self.ema.restore(self._trainable())
            net.train()
        return mean_scores(rows)

    @torch.no_grad()
    def _vae_target(self, clip: dict[str, Any]) -> np.ndarray:
        """The clip's target through the (frozen) VAE, computed once per clip and kept with it."""
        if "vae_target" not in clip:
            clip["vae_target"] = to_uint8(self.model.decode_latents(self.model.encode_video(clip["target"][None]))[0])
        return clip["vae_target"]

    @torch.no_grad()
    def baselines(self, clips: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
        """copy-input and cv2-inpaint scores, and (latent backbones) the VAE ceiling: the target through encode+decode."""
        out = baseline_scores(clips)
        if self.model.vae is None:
            return out
        rows = [scores(self._vae_target(c), to_uint8(c["input"]), to_uint8(c["target"]), trimask_uint8(c["trimask"])) for c in clips]
        out["vae-ceiling"] = mean_scores(rows)
        return out

    def _trim_log(self) -> None:
        """Keep only the log lines of the steps the restored checkpoint contains (a resumed run writes the lines
        of the steps after it again; every line of a step is written before that step's checkpoint)."""
        if not self.log_path.is_file():
            return
        kept = []
        for line in self.log_path.read_text().splitlines():
            try:
                step = json.loads(line).get("step", 0)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if self.step > 0 and step <= self.step:
                kept.append(line + "\n")
        atomic_write_bytes(self.log_path, "".join(kept).encode())

    def log(self, record: dict[str, Any]) -> None:
        if not self.accel.is_main_process:
            return
        with open(self.log_path, "a") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
        self.accel.log({k: v for k, v in record.items() if isinstance(v, (int, float)) and k != "step"}, step=record["step"])

    # --- the loop -------------------------------------------------------------------------------
    def run(self, progress: bool = True) -> "TrainSummary":

        cfg, accel = self.cfg, self.accel
        self.out.mkdir(parents=True, exist_ok=True)
        if cfg.resume:
            self.resume(cfg.resume)
        if accel.is_main_process:
            self._trim_log()
            for stale in (self.out / "checkpoints").glob(".step-*.tmp"):  # a kill during a checkpoint
                shutil.rmtree(stale, ignore_errors=True)
        if accel.is_main_process:
            atomic_write_bytes(self.out / "train_config.json", (json.dumps(asdict(cfg), indent=2) + "\n").encode())
        if cfg.log_with == "tensorboard":
            accel.init_trackers("genomni")
        val = self.val_clips()
        if val and accel.distributed_type.value in ("FSDP", "DEEPSPEED"):
            accel.print(
                "note: in-training validation needs the whole model on one process; it is off under "
                "FSDP/DeepSpeed (run `genomni remove` on held-out clips with the exported model instead)"
            )
            val = []
        if val and accel.is_main_process and self.step == 0:
            self.log({"step": 0, "event": "baselines", **{f"{m}/{k}": v for m, b in self.baselines(val).items() for k, v in b.items()}})
        micro = self.step * cfg.grad_accum
        loader = make_loader(
            self.dataset,
            cfg.batch_size,
            start=micro,
            stop=cfg.steps * cfg.grad_accum,
            rank=accel.process_index,
            world=accel.num_processes,
            workers=cfg.workers,
        )
        t_start, t_last, losses, deadline = time.time(), time.time(), [], None
        if cfg.max_minutes:
            deadline = t_start + 60.0 * cfg.max_minutes
        start_step, stopped = self.step, None
        with progress_bar(progress and accel.is_main_process, fields=("loss",)) as bar:
            task = bar.add_task("train", total=cfg.steps, completed=self.step, loss="-")
            for batch in loader:
                step_seeds = np.random.SeedSequence([cfg.seed, micro, accel.process_index]).generate_state(2)
                gen = torch.Generator().manual_seed(int(step_seeds[0]))
                torch.manual_seed(int(step_seeds[1]))  # dropout inside the denoiser draws from the global RNG
                captions = [("" if torch.rand(1, generator=gen).item() < cfg.caption_dropout else c) for c in batch["caption"]]
                batch = {k: (v.to(accel.device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
                with accel.accumulate(self.transformer):
                    loss = flow_matching_loss(self.model, self.transformer, batch, self.text(captions), gen, cfg.timestep_sampling)
                    if not torch.isfinite(loss):  # before the update: the weights of the last checkpoint stay usable
                        raise GenomniError(
                            f"step {self.step + 1}: the loss is {float(loss.detach())}; the model's weights are not "
                            f"finite or training diverged (lower --lr, or resume an earlier checkpoint)"
                        )
                    accel.backward(loss)
                    if accel.sync_gradients:
                        accel.clip_grad_norm_([p for p in self.transformer.parameters() if p.requires_grad], 1.0)
                    self.optimizer.step()
                    self.lr_scheduler.step()
                    self.optimizer.zero_grad()
                micro += 1
                losses.append(float(loss.detach()))
                if not accel.sync_gradients:
                    continue
                self.step += 1
                if self.ema is not None:
                    self.ema.step(self._trainable())
                bar.update(task, completed=self.step, loss=f"{np.mean(losses[-cfg.grad_accum :]):.4f}")
                if self.step % cfg.log_every == 0:
                    now = time.time()
                    self.log(
                        {
                            "step": self.step,
                            "loss": float(np.mean(losses)),
                            "lr": self.lr_scheduler.get_last_lr()[0],
                            "samples_per_s": cfg.log_every * cfg.grad_accum * cfg.batch_size * accel.num_processes / (now - t_last),
                            "elapsed_s": now - t_start,
                        }
                    )
                    losses, t_last = [], now
                out_of_time = deadline is not None and time.time() > deadline
                # validation before the checkpoint: a kill in between repeats both from the previous checkpoint
                if val and accel.is_main_process and (self.step % cfg.validate_every == 0 or self.step == cfg.steps or out_of_time):
                    self.log({"step": self.step, "event": "validation", **{f"val/{k}": v for k, v in self.validate(val).items()}})
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps or out_of_time:
                    self.save_checkpoint()
                if out_of_time:
                    stopped = f"--max-minutes {cfg.max_minutes} reached"
                    break
        accel.wait_for_everyone()
        if accel.is_main_process:
            self.export(self.out / "model")
        accel.end_training()
        return TrainSummary(
            start_step,
            self.step,
            time.time() - t_start,
            str(self.out / "model"),
            self.n_trainable,
            accel.is_main_process,
            accel.num_processes,
            stopped,
        )

    def export(self, path: Path) -> Path:
        """Write a Casper model dir with the trained weights (EMA weights when EMA is on; LoRA fused)."""
        net = self.accel.unwrap_model(self.transformer)
        if self.ema is not None:
            self.ema.store(self._trainable())
            self.ema.copy_to(self._trainable())
        self.model.config.extra["train_clip"] = [self.cfg.frames, self.cfg.height, self.cfg.width]  # inference defaults
        try:
            return self.model.save_pretrained(path, transformer=_merged_transformer(net, self.cfg.lora_rank > 0))
        finally:
            if self.ema is not None:
                self.ema.restore(self._trainable())


def train(cfg: TrainConfig, progress: bool = True) -> TrainSummary:
    """Run training for a config (the `genomni train` verb); the first process holds the run dir's lock."""
    if int(os.environ.get("RANK", "0")) != 0:
        return Trainer(cfg).run(progress)
    with exclusive(cfg.out):
        return Trainer(cfg).run(progress)
